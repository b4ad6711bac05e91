"""The design of a blocked cross-validation: which samples are held out together, and the
measurement noise of the samples.

Blocks are pieces of the track (:func:`track_segments`), of a length given in metres, set
from the spacing between passes (:func:`line_spacing`) or matched to the grid's prediction
task (:func:`matched_design`). Two things make the RMSE of held-out samples differ from the
error of a grid against the true field, and this module measures both, once per set of
samples (:class:`FoldDesign`):

- **distances**: a grid is asked for values at its voxel centres, at some distance from the
  nearest sample; a held-out sample is predicted at some distance from the nearest sample
  left in. Following nearest-neighbour distance matching (NNDM, Milà et al. 2022, *Methods
  Ecol. Evol.* 13, 1304; its k-fold form kNNDM, Linnenbrink et al. 2024, *Geosci. Model
  Dev.* 17, 5897), the held-out blocks are chosen so that the distribution of distances from
  held-out samples to the nearest training sample matches the distribution of distances
  from the grid's filled voxel centres to the nearest sample. Where kNNDM clusters the
  coordinates, the clusters here are pieces of the track: the piece length is the one, from
  a ladder of lengths, whose distance distribution is closest (1-Wasserstein distance, the
  W statistic of kNNDM) to that of the voxels. Distances are anisotropic as the methods
  measure them: vertical metres count ``aspect`` times (the voxels' horizontal over
  vertical size).
- **measurement noise**: a held-out sample carries the sensor's noise, the true field does
  not. Its variance is estimated from the samples themselves, from second differences of
  consecutive samples along the track (:func:`noise_variance`), and taken off the mean
  squared CV error.

Examples
--------
>>> from dronesense.gridding.spec import GridSpec
>>> x = np.tile(np.arange(0.0, 200.0, 2.0), 6)
>>> y = np.repeat(np.arange(0.0, 120.0, 20.0), 100)
>>> z = np.full(x.size, 10.0)
>>> spec = GridSpec((10, 10, 5), (52, 5, 0)).fit(x, y, z)
>>> noisy = 0.01 * x + np.random.default_rng(0).normal(0, 0.05, x.size)
>>> design = matched_design((x, y, z), noisy, spec=spec)
>>> design.folds, round(float(np.sqrt(design.noise_var)), 2)
(5, 0.05)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from dronesense.errors import NoUsableDataError
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.methods.base import supported
from dronesense.gridding.spec import GridSpec

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["SAME_PASS_SAMPLES", "FoldDesign", "assign_folds", "filled_voxels",
           "heldout_distances", "line_spacing", "matched_design", "noise_variance",
           "prediction_distances", "track_order", "track_segments"]

#: Distances are computed on at most this many samples (every k-th along the track).
DISTANCE_SAMPLES = 100_000

#: Distance distributions are made of at most this many held-out samples or voxel centres.
QUERY_POINTS = 5_000

#: Piece lengths tried, in horizontal voxel sizes (0: single samples, random k-fold).
LADDER = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)

#: Fewest second differences a noise estimate is made from.
MIN_NOISE_TRIPLES = 30


def track_order(n: int, tracks: ArrayLike | None = None,
                order: ArrayLike | None = None) -> np.ndarray:
    """Permutation putting ``n`` samples in track order (by track, then by ``order``)."""
    keys = []
    if order is not None:
        keys.append(np.asarray(order, dtype=float).ravel())
    if tracks is not None:
        keys.append(np.asarray(tracks).ravel())
    return np.lexsort(keys) if keys else np.arange(n)


def track_segments(coordinates: Sequence[ArrayLike], length: float,
                   jump: float | None = None, *, tracks: ArrayLike | None = None,
                   order: ArrayLike | None = None) -> np.ndarray:
    """Block id of each sample: contiguous pieces of the track about ``length`` metres long.

    Parameters
    ----------
    coordinates
        ``(x, y, z)`` of the samples (m).
    length
        Length of a piece along the track (m).
    jump
        A new block also starts where consecutive samples are more than ``jump`` metres
        apart (default ``2 * length``: a turn, a new layer).
    tracks
        Track key per sample (one vehicle in one boot, see
        :func:`dronesense.gridding.coordinates.sample_tracks`). Pieces are cut along each track
        on its own,
        so vehicles interleaved in one samples set still give blocks along each flight
        path; no block spans two tracks. Default: all samples are one track.
    order
        Sort key within a track (vehicle time). Default: the samples are in time order.

    Examples
    --------
    Two vehicles flying parallel lines 50 m apart, their samples interleaved:

    >>> x = np.repeat(np.arange(0.0, 100.0), 2)
    >>> y = np.tile([0.0, 50.0], 100)
    >>> ids = track_segments((x, y, np.zeros(200)), 40.0, tracks=np.tile([1, 2], 100))
    >>> int(np.unique(ids).size), int(np.unique(track_segments((x, y, 0 * x), 40.0)).size)
    (6, 200)
    """
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    return _pieces(_TrackSteps.of((x, y, z), tracks, order), length, jump)


@dataclass
class _TrackSteps:
    """The samples in track order: the permutation, the step from each sample to the next
    (m) and where a new track starts."""

    perm: np.ndarray
    step: np.ndarray
    new_track: np.ndarray
    position: np.ndarray | None = None

    @classmethod
    def of(cls, coordinates, tracks, order) -> _TrackSteps:
        x, y, z = coordinates
        perm = track_order(x.size, tracks, order)
        xs, ys, zs = x[perm], y[perm], z[perm]
        step = np.sqrt(np.diff(xs) ** 2 + np.diff(ys) ** 2 + np.diff(zs) ** 2)
        if tracks is None:
            new = np.zeros(step.size, dtype=bool)
        else:
            t = np.asarray(tracks).ravel()[perm]
            new = t[1:] != t[:-1]
        return cls(perm, step, new, np.column_stack([xs, ys, zs]))


def _pieces(steps: _TrackSteps, length: float, jump: float | None = None) -> np.ndarray:
    """Block ids of :func:`track_segments` from the track steps."""
    jump = 2.0 * length if jump is None else jump
    cut = (steps.step > jump) | steps.new_track
    along = _along(steps, cut, length)
    piece = np.floor(along / length).astype(np.int64)
    # pieces never span a cut, and ids grow along the sorted samples
    new = np.concatenate([[False], cut | (piece[1:] != piece[:-1])])
    ids = np.empty(steps.perm.size, dtype=np.int64)
    ids[steps.perm] = np.cumsum(new)
    return ids


def _along(steps: _TrackSteps, cut: np.ndarray, length: float) -> np.ndarray:
    """Distance along the track of each sorted sample (m), restarting at the ``cut`` steps.

    Position noise makes each step between densely logged samples look longer than the
    path flown (samples 0.5 m apart with 0.5 m noise: twice as long), so the distance is
    the straight one between knots about a quarter piece ``length`` apart (every k-th
    sample, k from the median step; every sample on sparse tracks), interpolated between.
    """
    n = steps.perm.size
    moving = steps.step[~cut]
    typical = float(np.median(moving)) if moving.size else 0.0
    stride = int(min(max(1.0, 0.25 * length // typical), 64)) if typical > 0 else 1
    if stride == 1 or steps.position is None:
        return np.concatenate([[0.0], np.cumsum(np.where(cut, 0.0, steps.step))])
    run = np.concatenate([[0], np.cumsum(cut)])  # uncut stretch of each sample
    first = np.concatenate([[True], cut])
    last = np.concatenate([cut, [True]])
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    knots = np.flatnonzero(((np.arange(n) - start) % stride == 0) | first | last)
    gap = np.linalg.norm(np.diff(steps.position[knots], axis=0), axis=1)
    gap[run[knots[1:]] != run[knots[:-1]]] = 0.0  # no distance across a cut
    return np.interp(np.arange(n), knots, np.concatenate([[0.0], np.cumsum(gap)]))


def _aspect(spec: GridSpec | None) -> float:
    return spec.spacing[0] / spec.spacing[2] if spec is not None else 1.0


def _scaled(coordinates: Sequence[ArrayLike], aspect: float) -> np.ndarray:
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    return np.column_stack([x, y, z * aspect])


def noise_variance(coordinates: Sequence[ArrayLike], values: ArrayLike, *,
                   tracks: ArrayLike | None = None, order: ArrayLike | None = None,
                   max_step: float = 10.0) -> float | None:
    """Variance of the measurement noise, from consecutive samples along the track.

    For three consecutive samples of one track, each step at most ``max_step`` metres, the
    second difference ``v[i-1] - 2 v[i] + v[i+1]`` takes off the field's local trend and
    keeps ``6 sigma^2`` of white noise. The median absolute second difference (robust to the
    steep edges of a plume) gives ``sigma = 1.4826 median|d2| / sqrt(6)``. Noise correlated
    from one sample to the next (a slow sensor) is partly missed: the estimate is then low,
    and the correction it makes small.

    Returns
    -------
    float or None
        ``sigma^2`` in the values' units squared; ``None`` when fewer than
        :data:`MIN_NOISE_TRIPLES` triples are close enough (samples far apart).

    Examples
    --------
    >>> x = np.arange(0.0, 2000.0)
    >>> v = np.sin(x / 50) + np.random.default_rng(0).normal(0, 0.1, x.size)
    >>> round(float(np.sqrt(noise_variance((x, 0 * x, 0 * x), v))), 2)
    0.1
    """
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 3:
        return None
    perm = track_order(v.size, tracks, order)
    xs, ys, zs, vs = x[perm], y[perm], z[perm], v[perm]
    step = np.sqrt(np.diff(xs) ** 2 + np.diff(ys) ** 2 + np.diff(zs) ** 2)
    near = step <= max_step
    if tracks is not None:
        t = np.asarray(tracks).ravel()[perm]
        near &= t[1:] == t[:-1]
    ok = near[:-1] & near[1:] & np.isfinite(vs[:-2]) & np.isfinite(vs[1:-1]) & np.isfinite(vs[2:])
    if ok.sum() < MIN_NOISE_TRIPLES:
        return None
    d2 = (vs[:-2] - 2.0 * vs[1:-1] + vs[2:])[ok]
    sigma = 1.482602218505602 * float(np.median(np.abs(d2))) / np.sqrt(6.0)
    return sigma * sigma


def filled_voxels(spec: GridSpec, coordinates: Sequence[ArrayLike],
                  support: int = 1) -> np.ndarray:
    """The voxels a method of data ``support`` fills (the rule of the methods' grids):
    voxels with samples, those within ``support`` voxels of them on the same level, and
    levels between supported levels (never above the top or below the bottom one)."""
    has = block_statistics(spec, coordinates, np.zeros(len(coordinates[0])),
                           ["count"])["count"] > 0
    return supported(has, support)


def prediction_distances(coordinates: Sequence[ArrayLike], spec: GridSpec, *,
                         support: int = 1, tree: cKDTree | None = None, seed: int = 0,
                         max_points: int = QUERY_POINTS) -> np.ndarray:
    """Distance from each filled voxel centre (at most ``max_points`` of them, drawn at
    random) to the nearest sample, vertical metres counted ``aspect`` times (m)."""
    from scipy.spatial import cKDTree
    aspect = _aspect(spec)
    mask = filled_voxels(spec, coordinates, support)
    x, y, z = spec.centres()
    idx = np.flatnonzero(mask.ravel())
    if idx.size > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_points, replace=False))
    centres = np.column_stack([x.ravel()[idx], y.ravel()[idx], z.ravel()[idx] * aspect])
    tree = tree if tree is not None else cKDTree(_scaled(coordinates, aspect))
    return tree.query(centres, workers=-1)[0]


def heldout_distances(points: np.ndarray, fold: np.ndarray, *, seed: int = 0,
                      max_points: int = QUERY_POINTS) -> np.ndarray:
    """Distance from held-out samples (at most ``max_points``, drawn at random) to the
    nearest sample of the other folds (``points``: scaled coordinates, one row a sample)."""
    from scipy.spatial import cKDTree
    n = len(points)
    query = np.arange(n)
    if n > max_points:
        query = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    out = np.full(query.size, np.inf)
    by_fold = np.argsort(fold, kind="stable")
    ks, starts = np.unique(fold[by_fold], return_index=True)
    ends = np.append(starts[1:], n)
    for k, a, b in zip(ks, starts, ends, strict=True):
        others = fold[query] != k
        if b - a == n or not others.any():
            continue
        d = cKDTree(points[by_fold[a:b]]).query(points[query[others]])[0]
        out[others] = np.minimum(out[others], d)
    return out


#: Samples this close in track order are on the same pass (see :func:`line_spacing`).
SAME_PASS_SAMPLES = 10


def line_spacing(coordinates: Sequence[ArrayLike], *, aspect: float = 1.0,
                 tracks: ArrayLike | None = None, order: ArrayLike | None = None,
                 neighbours: int = 24) -> float | None:
    """The spacing between neighbouring passes of the track: flight lines side by side or
    layers above each other (m, the median over the samples).

    For each sample, the nearest sample of another pass: among its ``neighbours`` nearest
    samples, the first more than :data:`SAME_PASS_SAMPLES` samples away along the track
    whose distance along the track is more than three times the straight distance (or on
    another track; position noise makes neighbours on the same pass look apart). Vertical
    distances count ``aspect`` times (the grid's horizontal over vertical voxel size, as the
    methods weigh them).

    Returns
    -------
    float or None
        ``None`` when no sample has another pass near it (a single line).

    Examples
    --------
    Lines 20 m apart, samples every 2 m along them:

    >>> x = np.tile(np.arange(0.0, 200.0, 2.0), 4)
    >>> y = np.repeat([0.0, 20.0, 40.0, 60.0], 100)
    >>> line_spacing((x, y, np.zeros(x.size)))
    20.0
    """
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    n = x.size
    if n < 3:
        return None
    keys = [k for k in (None if order is None else np.asarray(order, float).ravel(),
                        None if tracks is None else np.asarray(tracks).ravel()) if k is not None]
    perm = np.lexsort(keys) if keys else np.arange(n)
    pts = np.column_stack([x[perm], y[perm], z[perm] * aspect])
    track = np.zeros(n) if tracks is None else np.asarray(tracks).ravel()[perm]
    # densely sampled tracks: thin them until the neighbours reach the other passes
    stride, found = 1, None
    while n // stride >= 50:
        spacing, share = _other_pass_distance(pts[::stride], track[::stride], neighbours)
        if spacing is not None and share >= 0.5:
            return spacing
        found = spacing if spacing is not None else found
        stride *= 2
    return found


def _other_pass_distance(pts: np.ndarray, track: np.ndarray,
                         neighbours: int) -> tuple[float | None, float]:
    """Median distance to the nearest sample of another pass (see :func:`line_spacing`) and
    the share of samples that have one among their ``neighbours`` nearest."""
    from scipy.spatial import cKDTree

    n = len(pts)
    # distance along the track over every SAME_PASS_SAMPLES-th sample: position noise
    # between consecutive samples does not add up
    knots = np.arange(0, n, SAME_PASS_SAMPLES)
    if knots[-1] != n - 1:
        knots = np.append(knots, n - 1)
    step = np.linalg.norm(np.diff(pts[knots], axis=0), axis=1)
    along = np.interp(np.arange(n), knots, np.concatenate([[0.0], np.cumsum(step)]))
    k = min(neighbours, n - 1) + 1
    dist, idx = cKDTree(pts).query(pts, k=k)
    dist, idx = dist[:, 1:], idx[:, 1:]
    apart = np.abs(idx - np.arange(n)[:, None]) > SAME_PASS_SAMPLES
    other = (apart & (np.abs(along[idx] - along[:, None]) > 3.0 * dist + 1e-9)) | (
        track[idx] != track[:, None])
    found = other.any(axis=1)
    if not found.any():
        return None, 0.0
    first = np.argmax(other, axis=1)
    return float(np.median(dist[found, first[found]])), float(found.mean())


@dataclass
class FoldDesign:
    """Held-out blocks, their folds and the noise estimate of one set of samples.

    Attributes
    ----------
    groups, fold
        Block id and fold of each sample.
    folds
        Number of folds.
    blocking
        What the blocks are, in words.
    noise_var
        Estimated variance of the measurement noise (``None``: not estimable).
    length
        Piece length of the blocks (m; 0 for single samples; ``None`` when given).
    heldout, prediction
        The distances matched (held-out samples to training; filled voxel centres to samples).
    mismatch
        1-Wasserstein distance between the two (m).
    tried
        ``(length, mismatch)`` of every piece length tried.
    nblocks
        Number of blocks (0: count the distinct ``groups``).
    """

    groups: np.ndarray
    fold: np.ndarray
    folds: int
    blocking: str
    noise_var: float | None = None
    length: float | None = None
    heldout: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prediction: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mismatch: float = float("nan")
    tried: list[tuple[float, float]] = field(default_factory=list)
    nblocks: int = 0

    def blocks(self) -> int:
        """Number of blocks."""
        return self.nblocks or int(np.unique(self.groups).size)


def assign_folds(groups: np.ndarray, folds: int, seed: int = 0, *,
                 contiguous: bool = False) -> tuple[np.ndarray, int, int]:
    """Fold of each sample (blocks shuffled into ``folds`` with ``seed``), the number of folds
    (at most the number of blocks) and of blocks. ``contiguous``: the block ids are already
    ``0 .. nblocks - 1``."""
    if contiguous:
        gid = np.asarray(groups)
        nblocks = int(gid.max()) + 1 if gid.size else 0
    else:
        uniq, gid = np.unique(groups, return_inverse=True)
        nblocks, gid = uniq.size, gid.ravel()
    folds = int(min(folds, nblocks))
    if folds < 2:
        raise NoUsableDataError("cross-validation needs at least two blocks of samples")
    fold_of_group = np.random.default_rng(seed).permutation(nblocks) % folds
    return fold_of_group[gid], folds, nblocks


def matched_design(coordinates: Sequence[ArrayLike], values: ArrayLike, *,
                   spec: GridSpec, folds: int = 5, support: int = 1,
                   tracks: ArrayLike | None = None, order: ArrayLike | None = None,
                   seed: int = 0, ladder: Sequence[float] = LADDER) -> FoldDesign:
    """The track-piece blocks whose held-out distances best match the grid's (kNNDM).

    Parameters
    ----------
    coordinates, values
        The samples (values for the noise estimate).
    spec
        The grid, with its region: its filled voxels (``support``, as the method's) are the
        prediction task.
    folds, seed
        Blocks are shuffled into ``folds`` folds with ``seed``.
    tracks, order
        Track key and time of each sample (see
        (:func:`track_segments`).
    ladder
        Piece lengths tried, shortest first, in horizontal voxel sizes (0: single samples);
        the search stops once the mismatch has grown twice in a row past the best.
        Distances are measured on at most :data:`DISTANCE_SAMPLES` samples (every k-th along
        the track); pieces shorter than two such steps are then not tried.
    """
    from scipy.spatial import cKDTree
    from scipy.stats import wasserstein_distance
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    n = x.size
    if spec.region is None:
        spec = spec.fit(x, y, z)
    h = max(spec.spacing[:2])
    aspect = _aspect(spec)
    steps = _TrackSteps.of((x, y, z), tracks, order)
    # distances on every k-th sample along the track (k = 1 up to DISTANCE_SAMPLES)
    stride = max(1, -(-n // DISTANCE_SAMPLES))
    thin = steps.perm[::stride]
    pts = _scaled((x[thin], y[thin], z[thin]), aspect)
    # pieces shorter than two thinned steps cannot be told apart on the thinned samples
    shortest = 2.0 * stride * float(np.median(steps.step)) if stride > 1 and n > 1 else 0.0
    pred = prediction_distances((x[thin], y[thin], z[thin]), spec, support=support,
                                tree=cKDTree(pts), seed=seed)
    if pred.size == 0:
        raise NoUsableDataError("no sample lies inside the grid region: no voxel to match "
                                "the cross-validation distances to")
    best: FoldDesign | None = None
    tried = []
    for f in ladder:
        length = f * h
        if length < shortest:
            continue
        groups = np.arange(n) if length <= 0 else _pieces(steps, length)
        try:
            fold, k, nblocks = assign_folds(groups, folds, seed, contiguous=True)
        except NoUsableDataError:
            continue
        held = heldout_distances(pts, fold[thin], seed=seed)
        mismatch = float(wasserstein_distance(held, pred))
        tried.append((length, mismatch))
        if best is None or mismatch < best.mismatch:
            what = "single samples" if length <= 0 else f"track pieces of {length:g} m"
            best = FoldDesign(groups, fold, k, f"{what} over {nblocks} blocks", None, length,
                              held, pred, mismatch, nblocks=nblocks)
        elif len(tried) >= 3 and tried[-2][1] > best.mismatch and mismatch > tried[-2][1]:
            break  # the mismatch grows again with the length: the best is behind
    if best is None:
        raise NoUsableDataError("cross-validation needs at least two blocks of samples")
    best.tried = tried
    best.noise_var = noise_variance((x, y, z), values, tracks=tracks, order=order,
                                    max_step=h)
    return best
