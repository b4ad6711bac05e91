"""Blocked cross-validation of gridding methods, and method selection by it.

Samples along a flight line are strongly correlated: leaving out random single samples
tells how well a method reproduces a neighbour one metre away, not how well it fills the
gaps between lines and layers. Here whole pieces of the track (contiguous runs of about
``segment_length`` metres, or user-given groups such as flight-line ids) are held out
together, in k folds (the designs of the blocks, and the measurement-noise estimate, are in
:mod:`dronesense.gridding.cvdesign`). Each product stores the RMSE against the held-out
samples, the noise estimated from the samples and the grid-error estimate with that noise
taken off, and the bias, in its metadata.

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

from dronesense.gridding.cvdesign import (
    FoldDesign,
    assign_folds,
    line_spacing,
    matched_design,
    noise_variance,
    track_segments,
)
from dronesense.gridding.methodchoice import (
    KRIGING_MAX_SAMPLES,
    SCORING_THREADS,
    MethodChoice,
    candidates,
    folds_of,
    score_all,
)
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.spec import GridSpec

__all__ = ["BLOCKS", "KRIGING_MAX_SAMPLES", "SCORING_THREADS", "CVScores", "MethodChoice",
           "candidates", "choose_method", "cross_validate", "fold_design", "line_spacing",
           "track_segments"]


@dataclass
class CVScores:
    """Result of a blocked cross-validation.

    Attributes
    ----------
    rmse, bias
        Root mean square and mean of (prediction - held-out observation), over all folds.
        The held-out observations carry measurement noise, so ``rmse`` estimates
        ``sqrt(error^2 + noise^2)``.
    coverage
        Fraction of held-out samples the method gave a prediction for.
    folds, groups
        Number of folds and of held-out blocks.
    blocking
        What the blocks are, in words.
    fold_rmse
        RMSE of each fold.
    noise_std
        Measurement noise estimated from the samples
        (:func:`~dronesense.gridding.cvdesign.noise_variance`); ``None`` when not estimable.
    grid_rmse
        The estimate of the grid's RMSE against the true field:
        ``sqrt(max(rmse^2 - noise_std^2, 0))`` (``rmse`` without a noise estimate).
    """

    rmse: float
    bias: float
    coverage: float
    folds: int
    groups: int
    blocking: str
    fold_rmse: list[float] = field(default_factory=list)
    noise_std: float | None = None
    grid_rmse: float = float("nan")

    @property
    def grid_rmse_method(self) -> str:
        """How :attr:`grid_rmse` was made, in short words (``estimated_grid_rmse_method``)."""
        if self.noise_std is None:
            return "cross-validation, sample noise not estimable (none removed)"
        if self.noise_std == 0:
            return "cross-validation, no sample noise removed"
        return "cross-validation, sample noise removed"

    def attrs(self) -> dict[str, Any]:
        """Dataset attributes recording the scores: ``cross_validation_rmse`` (against the
        held-out samples, their noise included), ``cross_validation_noise_std`` (the noise
        estimated from the samples), ``cross_validation_grid_rmse`` (the grid's error against
        the true field, noise taken off), bias, coverage and the design; and that figure as
        the grid's ``estimated_grid_rmse`` with ``estimated_grid_rmse_method`` saying so
        (:func:`~dronesense.gridding.grid.grid` replaces both by the model-based estimate
        where it makes one)."""
        out = {
            "cross_validation_rmse": self.rmse,
            "cross_validation_bias": self.bias,
            "cross_validation_coverage": self.coverage,
            "cross_validation_method": f"blocked {self.folds}-fold over {self.groups} "
                                       f"blocks ({self.blocking})",
            "cross_validation_grid_rmse": self.grid_rmse,
            "estimated_grid_rmse": self.grid_rmse,
            "estimated_grid_rmse_method": self.grid_rmse_method,
        }
        if self.noise_std is not None:
            out["cross_validation_noise_std"] = self.noise_std
        return out

    def store(self, ds: xr.Dataset, variable: str) -> None:
        """Record the scores on a grid: global attributes (:meth:`attrs`) and RMSE, bias and
        the grid-error estimates on the estimate ``variable`` (in place)."""
        ds.attrs.update(self.attrs())
        ds[variable].attrs["cross_validation_rmse"] = self.rmse
        ds[variable].attrs["cross_validation_bias"] = self.bias
        ds[variable].attrs["cross_validation_grid_rmse"] = self.grid_rmse
        ds[variable].attrs["estimated_grid_rmse"] = self.grid_rmse
        ds[variable].attrs["estimated_grid_rmse_method"] = self.grid_rmse_method


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
    design: FoldDesign | None = None,
    noise_std: float | None = None,
) -> CVScores:
    """Blocked k-fold cross-validation of a method, and the grid error it implies.

    Blocks are pieces of the track: four horizontal voxel sizes long (``blocks="voxels"``,
    default), twice the spacing between its passes (``blocks="passes"``,
    :func:`line_spacing`), or as long as makes held-out samples lie as far from the samples
    left in as the grid's filled voxel centres lie from the samples (``blocks="distances"``,
    nearest-neighbour distance matching, :func:`~dronesense.gridding.cvdesign.matched_design`;
    needs a ``spec``). Each held-out sample is compared with the method's prediction at its
    position (``at="points"``, default), or with the value of its voxel in the grid made from
    the other folds where that voxel keeps an estimate (``at="voxels"``). The coverage is
    always the share of held-out samples the method predicts at their position.

    The held-out samples carry measurement noise, the true field does not: the noise,
    estimated from consecutive samples (:func:`~dronesense.gridding.cvdesign.noise_variance`),
    is taken off the mean squared error to give ``grid_rmse``, the estimate of the grid's
    RMSE against the true field; ``rmse`` stays the RMSE against the held-out samples.
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
        Block id per sample (e.g. flight-line ids); default by ``blocks``.
    segment_length
        Track block length in metres; default by ``blocks``.
    tracks, order
        Track key (vehicle and boot) and time of each sample, so blocks follow each
        vehicle's own path (see :func:`track_segments`); default one track in the given
        order.
    at
        ``"points"`` (default) or ``"voxels"`` (with a ``spec``).
    blocks
        Default blocks when neither ``groups`` nor ``segment_length`` is given:
        ``"voxels"``, ``"passes"`` or ``"distances"``.
    design
        A fold design made beforehand (:func:`fold_design`), used as it is:
        :func:`choose_method` makes one for all candidates.
    noise_std
        Measurement noise to take off (0: none); default estimated from the samples.
    """
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    if at not in ("voxels", "points"):
        raise ValueError(f"at must be 'voxels' or 'points', not {at!r}")
    if design is None:
        design = fold_design((x, y, z), v, spec=spec, folds=folds, groups=groups,
                             segment_length=segment_length, tracks=tracks, order=order,
                             seed=seed, blocks=blocks, support=_support(method))
    fold, folds = design.fold, design.folds
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
    ngroups = design.blocks()
    if noise_std is None:
        noise_std = None if design.noise_var is None else float(np.sqrt(design.noise_var))
    if resid.size == 0:
        return CVScores(float("nan"), float("nan"), 0.0, folds, ngroups, design.blocking,
                        fold_rmse, noise_std)
    mse = float(np.mean(resid**2))
    return CVScores(
        rmse=float(np.sqrt(mse)),
        bias=float(np.mean(resid)),
        coverage=float(np.isfinite(pred).mean()),
        folds=folds,
        groups=ngroups,
        blocking=design.blocking,
        fold_rmse=fold_rmse,
        noise_std=noise_std,
        grid_rmse=float(np.sqrt(max(mse - (noise_std or 0.0) ** 2, 0.0))),
    )


#: Designs of the blocks: four voxel sizes (default), the pass spacing, matched distances.
BLOCKS = ("voxels", "passes", "distances")


def _support(method: BaseGridder) -> int:
    """How many voxels from data a method's grid reaches (block statistics: 0)."""
    return int(getattr(method, "support", 0) or 0)


