"""What ``method="auto"`` chooses from and how the candidates are scored side by side.

:func:`candidates` lists the methods and kernel widths; :func:`score_all` scores them (any
scoring function, :func:`~dronesense.gridding.validation.choose_method` gives blocked
cross-validation) on a few threads, IDW candidates sharing their block means, trees and
neighbour queries (:mod:`dronesense.gridding.sharedcv`); :class:`MethodChoice` is the
result. :mod:`dronesense.gridding.validation` re-exports all of them.

Examples
--------
>>> from dronesense.gridding.spec import GridSpec
>>> spec = GridSpec((10, 10, 5), (52.0, 5.0, 0.0))
>>> methods = candidates(spec, kriging=False)
>>> score_all(methods, lambda m: getattr(m, "k", 0), workers=2)  # the k of each
[0, 4, 4, 12, 12, 0, 0, 0]
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import xarray as xr

from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.methods.block import BlockReduce
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging, kriging_available
from dronesense.gridding.sharedcv import same_arrays, shared_idw
from dronesense.gridding.spec import GridSpec

__all__ = ["KRIGING_MAX_SAMPLES", "SCORING_THREADS", "Fold", "MethodChoice", "Prefetched",
           "candidates", "folds_of", "score_all"]

#: Above this many samples ``method="auto"`` leaves kriging out of the candidates.
KRIGING_MAX_SAMPLES = 200_000

#: Most threads :func:`score_all` scores candidates with by default.
SCORING_THREADS = 4

T = TypeVar("T")


def candidates(spec: GridSpec, kriging: bool = True,
               statistic: str = "mean") -> list[BaseGridder]:
    """Methods and kernel widths ``method="auto"`` chooses from.

    Block statistics (``statistic``: mean or median), IDW with k 4 and 12 at two
    anisotropies, DM+V at three kernel widths and, with ``kriging``, ordinary kriging (its
    exponential variogram is fitted here, so it needs no extra package).

    Examples
    --------
    >>> spec = GridSpec((10, 10, 5), (52.0, 5.0, 0.0))
    >>> [type(m).__name__ for m in candidates(spec, kriging=False)][:3]
    ['BlockReduce', 'IDW', 'IDW']
    """
    dx, dy, dz = spec.spacing
    h = max(dx, dy)
    out: list[BaseGridder] = [BlockReduce(statistic=statistic)]
    out += [IDW(k=k, anisotropy=a) for k in (4, 12) for a in (h / dz, 3 * h / dz)]
    out += [KernelDMV(sigma_h=s * h, sigma_v=s * dz) for s in (0.5, 1.0, 2.0)]
    if kriging and kriging_available():
        out.append(Kriging(anisotropy=h / dz))
    return out


class Scores(Protocol):
    """What :class:`MethodChoice` needs of a score (a
    :class:`~dronesense.gridding.validation.CVScores`)."""

    rmse: float
    coverage: float

    def store(self, ds: xr.Dataset, variable: str) -> None: ...


@dataclass
class MethodChoice:
    """The method of lowest blocked cross-validation RMSE, with every candidate's score.

    Attributes
    ----------
    method
        The chosen gridder (not fitted).
    score
        Its :class:`~dronesense.gridding.validation.CVScores`.
    scored
        ``(candidate, scores)`` of every candidate, in the order tried.
    notes
        What the choice could not consider (a method whose library is not installed).
    """

    method: BaseGridder
    score: Scores
    scored: list[tuple[BaseGridder, Scores]]
    notes: list[str] = field(default_factory=list)

    def store(self, ds: xr.Dataset, variable: str) -> None:
        """Record the chosen method's scores and ``cross_validation_candidates`` (every
        candidate's RMSE and coverage) on a grid, in place."""
        self.score.store(ds, variable)
        ds.attrs["cross_validation_candidates"] = "; ".join(
            f"{m!r}: rmse={s.rmse:.4g} coverage={s.coverage:.2f}" for m, s in self.scored)
        if self.notes:
            ds.attrs["cross_validation_notes"] = "; ".join(self.notes)


@dataclass
class Fold:
    """One fold's training samples and held-out positions, as a cross-validation fits and
    predicts them (:func:`folds_of`)."""

    train: tuple[np.ndarray, np.ndarray, np.ndarray]
    values: np.ndarray
    test: tuple[np.ndarray, np.ndarray, np.ndarray]
    spec: GridSpec | None


def folds_of(coordinates: Sequence[Any], values: Any, fold: np.ndarray, folds: int,
             spec: GridSpec | None) -> list[Fold]:
    """The folds of a design (``fold``: the fold of each sample)."""
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    out = []
    for k in range(folds):
        test = fold == k
        train = ~test
        out.append(Fold((x[train], y[train], z[train]), v[train],
                        (x[test], y[test], z[test]), spec))
    return out


