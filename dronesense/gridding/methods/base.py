"""The gridder base class: the verde-style fit / predict / grid contract shared by every
method (see :mod:`dronesense.gridding.methods`)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.gridding.blocks import block_statistics
from dronesense.gridding.dataset import grid_dataset
from dronesense.gridding.spec import GridSpec
from dronesense.quantities import Quantity

Coordinates = Sequence[ArrayLike]

#: Methods whose spread is the variance of the estimation error, not a statistic of the
#: samples around the voxel: written as a CF standard error (its square root).
ESTIMATION_VARIANCE = frozenset({"Kriging"})


def _coords(coordinates: Coordinates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(coordinates) != 3:
        raise ValueError("coordinates must be (x, y, z)")
    x, y, z = (np.asarray(c, dtype=float).ravel() for c in coordinates)
    if not (x.shape == y.shape == z.shape):
        raise ValueError("x, y and z differ in length")
    return x, y, z


def supported(has: np.ndarray, support: int) -> np.ndarray:
    """The voxels a method of data ``support`` fills, from those with samples (``has``,
    ``(z, y, x)``): within ``support`` voxels of a sample on the same level, and levels
    between supported levels (filling the gap between flown layers), never above the top or
    below the bottom one (no ground layer invented from the lowest flight level)."""
    if support <= 0:
        return has
    near = has.copy()  # a square of 2 support + 1 voxels on each level (separable: y, then x)
    for axis in (1, 2):
        grown = near.copy()
        n = near.shape[axis]
        for d in range(1, min(support, n - 1) + 1):
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[axis], hi[axis] = slice(d, None), slice(None, n - d)
            grown[tuple(lo)] |= near[tuple(hi)]
            grown[tuple(hi)] |= near[tuple(lo)]
        near = grown
    below = np.zeros_like(near)
    above = np.zeros_like(near)
    for d in range(1, min(support, near.shape[0] - 1) + 1):
        below[d:] |= near[:-d]
        above[:-d] |= near[d:]
    return near | (below & above)


class BaseGridder:
    """Base class of the gridding methods.

    Subclasses implement ``_fit(coordinates, values, spec)``, ``_predict(coordinates)`` and
    ``_fields(spec)`` (estimate and spread on the voxel centres). The base class provides
    parameter handling (``get_params``, ``set_params``, ``repr``), the data-support mask and
    the CF Dataset.

    Attributes
    ----------
    coordinates_, values_
        The samples seen by :meth:`fit` (finite ones).
    spec_
        The grid spec given to :meth:`fit` (or ``None``).
    """

    #: Words for the spread variable the method produces: (suffix, cell method, long name).
    _spread = ("std", "standard_deviation", "spread")

    # -- parameters ---------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        """Parameters given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> BaseGridder:
        """Set parameters (in place); returns self."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ParameterError(name, f"{type(self).__name__} has no parameter of that name "
                                     f"(it has: {', '.join(self._param_names())})")
            setattr(self, name, value)
        return self

    def clone(self, **params) -> BaseGridder:
        """An unfitted copy with the same parameters, some replaced."""
        return type(self)(**{**self.get_params(), **params})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- contract -----------------------------------------------------------------------
    def fit(self, coordinates: Coordinates, values: ArrayLike, *,
            spec: GridSpec | None = None) -> BaseGridder:
        """Learn from samples.

        Parameters
        ----------
        coordinates
            ``(x, y, z)`` of the samples.
        values
            One value per sample; NaN samples are dropped.
        spec
            The grid the product will be on: block-mean methods reduce on its voxels and
            grid-based methods (DM+V) compute on it. Optional for point methods.
        """
        x, y, z = _coords(coordinates)
        v = np.asarray(values, dtype=float).ravel()
        if v.shape != x.shape:
            raise ValueError("coordinates and values differ in length")
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & np.isfinite(v)
        if not ok.any():
            raise NoUsableDataError("no finite samples to fit")
        self.coordinates_ = (x[ok], y[ok], z[ok])
        self.values_ = v[ok]
        self.spec_ = spec
        self._fit(self.coordinates_, self.values_, spec)
        return self

    def predict(self, coordinates: Coordinates) -> np.ndarray:
        """Estimate at points (NaN where the method has nothing to say)."""
        self._check_fitted()
        return self._predict(_coords(coordinates))

    def grid(self, spec: GridSpec | None = None, *, quantity: Quantity | str | None = None,
             history: str = "", times: ArrayLike | None = None) -> xr.Dataset:
        """The CF grid Dataset on ``spec`` (default: the spec given to :meth:`fit`).

        Variables: the estimate (named after the quantity, ``value`` without one), its
        spread, ``number_of_observations``; voxels without data support are NaN.
        """
        self._check_fitted()
        spec = spec or self.spec_
        if spec is None:
            raise ValueError("grid() needs a grid spec (none was given to fit())")
        if spec.region is None:
            spec = spec.fit(*self.coordinates_)
        if isinstance(quantity, str):
            from dronesense.gridding.coordinates import quantity_for

            quantity = quantity_for(xr.Dataset(), quantity)
        if quantity is None:
            quantity = Quantity("value", "value", "1", "1")
        count = block_statistics(spec, self.coordinates_, self.values_, ["count"])["count"]
        mask = self._support_mask(count)
        if "where" in inspect.signature(self._fields).parameters:
            fields = self._fields(spec, where=mask)  # only the voxels kept are computed
        else:
            fields = self._fields(spec)
        for arr in fields.values():
            if arr.dtype.kind == "f":
                arr[~mask] = np.nan
        return grid_dataset(
            spec, self._variables(fields, count, quantity, spec), made_by=repr(self),
            history=history or f"{self!r}", times=times,
            title=f"dronesense 3D grid of {quantity.long_name}",
        )

    # -- helpers for subclasses ------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "values_"):
            raise InputError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _support_mask(self, count: np.ndarray) -> np.ndarray:
        return supported(count > 0, int(getattr(self, "support", 0) or 0))

    def _variables(self, fields, count, quantity, spec):
        q = quantity.key
        attrs = quantity.attrs()
        out = {}
        est = dict(attrs)
        est["cell_methods"] = f"x: y: z: point (comment: interpolated by {type(self).__name__})"
        anc = []
        out[q] = (fields.pop("estimate"), est)
        for name, arr in fields.items():
            if name == "spread":
                key, arr, a = self._spread_variable(arr, quantity)
            elif name == "confidence":
                key = f"{q}_confidence"
                a = {"long_name": "DM+V confidence (0: no data support, 1: well sampled)",
                     "units": "1", "valid_range": np.array([0.0, 1.0]),
                     "coverage_content_type": "qualityInformation",
                     "comment": "1 - exp(-(W/omega)^2) of the summed kernel weight W of the "
                                "samples (Lilienthal et al. 2009); CF has no standard name "
                                "for it"}
            else:
                key, a = f"{q}_{name}", dict(attrs)
            out[key] = (arr, a)
            anc.append(key)
        out["number_of_observations"] = (
            count.astype(np.int32),
            {"standard_name": "number_of_observations", "units": "1",
             "long_name": f"number of {q} samples in voxel"},
        )
        anc.append("number_of_observations")
        out[q][1]["ancillary_variables"] = " ".join(anc)
        return out

    def _spread_variable(self, arr: np.ndarray, quantity: Quantity
                         ) -> tuple[str, np.ndarray, dict[str, Any]]:
        """The spread as a CF variable, in the quantity's units (a variance is stored as its
        square root): the uncertainty of the estimate (kriging) as ``<q>_standard_error``
        with the ``standard_error`` modifier of the quantity's standard name; a spread of
        the samples around the voxel (IDW, DM+V) as ``<q>_std`` with the quantity's
        standard name and ``cell_methods`` ``standard_deviation`` (CF tells it from the
        estimate by the cell method)."""
        _suffix, cell_method, long = self._spread
        a = quantity.attrs()
        standard_name = a.pop("standard_name", None)
        a["coverage_content_type"] = "qualityInformation"
        if "units_metadata" in a:  # a spread of temperatures is a temperature difference
            a["units_metadata"] = "temperature: difference"
        if cell_method == "variance":
            arr = np.sqrt(np.maximum(arr, 0.0))
            long = f"square root of the {long}"
        if any(c.__name__ in ESTIMATION_VARIANCE for c in type(self).__mro__):
            a["long_name"] = f"{quantity.long_name} (standard error of the estimate: {long})"
            if standard_name:
                a["standard_name"] = f"{standard_name} standard_error"
            return f"{quantity.key}_standard_error", arr, a
        a["long_name"] = f"{quantity.long_name} ({long})"
        if standard_name:
            a["standard_name"] = standard_name
        a["cell_methods"] = f"x: y: z: standard_deviation ({long})"
        return f"{quantity.key}_std", arr, a

    # -- to implement --------------------------------------------------------------------
    def _fit(self, coordinates, values, spec):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, coordinates):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fields(self, spec: GridSpec, where: np.ndarray | None = None
                ) -> dict[str, np.ndarray]:
        """Estimate (and spread) at the voxel centres (those of the mask ``where`` only,
        NaN elsewhere); default: :meth:`predict`."""
        points, fill = centres_at(spec, where)
        return {"estimate": fill(self._predict(points))}


def centres_at(spec: GridSpec, where: np.ndarray | None = None):
    """The voxel centres ``(x, y, z)`` (flat) in the mask ``where`` (all without one), and
    the function putting values computed there into an array of ``spec.shape`` (NaN
    elsewhere). A point method computes each voxel on its own, so computing only the voxels
    kept gives them the same values.

    Examples
    --------
    >>> spec = GridSpec((1, 1, 1), (0, 0, 0), region=(0, 2, 0, 1, 0, 1))
    >>> (x, y, z), fill = centres_at(spec, np.array([[[True, False]]]))
    >>> x.tolist(), fill(x * 10).tolist()
    ([0.5], [[[5.0, nan]]])
    """
    x, y, z = (c.ravel() for c in spec.centres())
    if where is None:
        return (x, y, z), lambda values: np.asarray(values).reshape(spec.shape)
    keep = np.asarray(where, dtype=bool).ravel()

    def fill(values: np.ndarray) -> np.ndarray:
        out = np.full(spec.size, np.nan, dtype=np.result_type(values, float))
        out[keep] = values
        return out.reshape(spec.shape)

    return (x[keep], y[keep], z[keep]), fill


def spec_for(coords, spacing) -> GridSpec:
    """A throwaway spec on the data with the given spacing (origin unused)."""
    return GridSpec(tuple(spacing), (0.0, 0.0, 0.0)).fit(*coords)
