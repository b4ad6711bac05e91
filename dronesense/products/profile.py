"""The vertical profile of one flight: every quantity in height bins, the mixing-layer height.

A profile flight climbs (and descends) a column over one place. :func:`vertical_profile`
puts each quantity of its samples into height bins (mean, standard deviation, count per bin)
and describes the column: the mixing-layer height by the gradient method with its
uncertainty (:func:`mixing_layer_height`), the strongest temperature inversion
(:func:`inversion`) and the column mean of each quantity. Optical particle counters over-read
in humid air: the humidity check flags the readings taken above a relative humidity and can
correct them for hygroscopic growth (:mod:`dronesense.products.hygroscopic`). A ground
station's readings of the same hour can be joined in (:mod:`dronesense.products.profile_station`).

The product is a CF ``featureType = "profile"`` Dataset: dimension ``z`` (bin centres, metres
above the take-off point), scalar ``time``, ``lat``, ``lon`` and ``profile_id``.

Examples
--------
>>> import numpy as np
>>> z = np.arange(5.0, 120.0, 10.0)
>>> pm = 28 - 11 * (1 + np.tanh((z - 65.0) / 6.0))       # a layer top at 65 m
>>> height, sigma = mixing_layer_height(z, pm)
>>> round(height, 1)
65.0
>>> base, top, strength = inversion(z, 9.0 + 0.004 * z)
>>> (base, top, round(strength, 2))
(5.0, 115.0, 0.44)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from dronesense.errors import InputError, ParameterError
from dronesense.metadata import coverage, global_attributes
from dronesense.products.hygroscopic import humidity_check
from dronesense.products.sample_series import check_one_vehicle, converted, sample_times

__all__ = ["MLH_QUANTITIES", "inversion", "mixing_layer_height", "vertical_profile"]

#: quantities whose gradient marks the mixing-layer top, in order of preference
MLH_QUANTITIES = ("pm2p5", "pm10", "pm1", "humidity", "co2", "ch4")
#: bootstrap resamples behind the mixing-layer height's uncertainty
N_BOOTSTRAP = 200
_SKIP = {"flag", "trajectory_index", "trajectory_id", "name", "time_source"}


def mixing_layer_height(z: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Mixing-layer height by the gradient method: where the profile falls fastest.

    The height of the most negative vertical gradient of ``values`` (an aerosol or a gas
    mixed from the ground), refined by a parabola through the three gradients around it.

    Parameters
    ----------
    z
        Bin centres, metres, increasing.
    values
        The quantity in each bin (NaN bins are skipped).

    Returns
    -------
    (height, resolution)
        Metres; ``resolution`` is the bin spacing over the square root of 12 (the standard
        uncertainty of locating a point inside one bin). ``(nan, nan)`` with fewer than three
        usable bins.
    """
    z = np.asarray(z, float)
    v = np.asarray(values, float)
    ok = np.isfinite(v) & np.isfinite(z)
    z, v = z[ok], v[ok]
    if z.size < 3:
        return math.nan, math.nan
    zm = 0.5 * (z[1:] + z[:-1])
    grad = np.diff(v) / np.diff(z)
    i = int(np.argmin(grad))
    height = float(zm[i])
    if 0 < i < grad.size - 1:
        g0, g1, g2 = grad[i - 1], grad[i], grad[i + 1]
        denom = g0 - 2 * g1 + g2
        if denom > 0:
            shift = 0.5 * (g0 - g2) / denom
            height = float(zm[i] + shift * (zm[i + 1] - zm[i - 1]) / 2)
    step = float(np.median(np.diff(z)))
    return height, step / math.sqrt(12.0)