def fold_design(coordinates: Sequence[ArrayLike], values: ArrayLike, *,
                spec: GridSpec | None = None, folds: int = 5, groups: ArrayLike | None = None,
                segment_length: float | None = None, tracks: ArrayLike | None = None,
                order: ArrayLike | None = None, seed: int = 0, blocks: str = "voxels",
                support: int = 1) -> FoldDesign:
    """The held-out blocks, folds and noise estimate :func:`cross_validate` uses.

    Parameters are those of :func:`cross_validate`; ``support`` (how many voxels from data
    the method's grid reaches) sets the voxels ``blocks="distances"`` matches.

    Examples
    --------
    >>> x = np.arange(0.0, 400.0)
    >>> design = fold_design((x, 0 * x, 0 * x), np.sin(x / 30), segment_length=50.0)
    >>> design.folds, design.blocking
    (5, 'track pieces of 50 m')
    """
    if blocks not in BLOCKS:
        raise ValueError(f"blocks must be one of {', '.join(map(repr, BLOCKS))}, "
                         f"not {blocks!r}")
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    v = np.asarray(values, dtype=float).ravel()
    h = max(spec.spacing[:2]) if spec is not None else 10.0
    if groups is None and segment_length is None and blocks == "distances":
        if spec is None:
            raise ValueError("blocks='distances' needs the grid spec")
        design = matched_design((x, y, z), v, spec=spec, folds=folds, support=support,
                                tracks=tracks, order=order, seed=seed)
        design.blocking = _design_words(design, tracks)
        return design
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
            length = 4 * h if spec is not None else 40.0
        groups = track_segments((x, y, z), length, tracks=tracks, order=order)
        blocking = blocking.format(length)
        if tracks is not None:
            ntr = np.unique(np.asarray(tracks)).size
            blocking += f" along {ntr} track{'s' if ntr != 1 else ''} (vehicle, boot)"
    else:
        groups = np.asarray(groups)
        blocking = "given groups"
    fold, folds, nblocks = assign_folds(groups, folds, seed)
    return FoldDesign(groups, fold, folds, blocking,
                      noise_variance((x, y, z), v, tracks=tracks, order=order, max_step=h),
                      nblocks=nblocks)


