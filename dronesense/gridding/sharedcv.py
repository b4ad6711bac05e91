"""IDW candidates cross-validated on shared work: one block-mean pass per fold, one k-d tree
per fold and anisotropy, one neighbour query of the held-out samples per tree.

``method="auto"`` scores IDW with k 4 and 12 at two anisotropies
(:func:`~dronesense.gridding.validation.candidates`): fitted one by one, each candidate
reduces the same training samples to the same block means and queries the held-out samples
again. :func:`shared_idw` gives each such candidate a stand-in (:class:`SharedIDW`) that
takes the block means, tree and neighbours from one :class:`NeighbourCache`: the query is
made once with the largest k of the candidates on that tree, and a smaller k reads its first
columns. Rows where the k-th and (k+1)-th distances tie (or any of the first k do), whose
order a query of k alone could break differently, are queried again with k, so every
prediction is the one the candidate makes by itself; the scores are the same.

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec
>>> from dronesense.gridding.validation import cross_validate
>>> rng = np.random.default_rng(0)
>>> x, y = rng.uniform(0, 200, (2, 3000))
>>> z = rng.choice([10.0, 20.0], 3000)
>>> v = np.sin(x / 40) + z / 20
>>> spec = GridSpec((10, 10, 5), (52, 5, 0)).fit(x, y, z)
>>> methods = [IDW(k=4), IDW(k=12)]
>>> shared = shared_idw(methods)
>>> alone = [cross_validate(m, (x, y, z), v, spec=spec, folds=3).rmse for m in methods]
>>> together = [cross_validate(m, (x, y, z), v, spec=spec, folds=3).rmse for m in shared]
>>> together == alone
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.methods.block import block_means
from dronesense.gridding.methods.idw import IDW

__all__ = ["NeighbourCache", "SharedIDW", "same_arrays", "shared_idw"]


def same_arrays(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> bool:
    """Whether two sequences of arrays hold the same arrays (the same objects, or equal)."""
    return len(a) == len(b) and all(
        x is y or (x.shape == y.shape and np.array_equal(x, y)) for x, y in zip(a, b, strict=True))


class NeighbourCache:
    """Block means, trees and neighbour queries of the IDW candidates, computed once.

    Entries are found by the arrays they were computed from (compared, not hashed), so any
    candidate fitted to the same training samples and asked about the same held-out samples
    reads the same results. Safe to use from several threads: each result is computed by the
    first thread asking for it, the others wait for it.

    Parameters
    ----------
    kmax
        Largest ``k`` queried per ``(anisotropy, radius, block_spacing)``.
    """

    def __init__(self, kmax: dict[tuple, int]):
        self.kmax = dict(kmax)
        self._lock = threading.Lock()
        self._entries: dict[tuple, list[tuple[tuple, threading.Lock, dict]]] = {}

    def _memo(self, kind: tuple, arrays: tuple[np.ndarray, ...], compute: Callable[[], Any]):
        """The result for ``kind`` computed from ``arrays``: cached, else ``compute()``."""
        with self._lock:
            bucket = self._entries.setdefault(kind, [])
            found = [(lock, slot) for key, lock, slot in bucket if same_arrays(key, arrays)]
            if found:
                lock, slot = found[0]
            else:
                lock, slot = threading.Lock(), {}
                bucket.append((arrays, lock, slot))
        with lock:
            if "value" not in slot:
                slot["value"] = compute()
            return slot["value"]

    def blocks(self, coordinates, values, spec, block_spacing):
        """:func:`~dronesense.gridding.methods.block.block_means` of the samples."""
        arrays = (*coordinates, values)
        kind = ("blocks", spec, block_spacing)
        return self._memo(kind, arrays,
                          lambda: block_means(coordinates, values, spec, block_spacing))

    def tree(self, blocks, anisotropy: float):
        """The k-d tree of block means with the vertical scaled by ``anisotropy``."""
        from scipy.spatial import cKDTree

        bc = blocks[0]
        return self._memo(("tree", float(anisotropy)), (*bc, blocks[1]),
                          lambda: cKDTree(np.column_stack([bc[0], bc[1],
                                                           bc[2] * float(anisotropy)])))

    def query(self, tree, points: np.ndarray, k: int, radius: float, family: tuple):
        """Distances and indices of the ``k`` nearest, from one query of the family's
        largest k (again with ``k`` for rows with ties it could order differently)."""
        kq = min(max(self.kmax.get(family, k), k), tree.n)
        k = min(k, tree.n)

        def run(pts, kk):
            dist, idx = tree.query(pts, k=kk, distance_upper_bound=radius, workers=-1)
            return dist.reshape(len(dist), -1), idx.reshape(len(idx), -1)

        dist, idx = self._memo(("query", id(tree), kq, radius), (points,),
                               lambda: run(points, kq))
        if k == kq:
            return dist, idx
        head = dist[:, :k + 1]
        ties = (np.isfinite(head[:, 1:]) & (head[:, 1:] == head[:, :-1])).any(axis=1)
        dist, idx = np.ascontiguousarray(dist[:, :k]), np.ascontiguousarray(idx[:, :k])
        if ties.any():
            dist[ties], idx[ties] = run(points[ties], k)
        return dist, idx


class SharedIDW(IDW):
    """:class:`~dronesense.gridding.methods.idw.IDW` taking its block means, tree and
    neighbours from a :class:`NeighbourCache`: the same predictions, made once per group.

    Parameters
    ----------
    k, radius, power, anisotropy, block_spacing, support
        As :class:`~dronesense.gridding.methods.idw.IDW`.
    cache
        The cache shared with the other candidates.
    """

    def __init__(self, k: int = 8, radius: float | None = None, power: float = 2.0,
                 anisotropy: float = 5.0, block_spacing: tuple | None = None,
                 support: int = 1, cache: NeighbourCache | None = None):
        super().__init__(k=k, radius=radius, power=power, anisotropy=anisotropy,
                         block_spacing=block_spacing, support=support)
        self.cache = cache if cache is not None else NeighbourCache({})

    def _fit(self, coordinates, values, spec):
        blocks = self.cache.blocks(coordinates, values, spec, self.block_spacing)
        self.block_coordinates_, self.block_values_, self.block_counts_ = blocks
        self.tree_ = self.cache.tree(blocks, self.anisotropy)

    def _neighbours(self, coordinates):
        radius = np.inf if self.radius is None else float(self.radius)
        return self.cache.query(self.tree_, self._scaled(coordinates), int(self.k), radius,
                                family_of(self))


def family_of(method: IDW) -> tuple:
    """What IDW candidates share a tree and a query by: anisotropy, radius, block spacing
    (and, through the cache keys, the spec and samples)."""
    return (float(method.anisotropy), method.radius, method.block_spacing)


def shared_idw(methods: Sequence[BaseGridder]) -> list[BaseGridder]:
    """The candidates with every plain :class:`~dronesense.gridding.methods.idw.IDW` replaced
    by a :class:`SharedIDW` on one cache (others as they are), when two or more can share;
    cross-validation scores of the stand-ins are those of the candidates."""
    idw = [m for m in methods if type(m) is IDW]
    if len(idw) < 2:
        return list(methods)
    kmax: dict[tuple, int] = {}
    for m in idw:
        kmax[family_of(m)] = max(kmax.get(family_of(m), 0), int(m.k))
    cache = NeighbourCache(kmax)
    return [SharedIDW(**m.get_params(), cache=cache) if type(m) is IDW else m
            for m in methods]
