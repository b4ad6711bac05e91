"""Blocked cross-validation of gridding methods, and method selection by it.

Samples along a flight line are strongly correlated: leaving out random single samples
tells how well a method reproduces a neighbour one metre away, not how well it fills the
gaps between lines and layers. Here whole pieces of the track (contiguous runs of about
``segment_length`` metres, or user-given groups such as flight-line ids) are held out
together, in k folds. Each product stores the resulting RMSE and bias in its metadata.

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec
>>> from dronesense.gridding.methods.idw import IDW
>>> x = np.tile(np.arange(0.0, 100.0), 5)
>>> y = np.repeat(np.arange(0.0, 50.0, 10.0), 100)
>>> z = np.full(x.size, 10.0)
>>> spec = GridSpec((10, 10, 10), (52, 5, 0)).fit(x, y, z)
>>> scores = cross_validate(IDW(), (x, y, z), x / 10, spec=spec, folds=4)
>>> scores.rmse < 0.5, scores.folds
(True, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense.errors import NoUsableDataError
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.methods.block import BlockReduce
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging
from dronesense.gridding.spec import GridSpec

__all__ = ["KRIGING_MAX_SAMPLES", "CVScores", "MethodChoice", "candidates", "choose_method",
           "cross_validate", "line_spacing", "track_segments"]


@dataclass
class CVScores:
    """Result of a blocked cross-validation.

    Attributes
    ----------
    rmse, bias
        Root mean square and mean of (prediction - held-out observation), over all folds.
    coverage
        Fraction of held-out samples the method gave a prediction for.
    folds, groups
        Number of folds and of held-out blocks.
    fold_rmse
        RMSE of each fold.
    """

    rmse: float
    bias: float
    coverage: float
    folds: int
    groups: int
    blocking: str
    fold_rmse: list[float] = field(default_factory=list)

    def attrs(self) -> dict[str, Any]:
        """Dataset attributes recording the scores."""
        return {
            "cross_validation_rmse": self.rmse,
            "cross_validation_bias": self.bias,
            "cross_validation_coverage": self.coverage,
            "cross_validation_method": f"blocked {self.folds}-fold over {self.groups} "
                                       f"blocks ({self.blocking})",
        }

    def store(self, ds: xr.Dataset, variable: str) -> None:
        """Record the scores on a grid: global attributes (:meth:`attrs`) and RMSE and bias
        on the estimate ``variable`` (in place)."""
        ds.attrs.update(self.attrs())
        ds[variable].attrs["cross_validation_rmse"] = self.rmse
        ds[variable].attrs["cross_validation_bias"] = self.bias


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
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keys = []
    if order is not None:
        keys.append(np.asarray(order, dtype=float).ravel())
    if tracks is not None:
        keys.append(np.asarray(tracks).ravel())
    perm = np.lexsort(keys) if keys else np.arange(n)
    xs, ys, zs = x[perm], y[perm], z[perm]
    step = np.hypot(np.hypot(np.diff(xs), np.diff(ys)), np.diff(zs))
    jump = 2.0 * length if jump is None else jump
    cut = step > jump
    if tracks is not None:
        t = np.asarray(tracks).ravel()[perm]
        cut |= t[1:] != t[:-1]
    along = np.concatenate([[0.0], np.cumsum(np.where(cut, 0.0, step))])
    breaks = np.concatenate([[0], np.cumsum(cut)])
    piece = np.floor(along / length).astype(np.int64)
    key = breaks * (piece.max() + 1) + piece
    _, sorted_ids = np.unique(key, return_inverse=True)
    ids = np.empty(n, dtype=np.int64)
    ids[perm] = sorted_ids.ravel()
    return ids


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


def cross_validate(
    method: BaseGridder,
    coordinates: Sequence[ArrayLike],
    values: ArrayLike,
    *,
    spec: GridSpec | None = None,
    folds: int = 5,
    groups: ArrayLike | None = None,
    segment_length: float | None = None,
    tracks: ArrayLike | None = None,
    order: ArrayLike | None = None,
    seed: int = 0,
    at: str = "points",
    blocks: str = "voxels",
) -> CVScores:
    """Blocked k-fold cross-validation of a method.

    Blocks are pieces of the track four horizontal voxel sizes long (``blocks="voxels"``,
    default), or twice the spacing between its passes (``blocks="passes"``,
    :func:`line_spacing`: flight lines side by side, layers above each other, so a held-out
    piece leaves a gap like the one between the lines). Each held-out sample is compared with
    the method's prediction at its position (``at="points"``, default), or with the value of
    its voxel in the grid made from the other folds where that voxel keeps an estimate
    (``at="voxels"``, the grid users get, whose error counts only the voxels it fills). The
    coverage is always the share of held-out samples the method predicts at their position.
    ``docs/gridding.md`` compares the designs with the true error of simulated flights.

    Parameters
    ----------
    method
        Any gridder; fitted copies are made with ``method.clone()``.
    coordinates, values
        The samples, in time order (for track blocking).
    spec
        Grid the method works on (passed to ``fit``).
    folds
        Number of folds; blocks are shuffled into folds with ``seed``.
    groups
        Block id per sample (e.g. flight-line ids); default :func:`track_segments`.
    segment_length
        Track block length in metres; default by ``blocks``.
    tracks, order
        Track key (vehicle and boot) and time of each sample, so blocks follow each
        vehicle's own path (see :func:`track_segments`); default one track in the given
        order.
    at
        ``"points"`` (default) or ``"voxels"`` (with a ``spec``).
    blocks
        Default block length when neither ``groups`` nor ``segment_length`` is given:
        ``"voxels"`` or ``"passes"``.
    """
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    if at not in ("voxels", "points"):
        raise ValueError(f"at must be 'voxels' or 'points', not {at!r}")
    if blocks not in ("voxels", "passes"):
        raise ValueError(f"blocks must be 'voxels' or 'passes', not {blocks!r}")
    if groups is None:
        length = segment_length
        blocking = "track pieces of {:g} m"
        if length is None and blocks == "passes":
            aspect = spec.spacing[0] / spec.spacing[2] if spec is not None else 1.0
            spacing = line_spacing((x, y, z), aspect=aspect, tracks=tracks, order=order)
            if spacing:
                length = round(2 * spacing, 1)
                blocking += f" (twice the {spacing:.3g} m between passes)"
        if length is None:
            length = 4 * max(spec.spacing[:2]) if spec is not None else 40.0
        groups = track_segments((x, y, z), length, tracks=tracks, order=order)
        blocking = blocking.format(length)
        if tracks is not None:
            ntr = np.unique(np.asarray(tracks)).size
            blocking += f" along {ntr} track{'s' if ntr != 1 else ''} (vehicle, boot)"
    else:
        groups = np.asarray(groups)
        blocking = "given groups"
    uniq, gid = np.unique(groups, return_inverse=True)
    folds = int(min(folds, uniq.size))
    if folds < 2:
        raise NoUsableDataError("cross-validation needs at least two blocks of samples")
    rng = np.random.default_rng(seed)
    fold_of_group = rng.permutation(uniq.size) % folds
    fold = fold_of_group[gid]
    pred = np.full(v.size, np.nan)
    scored = np.full(v.size, np.nan)  # what the RMSE is of: voxel values or predictions
    fold_rmse = []
    voxel = spec.locate(x, y, z) if spec is not None and at == "voxels" else None
    for k in range(folds):
        test = fold == k
        train = ~test
        model = method.clone().fit((x[train], y[train], z[train]), v[train], spec=spec)
        pred[test] = model.predict((x[test], y[test], z[test]))
        if voxel is None:
            scored[test] = pred[test]
        else:
            est = _estimate(model.grid(spec))
            inside = test & (voxel >= 0)
            scored[inside] = est.ravel()[voxel[inside]]
        r = scored[test] - v[test]
        r = r[np.isfinite(r)]
        fold_rmse.append(float(np.sqrt(np.mean(r**2))) if r.size else float("nan"))
    ok = np.isfinite(scored)
    if not ok.any():  # no held-out sample's voxel keeps an estimate: the predictions
        ok, scored = np.isfinite(pred), pred
    resid = scored[ok] - v[ok]
    if resid.size == 0:
        return CVScores(float("nan"), float("nan"), 0.0, folds, uniq.size, blocking, fold_rmse)
    return CVScores(
        rmse=float(np.sqrt(np.mean(resid**2))),
        bias=float(np.mean(resid)),
        coverage=float(np.isfinite(pred).mean()),
        folds=folds,
        groups=int(uniq.size),
        blocking=blocking,
        fold_rmse=fold_rmse,
    )


def _estimate(ds: xr.Dataset) -> np.ndarray:
    """The estimate of a method's grid: the variable with the spread and count as its
    ``ancillary_variables`` (``value`` without a quantity)."""
    for var in ds.data_vars.values():
        if "ancillary_variables" in var.attrs:
            return var.values
    return ds["value"].values


def candidates(spec: GridSpec, kriging: bool = True,
               statistic: str = "mean") -> list[BaseGridder]:
    """Methods and kernel widths ``method="auto"`` chooses from.

    Block statistics (``statistic``: mean or median), IDW with k 4 and 12 at two
    anisotropies, DM+V at three kernel widths and, with ``kriging`` and gstools installed
    (the ``kriging`` extra), ordinary kriging.

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