def _design_words(design: FoldDesign, tracks: ArrayLike | None) -> str:
    """The blocking of a matched design, in words."""
    what = design.blocking.split(" over ")[0]
    if tracks is not None:
        ntr = np.unique(np.asarray(tracks)).size
        what += f" along {ntr} track{'s' if ntr != 1 else ''} (vehicle, boot)"
    return (f"{what}, distances matched to the grid's: median {np.median(design.heldout):.3g} m "
            f"held-out to training, {np.median(design.prediction):.3g} m voxel centres to "
            f"samples")


def _estimate(ds: xr.Dataset) -> np.ndarray:
    """The estimate of a method's grid: the variable with the spread and count as its
    ``ancillary_variables`` (``value`` without a quantity)."""
    for var in ds.data_vars.values():
        if "ancillary_variables" in var.attrs:
            return var.values
    return ds["value"].values


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
    blocks: str = "voxels",
    workers: int | None = None,
) -> MethodChoice:
    """The method (and kernel width) of lowest blocked cross-validation RMSE.

    Methods predicting fewer than ``min_coverage`` of the held-out samples (block statistics
    on sparse data) are not chosen unless nothing else is left. The fold design (blocks,
    folds and noise estimate, :func:`fold_design`) is made once and used for every
    candidate, so all are scored on the same held-out samples.

    Parameters
    ----------
    coordinates, values
        The usable samples, in time order within each track.
    spec
        The grid (with its region).
    methods
        Candidates; default :func:`candidates` (kriging only up to
        :data:`KRIGING_MAX_SAMPLES` samples).
    folds, tracks, order, blocks
        As :func:`cross_validate` (``blocks="distances"`` matches the voxels of the
        candidate reaching farthest from data).
    min_coverage
        Smallest fraction of held-out samples a method must predict to be chosen.
    statistic
        Estimate of the block-statistics candidate (``mean`` or ``median``).
    workers
        Threads scoring the candidates side by side (default: the CPU count, at most
        :data:`SCORING_THREADS`; 1 scores them one after the other;
        :func:`~dronesense.gridding.methodchoice.score_all`). The scores do not depend on
        it: each candidate is scored on the same fold design, IDW candidates through
        shared neighbour queries that give each its own predictions.

    Examples
    --------
    >>> from dronesense.gridding.methods.idw import IDW
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
    methods = list(methods)
    if not methods:
        raise ValueError("no candidate methods to choose from")
    # one fold design (blocks, folds, noise) for every candidate; with blocks="distances"
    # matched to the voxels of the candidate reaching farthest from data
    design = fold_design(coordinates, v, spec=spec, folds=folds, tracks=tracks, order=order,
                         blocks=blocks, support=max(_support(m) for m in methods))
    scores = score_all(methods, lambda m: cross_validate(
        m, coordinates, v, spec=spec, folds=folds, tracks=tracks, order=order, design=design),
        workers=workers, folds=folds_of(coordinates, v, design.fold, design.folds, spec))
    scored = list(zip(methods, scores, strict=True))
    usable = [(m, s) for m, s in scored if s.coverage >= min_coverage and np.isfinite(s.rmse)]
    pool = usable or [(m, s) for m, s in scored if np.isfinite(s.rmse)] or scored
    best, score = min(pool, key=lambda ms: ms[1].rmse if np.isfinite(ms[1].rmse) else np.inf)
    return MethodChoice(best, score, scored, notes)
