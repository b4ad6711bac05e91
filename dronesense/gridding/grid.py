"""Gridding a samples Dataset: one call from samples to a CF grid.

:func:`grid` is the entry point: it builds the grid definition (:func:`~dronesense.gridding.
spec.make_spec`), chooses the method by blocked cross-validation when asked
(``method="auto"``), grids and records the accuracy. :func:`grid_samples` grids with a given
method and spec; :func:`select_method` grids with the method of lowest cross-validation RMSE.
The grid's reported error, ``estimated_grid_rmse``, is the model-based estimate
(:func:`~dronesense.gridding.errorvariance.grid_error_variance`) where it can be made, else
the cross-validation's (``estimated_grid_rmse_method`` says which). This module composes the
others: the methods, the cross-validation (:mod:`~dronesense.gridding.validation`) and the
samples' coordinates never import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.gridding.coordinates import quantity_for, usable_samples, usable_tracks
from dronesense.gridding.errorvariance import grid_error_variance
from dronesense.gridding.methods import METHODS, BaseGridder, BlockReduce, make_method
from dronesense.gridding.reportederror import MODEL_ESTIMATE
from dronesense.gridding.spec import GridSpec, make_spec
from dronesense.gridding.validation import choose_method
from dronesense.gridding.validation import cross_validate as blocked_cv

__all__ = ["MODEL_ESTIMATE", "grid", "grid_samples", "select_method"]

#: Keyword arguments ``grid(..., method="auto")`` passes to :func:`select_method`.
AUTO_OPTIONS = ("methods", "folds", "min_coverage")


def grid(
    samples: xr.Dataset,
    quantity: str,
    *,
    spacing: float | Sequence[float] | None = None,
    spec: GridSpec | None = None,
    method: str | BaseGridder = "auto",
    region: Sequence[float] | None = None,
    origin: Sequence[float] | None = None,
    vertical: str | None = None,
    terrain: float | None = None,
    levels: str | None = None,
    statistic: str = "mean",
    cross_validate: bool = True,
    error_model: bool = True,
    inputs: Sequence[str] = (),
    **kw: Any,
) -> xr.Dataset:
    """Grid one quantity of a samples Dataset onto a 3D CF grid, accuracy included.

    Parameters
    ----------
    samples
        The samples Dataset (``obs`` dimension, ``docs/architecture.md``), e.g. from
        :func:`dronesense.samples.files.load_dataset`.
    quantity
        Quantity key (``ch4``, ``pm2p5``...).
    spacing
        Voxel size in metres: one number, ``(dxy, dz)`` or ``(dx, dy, dz)``. Required without
        ``spec``; with ``spec`` it replaces the spec's spacing.
    spec
        A grid definition to reuse (:class:`~dronesense.gridding.spec.GridSpec`, or the path
        of a saved spec or grid). ``region``, ``origin``, ``vertical`` and ``terrain``,
        where given, replace its parts.
    method
        ``"auto"`` (default): the candidate of lowest blocked cross-validation RMSE
        (:func:`select_method`); a name (``"block"``, ``"idw"``, ``"dmv"``, ``"kriging"``);
        or a gridder object (:mod:`dronesense.gridding.methods`).
    region
        ``(west, east, south, north, bottom, top)`` in local metres; default fitted to the
        data, voxel centres on multiples of the spacing.
    origin
        ``(lat, lon, alt)`` of the local frame; default the samples' home point.
    vertical
        ``"height"`` above home (default, or the spec's), ``"amsl"`` or ``"agl"``.
    terrain
        Ground altitude AMSL (m), for ``vertical="agl"``.
    levels
        ``"layers"`` (default, or the spec's): vertical levels centred on the flown layers;
        ``"regular"``: centres on multiples of the vertical spacing
        (:class:`~dronesense.gridding.spec.GridSpec`).
    statistic
        Block estimate, ``"mean"`` or ``"median"`` (the ``block`` method and the block
        candidate of ``auto``).
    cross_validate
        Store blocked cross-validation RMSE, bias and coverage in the product (always done
        with ``auto``).
    error_model
        ``True`` (default): report the grid's expected RMSE against the true field from the
        estimation variance of the method's own weights under a variogram fitted to the
        samples (:func:`~dronesense.gridding.errorvariance.grid_error_variance`; a few
        seconds on 50 k samples) as ``estimated_grid_rmse``, also kept as
        ``model_grid_rmse``. On the benchmark flights it is closer to the true error than
        cross-validation (``docs/gridding.md``). Where it cannot be made (too few voxels
        for a variogram, a block median) the grid is still made, ``model_grid_rmse_method``
        says why and ``estimated_grid_rmse`` is the cross-validation's figure. ``False``:
        not made; ``estimated_grid_rmse`` is the cross-validation's figure
        (``cross_validation_grid_rmse``). ``estimated_grid_rmse_method`` says which.
    inputs
        Names of the input files, for ``history``.
    **kw
        Parameters of a method given by name (``k=12`` for ``"idw"``); with ``"auto"``,
        ``methods`` (the candidates), ``folds`` and ``min_coverage`` of
        :func:`select_method`.

    Returns
    -------
    xarray.Dataset
        CF grid, dims ``(z, y, x)``; the estimate is named after the quantity, ``made_by`` is
        the method's ``repr``. ``estimated_grid_rmse`` (and ``estimated_grid_rmse_method``)
        is the grid's reported error, on the dataset and on the estimate variable. With
        ``auto``, ``cross_validation_candidates`` lists every candidate's score.

    Raises
    ------
    ParameterError
        A parameter the grid cannot use (no spacing, an unknown method...).
    NoUsableDataError
        No positioned samples of the quantity, or none inside the region.

    Examples
    --------
    Samples along two lines at two heights, a field rising to the east:

    >>> import numpy as np
    >>> from dronesense.flight.rows import SampleRow
    >>> from dronesense.samples.dataset import to_dataset
    >>> rows = [SampleRow(f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}.000000Z", 1000.0 * i,
    ...                   0, 1, 52.0 + 0.0003 * (i // 40 % 2), 5.0 + 0.00004 * (i % 40),
    ...                   13.0 + h, h, "ch4", "CH4", 1.9 + 0.001 * (i % 40), "1e-6", 0.1, 0,
    ...                   "sync")
    ...         for i, h in ((i, 10.0 + 10 * (i // 80)) for i in range(160))]
    >>> samples = to_dataset(rows)
    >>> ds = grid(samples, "ch4", spacing=(10, 10, 10), method="idw")
    >>> ds["ch4"].dims, ds.attrs["made_by"].startswith("IDW(")
    (('z', 'y', 'x'), True)
    >>> bool(ds.attrs["cross_validation_rmse"] < 0.01)
    True
    >>> ds.attrs["estimated_grid_rmse_method"]
    'estimation variance under the fitted variogram'
    >>> cv = grid(samples, "ch4", spacing=(10, 10, 10), method="idw", error_model=False)
    >>> cv.attrs["estimated_grid_rmse"] == cv.attrs["cross_validation_grid_rmse"]
    True
    >>> auto = grid(samples, "ch4", spacing=(10, 10, 10), error_model=False)
    >>> len(auto.attrs["cross_validation_candidates"].split("; ")) > 3
    True
    """
    spec = make_spec(samples, spec=spec, spacing=spacing, region=region, origin=origin,
                     vertical=vertical, terrain=terrain, levels=levels)
    if isinstance(method, str) and method == "auto":
        unknown = set(kw) - set(AUTO_OPTIONS)
        if unknown:
            raise TypeError(f"method='auto' takes no {', '.join(sorted(unknown))} "
                            f"(only {', '.join(AUTO_OPTIONS)})")
        return select_method(samples, quantity, spec, statistic=statistic, inputs=inputs,
                             error_model=error_model, **kw)
    if isinstance(method, str):
        if method == "block":
            kw.setdefault("statistic", statistic)
        method = make_method(method, **kw)
    elif kw:
        raise TypeError("method parameters go to the method object, not to grid()")
    return grid_samples(samples, quantity, spec, method=method, inputs=inputs,
                        cross_validate=cross_validate, error_model=error_model)


def grid_samples(
    samples: xr.Dataset,
    quantity: str,
    spec: GridSpec | None = None,
    *,
    spacing: Sequence[float] | None = None,
    method: Any = None,
    statistics: Iterable[str] = ("mean", "count", "std", "min", "max"),
    inputs: Sequence[str] = (),
    cross_validate: bool = False,
    error_model: bool = False,
) -> xr.Dataset:
    """Grid one quantity of a samples Dataset with a given method.

    Parameters
    ----------
    samples
        The samples Dataset (``obs`` dimension, see ``docs/architecture.md``).
    quantity
        Quantity key (``ch4``, ``pm2p5``...).
    spec
        Grid definition. Without a region, the region is fitted to the data; without a spec,
        ``spacing`` is required and the origin is the home point guessed from the samples.
    method
        ``None`` or ``"block"`` for block statistics, a method name (``"auto"``: see
        :func:`select_method`), or a gridder object from
        :mod:`dronesense.gridding.methods.base` (its ``repr`` goes to ``made_by``).
    statistics
        Block statistics to include (block method).
    inputs
        Names of the input files, for ``history``.
    cross_validate
        Store blocked cross-validation RMSE and bias in the attributes.
    error_model
        Store the model-based expected RMSE as the grid's ``estimated_grid_rmse``
        (:func:`grid`, where it is the default; here, as cross-validation, only when asked).

    Returns
    -------
    xarray.Dataset
        CF grid; the estimate variable is named after the quantity.
    """
    spec = make_spec(samples, spec=spec, spacing=spacing if spec is None else None)
    if isinstance(method, str) and method == "auto":
        return select_method(samples, quantity, spec, inputs=inputs, error_model=error_model)
    qty = quantity_for(samples, quantity)
    if not (cross_validate or error_model):
        spec, coords, values, times = usable_samples(samples, quantity, spec)
        tracks = order = None
    else:
        spec, coords, values, times, tracks, order = usable_tracks(samples, quantity, spec)
    ds, fitted = _product(qty, quantity, spec, (coords, values, times), method, statistics,
                          inputs)
    if cross_validate:
        blocked_cv(fitted, coords, values, spec=spec, tracks=tracks, order=order).store(
            ds, qty.key)
    if error_model:
        _store_error_model(ds, qty.key, fitted, (coords, values, tracks, order), spec)
    return ds


def _store_error_model(ds: xr.Dataset, variable: str, method: BaseGridder, usable,
                       spec: GridSpec) -> None:
    """Record the model-based expected RMSE of ``method``'s grid on ``ds`` (in place) as
    ``model_grid_rmse`` and as the grid's ``estimated_grid_rmse`` (global and on the estimate
    ``variable``); where it cannot be made (too few voxels for a variogram, a method that is
    not linear in the samples) the grid keeps ``model_grid_rmse_method`` saying why, no
    figure, and its cross-validation estimate, if any."""
    coords, values, tracks, order = usable
    try:
        estimate = grid_error_variance(method, coords, values, spec, tracks=tracks,
                                       order=order)
    except (NoUsableDataError, ValueError) as err:  # ParameterError is a ValueError
        # and so is "the kriged blocks could not be re-derived": the grid stands without it
        ds.attrs["model_grid_rmse_method"] = f"not estimable: {err}"
        return
    if not (math.isfinite(estimate.rmse) and np.isfinite(estimate.variance).any()):
        ds.attrs["model_grid_rmse_method"] = ("not estimable: no drawn voxel's estimation "
                                              "variance could be computed")
        return
    ds.attrs.update(estimate.attrs())
    for attrs in (ds.attrs, ds[variable].attrs):
        attrs["estimated_grid_rmse"] = estimate.rmse
        attrs["estimated_grid_rmse_method"] = MODEL_ESTIMATE


def _product(qty, quantity, spec, usable, method, statistics, inputs):
    """``(grid, fitted method)`` of ``method`` fitted to the usable samples
    ``(coords, values, times)`` of the quantity ``qty``."""
    coords, values, times = usable
    if method is None:
        method = BlockReduce()
    if isinstance(method, str):
        method = make_method(method)
    if not isinstance(method, BaseGridder):
        raise TypeError(f"method must be a name ({', '.join(METHODS)}, auto) or a gridder, "
                        f"not {type(method).__name__}")
    if isinstance(method, BlockReduce):
        method = BlockReduce(
            statistic=method.statistic,
            statistics=tuple(dict.fromkeys([method.statistic, *statistics])),
        )
    method = method.fit(coords, values, spec=spec)
    params = f"quantity={quantity} spacing={','.join(f'{s:g}' for s in spec.spacing)} " \
        f"vertical={spec.vertical} method={method!r}"
    history = f"dronesense grid {' '.join(map(str, inputs))} {params}".replace("  ", " ")
    ds = method.grid(spec, quantity=qty, history=history, times=times)
    ds.attrs["number_of_samples"] = int(values.size)
    return ds, method


def select_method(
    samples: xr.Dataset,
    quantity: str,
    spec: GridSpec,
    *,
    methods: Sequence[BaseGridder] | None = None,
    folds: int = 5,
    min_coverage: float = 0.5,
    statistic: str = "mean",
    inputs: Sequence[str] = (),
    error_model: bool = True,
) -> xr.Dataset:
    """Grid with the method (and kernel width) of lowest blocked cross-validation RMSE.

    Methods predicting fewer than ``min_coverage`` of the held-out samples (block statistics
    on sparse data) are not chosen unless nothing else is left
    (:func:`~dronesense.gridding.validation.choose_method`). The product records the
    chosen method's scores and those of every candidate in ``cross_validation_candidates``;
    its ``estimated_grid_rmse`` is the chosen method's model-based error (the model does not
    take part in the choice), or its cross-validation figure (``error_model``).

    Parameters
    ----------
    samples, quantity, spec, inputs
        As :func:`grid_samples`.
    error_model
        As :func:`grid` (default ``True``).
    methods
        Candidates; default :func:`~dronesense.gridding.validation.candidates`.
    folds, min_coverage, statistic
        As :func:`~dronesense.gridding.validation.choose_method`.
    """
    if folds < 2:
        raise ParameterError("folds", f"cross-validation needs at least 2 folds, got {folds}")
    spec, coords, values, times, tracks, order = usable_tracks(samples, quantity, spec)
    choice = choose_method(coords, values, spec=spec, methods=methods, folds=folds,
                           min_coverage=min_coverage, statistic=statistic, tracks=tracks,
                           order=order)
    ds, _ = _product(quantity_for(samples, quantity), quantity, spec, (coords, values, times),
                     choice.method, ("mean", "count", "std", "min", "max"), inputs)
    choice.store(ds, quantity)
    if error_model:
        _store_error_model(ds, quantity, choice.method, (coords, values, tracks, order), spec)
    return ds