def kriging_available() -> bool:
    """Whether gstools, which kriging needs, is installed (``pip install 'dronesense[kriging]'``).
    """
    try:
        import gstools  # noqa: F401
    except ImportError:
        return False
    return True


#: Above this many samples ``method="auto"`` leaves kriging out of the candidates.
KRIGING_MAX_SAMPLES = 200_000


@dataclass
class MethodChoice:
    """The method of lowest blocked cross-validation RMSE, with every candidate's score.

    Attributes
    ----------
    method
        The chosen gridder (not fitted).
    score
        Its :class:`CVScores`.
    scored
        ``(candidate, scores)`` of every candidate, in the order tried.
    notes
        What the choice could not consider (a method whose library is not installed).
    """

    method: BaseGridder
    score: CVScores
    scored: list[tuple[BaseGridder, CVScores]]
    notes: list[str] = field(default_factory=list)

    def store(self, ds: xr.Dataset, variable: str) -> None:
        """Record the chosen method's scores and ``cross_validation_candidates`` (every
        candidate's RMSE and coverage) on a grid, in place."""
        self.score.store(ds, variable)
        ds.attrs["cross_validation_candidates"] = "; ".join(
            f"{m!r}: rmse={s.rmse:.4g} coverage={s.coverage:.2f}" for m, s in self.scored)
        if self.notes:
            ds.attrs["cross_validation_notes"] = "; ".join(self.notes)