def inversion(z: np.ndarray, temperature: np.ndarray) -> tuple[float, float, float]:
    """The strongest temperature inversion of a profile: the largest rise of temperature
    with height, from its base (lower bin) to its top (upper bin).

    Returns
    -------
    (base, top, strength)
        Bin centres in metres and the temperature rise in kelvin; ``(nan, nan, 0.0)`` when the
        temperature never rises with height.
    """
    z = np.asarray(z, float)
    t = np.asarray(temperature, float)
    ok = np.isfinite(t)
    z, t = z[ok], t[ok]
    if z.size < 2:
        return math.nan, math.nan, 0.0
    low = np.minimum.accumulate(t)  # coldest at or below each bin
    rise = t - low
    j = int(np.argmax(rise))
    if rise[j] <= 0:
        return math.nan, math.nan, 0.0
    i = int(np.flatnonzero(t[: j + 1] == low[j])[-1])
    return float(z[i]), float(z[j]), float(rise[j])


def _bin_stats(h: np.ndarray, v: np.ndarray, edges: np.ndarray):
    idx = np.digitize(h, edges) - 1
    ok = np.isfinite(v) & np.isfinite(h) & (idx >= 0) & (idx < edges.size - 1)
    n = np.bincount(idx[ok], minlength=edges.size - 1).astype(float)
    s = np.bincount(idx[ok], v[ok], minlength=edges.size - 1)
    s2 = np.bincount(idx[ok], v[ok] ** 2, minlength=edges.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        var = np.where(n > 1, (s2 - n * mean ** 2) / (n - 1), np.nan)
    return mean, np.sqrt(np.maximum(var, 0.0)), n, idx, ok


def _bootstrap_mlh(h, v, edges, centres, seed: int = 0) -> float:
    """Standard deviation of the gradient-method height over resamples of the readings
    within each bin (deterministic: a fixed seed)."""
    _, _, _, idx, ok = _bin_stats(h, v, edges)
    rng = np.random.default_rng(seed)
    groups = [v[ok][idx[ok] == b] for b in range(edges.size - 1)]
    heights = []
    for _ in range(N_BOOTSTRAP):
        means = np.array([rng.choice(g, g.size).mean() if g.size else np.nan for g in groups])
        heights.append(mixing_layer_height(centres, means)[0])
    heights = np.asarray(heights)
    heights = heights[np.isfinite(heights)]
    return float(np.std(heights, ddof=1)) if heights.size > 1 else math.nan


def _quantities(samples) -> list[str]:
    return [k for k, var in samples.data_vars.items()
            if k not in _SKIP and var.dims == ("obs",) and np.issubdtype(var.dtype, np.floating)]


def vertical_profile(samples, *, bin_height: float = 10.0, quantities: Sequence[str] | None = None,
                     mlh_quantity: str | None = None, rh_limit: float = 80.0,
                     hygroscopic: bool = False, kappa: float = 0.4,
                     particle_density: float = 1.65, history: str = "") -> xr.Dataset:
    """The vertical profile product of one flight's samples.

    Parameters
    ----------
    samples
        A samples Dataset (:func:`dronesense.read_samples`) of one vehicle; only paired
        readings (``flag`` 0) with a height are used.
    bin_height
        Height of the bins, metres above the take-off point. Bins are centred on whole
        multiples of it (0, 10, 20 m, ...): the levels a profile mission holds at fall in
        the middle of a bin, never on an edge. The lowest bin holds the ground readings.
    quantities
        Quantity keys to profile (default: every quantity of the samples).
    mlh_quantity
        The quantity whose fall with height marks the mixing-layer top (default: the first
        of :data:`MLH_QUANTITIES` present).
    rh_limit
        Relative humidity (%) above which optical particle readings are flagged
        (:func:`dronesense.products.hygroscopic.humidity_check`).
    hygroscopic
        Correct particle readings for hygroscopic growth before binning (kappa-Koehler).
    kappa, particle_density
        Hygroscopicity parameter and dry particle density (g cm-3) of the correction.
    history
        The command or call that made the product (the ``history`` attribute).

    Returns
    -------
    xarray.Dataset
        ``featureType = "profile"``: per quantity ``<q>`` (bin mean), ``<q>_std``, ``<q>_count``
        on ``z``, ``<q>_column_mean``; ``mixing_layer_height`` and its
        ``_uncertainty``; ``inversion_strength``, ``inversion_base``, ``inversion_top``; with
        particles and humidity, ``<q>_humid_fraction`` (readings above ``rh_limit``).

    Raises
    ------
    InputError
        No paired readings with a height, or samples of several vehicles.
    ParameterError
        ``bin_height``, ``rh_limit``, ``kappa``, ``particle_density`` or ``mlh_quantity``
        cannot be used.
    """
    if not (isinstance(bin_height, int | float) and math.isfinite(bin_height) and bin_height > 0):
        raise ParameterError("bin_height", f"must be a positive number of metres, got "
                             f"{bin_height!r}")
    check_one_vehicle(samples, "a profile is one flight of one vehicle")
    keys = list(quantities) if quantities else _quantities(samples)
    missing = [k for k in keys if k not in samples.data_vars]
    if missing:
        raise InputError(f"the samples have no {', '.join(missing)} (they have "
                         f"{', '.join(_quantities(samples))})")
    flag = np.asarray(samples["flag"].values) if "flag" in samples else None
    height = np.asarray(samples["height"].values, float)
    use = np.isfinite(height) & ((flag == 0) if flag is not None else True)
    if not use.any():
        raise InputError("no paired readings with a height: nothing to profile")
    times = sample_times(samples)
    values = {}
    for k in keys:
        units = samples[k].attrs.get("units", "")
        values[k] = (converted(samples[k], units, k) if units
                     else np.asarray(samples[k].values, float))
    check = humidity_check(samples, values, times, rh_limit=rh_limit, correct=hygroscopic,
                           kappa=kappa, particle_density=particle_density)
    values.update(check.values)
    top = float(np.nanmax(height[use]))
    nbins = 1 + max(0, round(top / bin_height))  # centres 0 .. the top level
    edges = (np.arange(nbins + 1) - 0.5) * float(bin_height)
    centres = 0.5 * (edges[1:] + edges[:-1])
    h = np.where(use, np.clip(height, 0.0, edges[-1] - 1e-9), np.nan)  # below home: ground
    data: dict[str, xr.DataArray] = {}
    for k in keys:
        v = values[k]
        mean, std, n, _, _ = _bin_stats(h, v, edges)
        attrs = {key: val for key, val in samples[k].attrs.items()
                 if key in ("units", "standard_name", "long_name", "units_metadata")}
        attrs["cell_methods"] = "z: mean"
        if k in check.corrected:
            attrs["comment"] = check.comment
        data[k] = xr.DataArray(mean, dims="z", attrs={**attrs, "ancillary_variables":
                                                       f"{k}_std {k}_count"})
        data[f"{k}_std"] = xr.DataArray(std, dims="z", attrs={
            "units": attrs.get("units", ""), "long_name": f"standard deviation of {k} in the bin",
            "cell_methods": "z: standard_deviation"})
        data[f"{k}_count"] = xr.DataArray(n.astype("int32"), dims="z", attrs={
            "long_name": f"readings of {k} in the bin", "units": "1"})
        covered = n > 0
        data[f"{k}_column_mean"] = xr.DataArray(
            float(np.mean(mean[covered])) if covered.any() else math.nan, attrs={
                "units": attrs.get("units", ""), "cell_methods": "z: mean",
                "long_name": f"column mean of {k} (mean of the bin means)"})
        if k in check.fraction:
            humid = np.where(np.isfinite(v), check.fraction[k].astype(float), np.nan)
            frac = _bin_stats(h, humid, edges)[0]
            data[f"{k}_humid_fraction"] = xr.DataArray(frac, dims="z", attrs={
                "units": "1", "long_name": f"fraction of the {k} readings taken above "
                f"{rh_limit:g} % relative humidity", "relative_humidity_limit": rh_limit})
    mlh_key = mlh_quantity or next((k for k in MLH_QUANTITIES if k in keys), None)
    if mlh_quantity is not None and mlh_quantity not in keys:
        raise ParameterError("mlh_quantity", f"{mlh_quantity!r} is not profiled (have "
                             f"{', '.join(keys)})")
    mlh, sigma = math.nan, math.nan
    if mlh_key is not None:
        mlh, resolution = mixing_layer_height(centres, data[mlh_key].values)
        spread = _bootstrap_mlh(h, values[mlh_key], edges, centres)
        sigma = math.hypot(resolution, spread) if math.isfinite(spread) else resolution
    data["mixing_layer_height"] = xr.DataArray(mlh, attrs={
        "units": "m", "standard_name": "atmosphere_boundary_layer_thickness",
        "long_name": "mixing-layer height above the take-off point (gradient method)",
        "method": f"height of the steepest fall of {mlh_key} with height",
        "ancillary_variables": "mixing_layer_height_uncertainty"})
    data["mixing_layer_height_uncertainty"] = xr.DataArray(sigma, attrs={
        "units": "m", "long_name": "standard uncertainty of the mixing-layer height",
        "comment": f"bin resolution and the spread over {N_BOOTSTRAP} bootstrap resamples "
                   "of the readings in each bin, combined in quadrature"})
    base = top_i = math.nan
    strength = math.nan
    if "temperature" in keys:
        temp_k = converted(xr.DataArray(data["temperature"].values,
                                        attrs={"units": data["temperature"].attrs.get(
                                            "units", "degC")}), "K", "temperature")
        base, top_i, strength = inversion(centres, temp_k)
    data["inversion_strength"] = xr.DataArray(strength, attrs={
        "units": "K", "units_metadata": "temperature: difference",
        "long_name": "temperature rise across the strongest inversion"})
    data["inversion_base"] = xr.DataArray(base, attrs={"units": "m",
                                                       "long_name": "inversion base height"})
    data["inversion_top"] = xr.DataArray(top_i, attrs={"units": "m",
                                                      "long_name": "inversion top height"})
    ok_t = times[use & ~np.isnat(times)]
    lat = np.asarray(samples["lat"].values, float)[use]
    lon = np.asarray(samples["lon"].values, float)[use]
    mid = ok_t.min() + (ok_t.max() - ok_t.min()) // 2 if ok_t.size else np.datetime64("NaT")
    ds = xr.Dataset(data, coords={
        "z": ("z", centres, {"units": "m", "positive": "up", "axis": "Z",
                             "standard_name": "height", "bounds": "z_bounds",
                             "long_name": "height above the take-off point (bin centre)"}),
        "z_bounds": (("z", "nv"), np.stack([edges[:-1], edges[1:]], axis=1), {"units": "m"}),
        "time": ((), mid, {"standard_name": "time", "long_name": "middle of the flight"}),
        "lat": ((), float(np.nanmean(lat)), {"units": "degrees_north",
                                             "standard_name": "latitude"}),
        "lon": ((), float(np.nanmean(lon)), {"units": "degrees_east",
                                             "standard_name": "longitude"}),
        "profile_id": ((), str(samples["trajectory_id"].values[0])
                       if "trajectory_id" in samples else "profile", {"cf_role": "profile_id"}),
    })
    alt = np.asarray(samples["altitude"].values, float)[use] if "altitude" in samples else None
    attrs = global_attributes(
        title="dronesense vertical profile",
        summary=f"Vertical profile of {', '.join(keys)} in {bin_height:g} m height bins, "
                "with the mixing-layer height (gradient method), the strongest inversion and "
                "column means.",
        keywords=["vertical profile", "mixing layer", *keys], history=history,
        source=str(samples.attrs.get("source", "")), featureType="profile",
        bin_height=float(bin_height), mixing_layer_quantity=mlh_key or "",
        relative_humidity_limit=float(rh_limit), hygroscopic_correction=check.comment)
    attrs.update(coverage(lat=lat, lon=lon, altitude=alt, time=ok_t))
    ds.attrs.update(attrs)
    return ds