class Prefetched(BaseGridder):
    """A candidate whose fits and held-out predictions of each fold are computed ahead, side
    by side on the scoring threads (``tasks``: fold -> future of the predictions); fitted to
    and asked about anything else, it fits the candidate itself. Its predictions are the
    candidate's: the same computation, made earlier.

    Parameters
    ----------
    method
        The candidate.
    tasks
        ``(fold, future)`` pairs.
    """

    def __init__(self, method: BaseGridder, tasks: list | None = None):
        self.method = method
        self.tasks = tasks or []

    @property
    def support(self) -> int:
        return int(getattr(self.method, "support", 0) or 0)

    def fit(self, coordinates, values, *, spec=None):
        self.fitted_on_ = (tuple(np.asarray(c) for c in coordinates), np.asarray(values), spec)
        self.values_ = self.fitted_on_[1]
        return self

    def _model(self) -> BaseGridder:
        coords, values, spec = self.fitted_on_
        return self.method.clone().fit(coords, values, spec=spec)

    def predict(self, coordinates):
        self._check_fitted()
        coords, values, spec = self.fitted_on_
        test = tuple(np.asarray(c) for c in coordinates)
        for fold, future in self.tasks:
            if (fold.spec == spec and same_arrays((*fold.train, fold.values), (*coords, values))
                    and same_arrays(fold.test, test)):
                return future.result().copy()
        return self._model().predict(coordinates)

    def grid(self, spec=None, **kw):
        self._check_fitted()
        return self._model().grid(spec, **kw)


def _needs_scipy(method: BaseGridder) -> bool:
    """Whether a method's fit or prediction imports scipy (block statistics and DM+V on a
    grid of two or more voxels a side do not)."""
    return not isinstance(method, BlockReduce | KernelDMV)


def score_all(methods: Sequence[BaseGridder], score: Callable[[BaseGridder], T], *,
              workers: int | None = None, folds: Sequence[Fold] = ()) -> list[T]:
    """``score(method)`` of every method, in their order, on ``workers`` threads (numpy and
    scipy release the GIL in the heavy parts).

    IDW candidates are scored through stand-ins sharing their block means, trees and
    neighbour queries (:func:`~dronesense.gridding.sharedcv.shared_idw`; the same scores).
    The scipy modules the candidates use are imported first (once, not by several threads
    at the same time: imported while the threads run, they took longer than the work they
    overlapped); the candidates without scipy start first, then kriging, the slowest, with
    its ``folds`` (:func:`folds_of`) fitted and predicted side by side
    (:class:`Prefetched`), and the rest as listed, so the threads finish together.

    Parameters
    ----------
    methods
        The candidates.
    score
        Scores one candidate (e.g. its blocked cross-validation).
    workers
        Threads (default: the CPU count, at most :data:`SCORING_THREADS`; 1 scores them one
        after the other). The scores do not depend on it.
    folds
        The folds ``score`` fits and predicts (optional: kriging's are then computed side by
        side).
    """
    if workers is None:
        workers = min(os.cpu_count() or 1, SCORING_THREADS)
    workers = max(1, min(int(workers), len(methods)))
    stand_ins = shared_idw(methods)
    if workers == 1:
        return [score(m) for m in stand_ins]
    rest = [i for i, m in enumerate(stand_ins) if _needs_scipy(m)]
    if rest:  # imported here once, not by several threads at the same time
        lazy = ["scipy.spatial.distance"]
        if any(isinstance(stand_ins[i], Kriging) for i in rest):
            lazy += ["scipy.linalg"]
        for name in lazy:
            importlib.import_module(name)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[int, Any] = {}
        for i, m in enumerate(stand_ins):
            if not _needs_scipy(m):
                futures[i] = pool.submit(score, m)
        for i in sorted(rest, key=lambda i: not isinstance(stand_ins[i], Kriging)):
            m = stand_ins[i]
            if isinstance(m, Kriging) and folds:  # its folds first, then its score
                m = Prefetched(m, [(f, pool.submit(_fit_predict, m, f)) for f in folds])
            futures[i] = pool.submit(score, m)
        return [futures[i].result() for i in range(len(stand_ins))]


def _fit_predict(method: BaseGridder, fold: Fold) -> np.ndarray:
    """The held-out predictions of ``method`` fitted to the fold's training samples."""
    return method.clone().fit(fold.train, fold.values, spec=fold.spec).predict(fold.test)