def choose_method(
    coordinates: Sequence[ArrayLike],
    values: ArrayLike,
    *,
    spec: GridSpec,
    methods: Sequence[BaseGridder] | None = None,
    folds: int = 5,
    min_coverage: float = 0.5,
    statistic: str = "mean",
    tracks: ArrayLike | None = None,
    order: ArrayLike | None = None,
) -> MethodChoice:
    """The method (and kernel width) of lowest blocked cross-validation RMSE.

    Methods predicting fewer than ``min_coverage`` of the held-out samples (block statistics
    on sparse data) are not chosen unless nothing else is left.

    Parameters
    ----------
    coordinates, values
        The usable samples, in time order within each track.
    spec
        The grid (with its region).
    methods
        Candidates; default :func:`candidates` (kriging only up to
        :data:`KRIGING_MAX_SAMPLES` samples).
    folds, tracks, order
        As :func:`cross_validate`.
    min_coverage
        Smallest fraction of held-out samples a method must predict to be chosen.
    statistic
        Estimate of the block-statistics candidate (``mean`` or ``median``).

    Examples
    --------
    >>> x = np.tile(np.arange(0.0, 100.0), 5)
    >>> y = np.repeat(np.arange(0.0, 50.0, 10.0), 100)
    >>> spec = GridSpec((10, 10, 10), (52, 5, 0)).fit(x, y, 0 * x)
    >>> choice = choose_method((x, y, 0 * x), x / 10, spec=spec, folds=3,
    ...                        methods=[IDW(k=1), IDW(k=4)])
    >>> len(choice.scored), choice.method in [m for m, _ in choice.scored]
    (2, True)
    """
    v = np.asarray(values, dtype=float).ravel()
    notes = []
    if methods is None:
        methods = candidates(spec, kriging=v.size <= KRIGING_MAX_SAMPLES, statistic=statistic)
        if not kriging_available():
            notes.append("kriging not tried: gstools is not installed "
                         "(pip install 'dronesense[kriging]')")
    methods = list(methods)
    if not methods:
        raise ValueError("no candidate methods to choose from")
    scored = [(m, cross_validate(m, coordinates, v, spec=spec, folds=folds, tracks=tracks,
                                 order=order)) for m in methods]
    usable = [(m, s) for m, s in scored if s.coverage >= min_coverage and np.isfinite(s.rmse)]
    pool = usable or [(m, s) for m, s in scored if np.isfinite(s.rmse)] or scored
    best, score = min(pool, key=lambda ms: ms[1].rmse if np.isfinite(ms[1].rmse) else np.inf)
    return MethodChoice(best, score, scored, notes)
