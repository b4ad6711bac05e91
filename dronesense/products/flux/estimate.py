"""Mass-balance emission estimate from a downwind curtain flight.

A *curtain* (``dronesense mission curtain``) is a vertical wall of crosswind transects flown
downwind of a source. Everything the source emits is carried through that wall by the wind,
so the emission rate is the surface integral of the flux density over the wall:

.. math::

    Q = \\int_0^{z_{top}} \\int_{s_0}^{s_1} (C(s, z) - C_b)\\, u_\\perp(z)\\, ds\\, dz

with :math:`C - C_b` the enhancement above background as a mass concentration and
:math:`u_\\perp` the wind component normal to the wall. This is the standard
mass-balance ("curtain", "flux plane") method of aircraft and UAV methane quantification
(White et al. 1976; Cambaliza et al. 2014; Nathan et al. 2015; Allen et al. 2019;
Morales et al. 2022). :func:`estimate_flux` does it in steps:

1. **Plane.** Samples are put in the local frame of the home point
   (:class:`dronesense.geo.LocalFrame`); the curtain line is given (``line=``) or fitted to
   the horizontal positions (principal axis, refitted without samples more than
   ``max_offset`` m off the line, so transit legs do not count). ``s`` is the distance
   along the line from its centre, ``z`` the height above home (taken as the ground).
2. **Passes.** Runs of consecutive samples at one height are passes (transects).
3. **Background.** A given value, or the median of the samples on the outer
   ``edge_fraction`` of the curtain at both ends (``edges``, default; uncertainty: half the
   left/right difference and the standard error), or a low ``percentile``.
4. **Interpolation.** The enhancement is interpolated onto an ``(s, z)`` grid by a
   :mod:`dronesense.gridding.methods.base` method (IDW by default, or kriging / block means), from
   the ground to half a level spacing above the top pass. Cells below the lowest pass are
   **extrapolated**: constant from the lowest pass (``ground="constant"``, the usual rule)
   or zero (``ground="zero"``, a lower bound); the flux fraction from these cells is reported.
5. **Concentration.** Mole fractions (``1e-6``, ``1e-9``) become mass concentrations with
   the molar density of air ``p / (R T)``: temperature and pressure from the samples where
   they hold them, otherwise the ICAO standard atmosphere at the curtain's altitude.
   Mass concentrations (``ug m-3``) are used as they are.
6. **Wind.** A :class:`WindProfile`: speed at a reference height, direction, power-law
   exponent. From the user, or from the autopilot's MAVLink ``WIND`` messages in the log
   (:func:`wind_from_tlog`, heights from GLOBAL_POSITION_INT, exponent fitted).
7. **Uncertainty.** Background (± its uncertainty), wind speed and direction (± their
   uncertainties), interpolation (delete-one-pass jackknife), added in quadrature.

Examples
--------
>>> from dronesense.products.flux.estimate import WindProfile, estimate_flux        # doctest: +SKIP
>>> res = estimate_flux(samples, "ch4", wind=WindProfile(3.0, 240.0))  # doctest: +SKIP
>>> print("\\n".join(res.lines()))                                   # doctest: +SKIP
emission ch4: 4.87 g/s ± 0.62 g/s (17.5 kg/h ± 2.2 kg/h)

References
----------
White, W. H. et al. (1976). Formation and transport of secondary air pollutants: ozone and
aerosols in the St. Louis urban plume. Science 194, 187-189.
Cambaliza, M. O. L. et al. (2014). Assessment of uncertainties of an aircraft-based mass
balance approach for quantifying urban greenhouse gas emissions. Atmos. Chem. Phys. 14,
9029-9050.
Nathan, B. J. et al. (2015). Near-field characterization of methane emission variability
from a compressor station using a model aircraft. Environ. Sci. Technol. 49, 7896-7903.
Allen, G. et al. (2019). The development and trial of an unmanned aerial system for the
measurement of methane flux from landfill and greenhouse gas emission hotspots. Waste
Management 87, 883-892.
Morales, R. et al. (2022). Controlled-release experiment to investigate uncertainties in
UAV-based emission quantification for methane point sources. Atmos. Meas. Tech. 15,
2177-2198.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError
from dronesense.geo import LocalFrame
from dronesense.gridding.methods import make_method
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.spec import GridSpec, default_origin
from dronesense.products.flux.air import (
    air_molar_density,
    mass_factor,
    quantity_units,
    standard_atmosphere,
)
from dronesense.products.flux.result import FluxResult, curtain_dataset
from dronesense.products.flux.wind import WindProfile
from dronesense.quantities import display_units

# ----------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------


def _fit_line(x: np.ndarray, y: np.ndarray, t: np.ndarray, max_offset: float):
    """Centre and unit vector of the curtain line from the flight path.

    The transects dominate the path flown along one axis: the axis is the peak of the
    histogram of step headings (mod 180°, weighted by step length), the line's offset the
    peak of the histogram of the cross-axis positions of the steps along that axis. Transit
    legs to and from the curtain neither set the axis nor the offset.
    """
    order = np.argsort(t, kind="stable")
    xs, ys = x[order], y[order]
    dx, dy = np.diff(xs), np.diff(ys)
    step = np.hypot(dx, dy)
    moving = step > 0.2
    if moving.sum() < 5:
        raise NoUsableDataError("the samples do not move along a line: not a curtain flight")
    ang = np.degrees(np.arctan2(dy[moving], dx[moving])) % 180.0
    w = step[moving]
    hist = np.bincount(np.floor(ang).astype(int) % 180, weights=w, minlength=180)
    smooth = sum(np.roll(hist, k) for k in range(-3, 4))
    peak = float(np.argmax(smooth)) + 0.5
    diff = (ang - peak + 90.0) % 180.0 - 90.0
    near = np.abs(diff) <= 6.0
    phi = math.radians(peak + float(np.average(diff[near], weights=w[near])))
    ax, ay = math.cos(phi), math.sin(phi)
    mx = 0.5 * (xs[1:] + xs[:-1])[moving][near]
    my = 0.5 * (ys[1:] + ys[:-1])[moving][near]
    d = -mx * ay + my * ax
    lo = math.floor(d.min())
    dh = np.bincount(np.floor(d - lo).astype(int), weights=w[near])
    dh = sum(np.roll(np.pad(dh, 3), k) for k in range(-2, 3))[3:-3]
    d0 = lo + float(np.argmax(dh)) + 0.5
    close = np.abs(d - d0) <= max_offset / 2
    d0 = float(np.median(d[close]))
    allx, ally = x, y
    dist = -allx * ay + ally * ax - d0
    along = allx * ax + ally * ay
    keep = np.abs(dist) <= max_offset
    mid = 0.5 * (float(np.min(along[keep])) + float(np.max(along[keep])))
    return (mid * ax - d0 * ay, mid * ay + d0 * ax), (float(ax), float(ay))


def _passes(t: np.ndarray, z: np.ndarray, s: np.ndarray, width: float):
    """Pass id per sample (time order), and the heights of the real transects."""
    order = np.argsort(t, kind="stable")
    zs = z[order]
    ts = t[order]
    new = np.ones(zs.size, dtype=bool)
    new[1:] = (np.abs(np.diff(zs)) > 1.0) | (np.diff(ts) > 10.0)
    run = np.cumsum(new) - 1
    ids = np.empty_like(run)
    ids[order] = run
    heights = []
    transects = np.zeros(run.max() + 1, dtype=bool)
    for r in range(run.max() + 1):
        sel = ids == r
        if sel.sum() >= 5 and np.ptp(s[sel]) >= 0.3 * width:
            transects[r] = True
            heights.append(float(np.median(z[sel])))
    return ids, transects, np.array(sorted(heights))


def _check_options(*, max_offset: float, edge_fraction: float, percentile: float,
                   molar_mass: float | None) -> None:
    """One clear line for options outside their meaningful range (NaN included)."""
    if not (max_offset > 0 and math.isfinite(max_offset)):
        raise InputError(f"--max-offset must be a positive distance in metres, got {max_offset}")
    if not 0 < edge_fraction < 0.5:
        raise InputError("--edge-fraction must be between 0 and 0.5 (the outer part of the "
                         f"curtain at each end), got {edge_fraction}")
    if not 0 <= percentile <= 100:
        raise InputError(f"--percentile must be between 0 and 100, got {percentile}")
    if molar_mass is not None and not (molar_mass > 0 and math.isfinite(molar_mass)):
        raise InputError(f"--molar-mass must be a positive number of g/mol, got {molar_mass}")


def _median_on(samples: xr.Dataset, key: str, near: np.ndarray) -> float | None:
    """Median of a quantity over the samples near the curtain (``near`` mask)."""
    if key not in samples:
        return None
    v = np.asarray(samples[key].values, dtype=float)
    ok = np.isfinite(v) & near
    return float(np.median(v[ok])) if ok.sum() >= 3 else None


# ----------------------------------------------------------------------------------------
# The estimate
# ----------------------------------------------------------------------------------------
def _usable(samples: xr.Dataset, key: str):
    if key not in samples:
        have = [k for k, v in samples.data_vars.items() if v.dtype.kind == "f"
                and k not in ("height", "position_gap", "time_boot_ms")]
        raise InputError(f"no {key!r} samples (quantities there: {', '.join(have) or 'none'})")
    v = np.asarray(samples[key].values, dtype=float)
    ok = np.isfinite(v)
    if "flag" in samples:
        ok &= np.asarray(samples["flag"].values) == 0
    lat = np.asarray(samples["lat"].values, dtype=float)
    lon = np.asarray(samples["lon"].values, dtype=float)
    ok &= np.isfinite(lat) & np.isfinite(lon)
    if "height" in samples:
        h = np.asarray(samples["height"].values, dtype=float)
    else:
        raise InputError("samples have no height above home")
    ok &= np.isfinite(h)
    if not ok.any():
        raise NoUsableDataError(f"no paired {key!r} samples with a position")
    if "time_boot_ms" in samples:
        t = np.asarray(samples["time_boot_ms"].values, dtype=float) / 1000.0
    else:
        t = np.arange(v.size, dtype=float)
    return ok, v, lat, lon, h, t


def estimate_flux(
    samples: xr.Dataset,
    quantity: str,
    *,
    wind: WindProfile,
    background: float | None = None,
    background_error: float = 0.0,
    background_method: str = "edges",
    edge_fraction: float = 0.1,
    percentile: float = 5.0,
    method: str | BaseGridder = "idw",
    spacing: tuple[float, float] = (5.0, 2.5),
    ground: str = "constant",
    source: tuple[float, float] | None = None,
    line: tuple[tuple[float, float], tuple[float, float]] | None = None,
    max_offset: float = 20.0,
    molar_mass: float | None = None,
    jackknife: bool = True,
    history: str = "",
) -> FluxResult:
    """Emission rate (g/s) of a source from the samples of a downwind curtain flight.

    Parameters
    ----------
    samples
        Paired samples (the Dataset of :func:`dronesense.samples.dataset.to_dataset`, a file read
        by :func:`dronesense.samples.files.load_dataset`).
    quantity
        Quantity key: a mole fraction (``ch4``, ``co2``, ...) or a mass concentration
        (``pm2p5``...).
    wind
        The wind (:class:`WindProfile`, :func:`parse_wind`, :func:`wind_from_tlog`).
    background
        Background in the quantity's units; ``None`` estimates it (``background_method``).
    background_error
        Uncertainty of a given background.
    background_method
        ``edges`` (median of the outer ``edge_fraction`` of the curtain at both ends) or
        ``percentile`` (the ``percentile``-th percentile of all curtain samples; biased low
        by about 1.6 noise deviations for the 5th).
    method
        Interpolation of the enhancement in ``(s, z)``: ``idw`` (default; ``IDW(k=8,
        anisotropy=1)``), ``kriging``, ``block`` (cell means, empty cells filled by IDW),
        or a :class:`dronesense.gridding.methods.base.BaseGridder`.
    spacing
        ``(ds, dz)`` cell size in metres.
    ground
        Rule below the lowest pass: ``constant`` (the lowest pass's values down to the
        ground) or ``zero``.
    source
        ``(lat, lon)`` of the source: checks that the curtain is downwind of it.
    line
        ``((lat1, lon1), (lat2, lon2))``: the curtain line; default fitted to the samples.
    max_offset
        Samples farther than this (m) from the curtain plane are not used.
    molar_mass
        g/mol for a mole fraction dronesense has no molar mass for.
    jackknife
        Estimate the interpolation uncertainty by leaving out each pass in turn.
    history
        Command line or call, stored in the product.

    Returns
    -------
    FluxResult

    Raises
    ------
    InputError
        No samples of the quantity, too few samples on the curtain, unusable units.

    Examples
    --------
    >>> res = estimate_flux(samples, "ch4", wind=parse_wind("3@240"))  # doctest: +SKIP
    >>> round(res.emission, 1), res.extrapolated_fraction < 0.3        # doctest: +SKIP
    (4.9, True)
    """
    key = quantity
    ok, values, lat, lon, height, tsec = _usable(samples, key)
    units = quantity_units(samples, key)
    kind, factor = mass_factor(units, key, molar_mass)
    if ground not in ("constant", "zero"):
        raise InputError(f"ground rule must be 'constant' or 'zero', not {ground!r}")
    ds_, dz_ = (float(v) for v in spacing)
    if not (ds_ > 0 and dz_ > 0):
        raise InputError(f"spacing must be two positive numbers, got {spacing}")
    _check_options(max_offset=max_offset, edge_fraction=edge_fraction, percentile=percentile,
                   molar_mass=molar_mass)

    origin = default_origin(samples)
    frame = LocalFrame(*origin)
    x_all, y_all, _ = frame.forward(lat, lon)

    # -- the curtain plane ------------------------------------------------------------------
    idx = np.flatnonzero(ok)
    x, y = x_all[idx], y_all[idx]
    if line is not None:
        (la1, lo1), (la2, lo2) = line
        x1, y1, _ = frame.forward(la1, lo1)
        x2, y2, _ = frame.forward(la2, lo2)
        length = math.hypot(float(x2 - x1), float(y2 - y1))
        if length < 1.0:
            raise InputError("--line: the two ends are the same point")
        ax, ay = float(x2 - x1) / length, float(y2 - y1) / length
        centre = (float(x1 + x2) / 2, float(y1 + y2) / 2)
    else:
        if idx.size < 10:
            raise NoUsableDataError(f"only {idx.size} {key} samples: too few for a curtain")
        centre, (ax, ay) = _fit_line(x, y, tsec[idx], max_offset)
    dwe, dwn = wind.downwind
    # normal pointing downwind; along = normal rotated -90 deg (left to right looking downwind)
    nx, ny = -ay, ax
    if nx * dwe + ny * dwn < 0:
        nx, ny = -nx, -ny
    ax, ay = ny, -nx
    cos_theta = nx * dwe + ny * dwn
    theta = math.degrees(math.acos(min(1.0, abs(cos_theta))))

    def plane(xx, yy):
        return ((xx - centre[0]) * ax + (yy - centre[1]) * ay,
                (xx - centre[0]) * nx + (yy - centre[1]) * ny)

    s_all, d_all = plane(x_all, y_all)
    on = np.abs(d_all) <= max_offset
    if line is not None:
        half = length / 2
        on &= np.abs(s_all) <= half + max_offset
    use = ok & on
    if use.sum() < 20:
        raise NoUsableDataError(
            f"only {int(use.sum())} {key} samples within {max_offset:g} m of the curtain plane")
    s, z, v, t = s_all[use], height[use], values[use], tsec[use]
    s_lo, s_hi = (float(s.min()), float(s.max())) if line is None else (-half, half)
    width = s_hi - s_lo
    pass_id, transects, pass_heights = _passes(t, z, s, width)
    if pass_heights.size == 0:
        pass_heights = np.array([float(np.min(z)), float(np.max(z))])
    z_low, z_top = float(pass_heights.min()), float(pass_heights.max())
    level_gap = float(np.median(np.diff(pass_heights))) if pass_heights.size > 1 else dz_
    z_ceiling = z_top + max(level_gap, dz_) / 2

    # -- background ---------------------------------------------------------------------
    edge = edge_fraction * width
    if background is not None:
        b, b_err, b_how = float(background), float(background_error), "given"
    elif background_method == "edges":
        left = v[s <= s_lo + edge]
        right = v[s >= s_hi - edge]
        if left.size < 3 or right.size < 3:
            raise NoUsableDataError("too few samples at the curtain ends for a background: "
                                    "give --background")
        bl, br = float(np.median(left)), float(np.median(right))
        both = np.concatenate([left, right])
        b = float(np.median(both))
        mad = 1.4826 * float(np.median(np.abs(both - b)))
        n_eff = max(1, len(np.unique(pass_id[(s <= s_lo + edge) | (s >= s_hi - edge)])))
        b_err = math.hypot((bl - br) / 2, mad / math.sqrt(n_eff))
        b_how = (f"median of the outer {100 * edge_fraction:g}% at both ends: "
                 f"left {bl:.4g}, right {br:.4g}")
    elif background_method == "percentile":
        b = float(np.percentile(v, percentile))
        lo_, hi_ = np.percentile(v, [max(percentile / 2, 0.5), min(2 * percentile, 50)])
        b_err = float(hi_ - lo_) / 2
        b_how = f"{percentile:g}th percentile of the curtain samples"
    else:
        raise InputError(f"background method must be edges or percentile, "
                         f"not {background_method!r}")
    enh = v - b
    noise = 1.4826 * float(np.median(np.abs(np.diff(v)))) / math.sqrt(2) if v.size > 2 else 0.0

    # -- grid ---------------------------------------------------------------------------
    ns = max(1, math.ceil(width / ds_ - 1e-9))
    s_edges = s_lo + ds_ * np.arange(ns + 1)
    s_edges[-1] = s_hi
    s_c = 0.5 * (s_edges[:-1] + s_edges[1:])
    s_w = np.diff(s_edges)
    nz = max(1, math.ceil(z_ceiling / dz_ - 1e-9))
    z_edges = np.linspace(0.0, z_ceiling, nz + 1)
    z_c = 0.5 * (z_edges[:-1] + z_edges[1:])
    z_w = np.diff(z_edges)
    below = z_c < z_low
    zq = np.where(below, z_low, z_c)
    if ground == "zero":
        zq = z_c
    S, Z = np.meshgrid(s_c, zq)
    spec = GridSpec((ds_, 2.0, dz_), origin,
                    region=(s_lo, s_lo + ns * ds_, -1.0, 1.0, 0.0, nz * dz_))
    gridder = _gridder(method)

    def interpolate(sel) -> np.ndarray:
        m = gridder.clone() if hasattr(gridder, "clone") else gridder
        coords = (s[sel], np.zeros(int(sel.sum())), z[sel])
        m.fit(coords, enh[sel], spec=spec)
        out = m.predict((S.ravel(), np.zeros(S.size), Z.ravel())).reshape(S.shape)
        if np.isnan(out).any():  # block means leave empty cells: fill by IDW of the cells
            from dronesense.gridding.methods.idw import IDW

            good = np.isfinite(out)
            fill = IDW(k=4, anisotropy=1.0).fit(
                (S[good], np.zeros(good.sum()), Z[good]), out[good])
            out[~good] = fill.predict((S[~good], np.zeros((~good).sum()), Z[~good]))
        if ground == "zero":
            out[below, :] = 0.0
        return out

    everything = np.ones(s.size, dtype=bool)
    enh_grid = interpolate(everything)

    # -- air, wind, flux ----------------------------------------------------------------
    alt0 = origin[2]
    p_isa, t_isa = standard_atmosphere(alt0 + z_c)

    t_meas = _median_on(samples, "temperature", on)
    p_meas = _median_on(samples, "pressure", on)
    if kind == "mole_fraction":
        temp_k = (t_meas + 273.15) * np.ones_like(z_c) if t_meas is not None else t_isa
        pres = (p_meas * 100.0) * np.ones_like(z_c) if p_meas is not None else p_isa
        n_air = air_molar_density(pres, temp_k)
        air = ("molar density of air "
               f"{float(np.mean(n_air)):.2f} mol/m3 from "
               + (f"the samples' temperature ({t_meas:.1f} °C)" if t_meas is not None
                  else "the standard-atmosphere temperature")
               + " and "
               + (f"the samples' pressure ({p_meas:.1f} hPa)" if p_meas is not None
                  else f"the standard-atmosphere pressure at {alt0 + z_c.mean():.0f} m AMSL"))
        conv = factor * n_air  # g m-3 per unit of the quantity, per level
    else:
        n_air = np.full_like(z_c, np.nan)
        conv = np.full_like(z_c, factor)
        air = f"mass concentration in {display_units(units, key)}: no conversion"
    u_norm = wind.speed_at(z_c) * abs(cos_theta)
    area = np.outer(z_w, s_w)
    weight = (conv * u_norm)[:, None] * area  # g/s per unit of enhancement in a cell

    def total(grid: np.ndarray) -> float:
        return float(np.sum(grid * weight))

    emission = total(enh_grid)
    flux_density = enh_grid * (conv * u_norm)[:, None]
    extrap = float(np.sum(flux_density[below] * area[below]))
    extrap_frac = extrap / emission if emission > 0 else 0.0

    # -- uncertainty --------------------------------------------------------------------
    unit_total = float(np.sum(weight)) if ground == "constant" else float(
        np.sum(weight[~below]))
    u_bg = abs(b_err) * unit_total
    u_speed = abs(emission) * wind.speed_error / wind.speed
    dtheta = math.radians(wind.direction_error)
    cos_hi = abs(math.cos(math.radians(theta) - dtheta))
    cos_lo = abs(math.cos(min(math.radians(theta) + dtheta, math.pi / 2)))
    c0 = max(abs(cos_theta), 1e-9)
    u_dir = abs(emission) * max(abs(cos_hi - c0), abs(c0 - cos_lo)) / c0
    # interpolation: delete-one-pass jackknife (each transect left out in turn)
    u_interp = 0.0
    jack: list[float] = []
    tids = np.flatnonzero(transects)
    if jackknife and tids.size >= 3:
        for r in tids:
            jack.append(total(interpolate(pass_id != r)))
        jk = np.asarray(jack)
        u_interp = float(math.sqrt((jk.size - 1) / jk.size * np.sum((jk - jk.mean()) ** 2)))
    components = {"background": u_bg, "wind_speed": u_speed, "wind_direction": u_dir,
                  "interpolation": u_interp}
    unc = math.sqrt(sum(c * c for c in components.values()))

    # -- notes --------------------------------------------------------------------------
    notes: list[str] = []
    if abs(cos_theta) < math.cos(math.radians(70)):
        notes.append(f"the wind blows nearly along the curtain ({theta:.0f}° from its normal): "
                     "little air crosses it, so the estimate is close to zero and unreliable; "
                     "check the wind direction or fly the curtain across the wind")
    peak = float(np.nanmax(enh_grid)) if enh_grid.size else 0.0
    info_src: dict[str, Any] = {}
    if source is not None:
        sx, sy, _ = frame.forward(*source)
        ss, sd = plane(float(sx), float(sy))
        info_src = {"source_distance_m": float(-sd), "source_offset_m": float(ss)}
        if sd > 0:
            notes.append(f"the curtain is upwind of the source ({float(sd):.0f} m): the plume "
                         "cannot cross it, the estimate is not the source's emission")
    detected = peak > 5 * max(noise, abs(b_err))
    if not detected:
        notes.append(f"no plume on the curtain: peak enhancement {peak:.3g} "
                     f"{display_units(units, key)} is within 5 noise deviations ({noise:.2g}); "
                     f"{emission:.3g} ± {unc:.2g} g/s is consistent with zero emission "
                     "through this curtain")
    elif emission < 2 * unc and abs(cos_theta) >= math.cos(math.radians(70)):
        notes.append(f"the emission is not significantly above zero ({emission:.3g} ± "
                     f"{unc:.2g} g/s) although a plume is seen (peak {peak:.3g} "
                     f"{display_units(units, key)})")
    if detected and emission > 0:
        top_row = enh_grid[-1].mean()
        col_max = enh_grid.mean(axis=0)
        if top_row > 0.1 * enh_grid.mean(axis=1).max():
            notes.append("the plume is not closed at the top: the top pass still sees "
                         f"{100 * top_row / enh_grid.mean(axis=1).max():.0f}% of the largest "
                         "level-mean enhancement; fly higher (the estimate is low)")
        edge_frac = max(col_max[0], col_max[-1]) / max(col_max.max(), 1e-300)
        if edge_frac > 0.1:
            notes.append("the plume is not closed at the sides: the curtain ends still see "
                         f"{100 * edge_frac:.0f}% of the largest column-mean enhancement; "
                         "fly wider (the estimate is low, the background high)")
        if extrap_frac > 0.3:
            notes.append(f"{100 * extrap_frac:.0f}% of the flux is extrapolated below the "
                         f"lowest pass ({z_low:.1f} m): fly lower if you can")

    # -- product ------------------------------------------------------------------------
    lat_s, lon_s, _ = frame.inverse(centre[0] + s_c * ax, centre[1] + s_c * ay)
    clat, clon, _ = frame.inverse(centre[0], centre[1])
    azimuth = math.degrees(math.atan2(ax, ay)) % 360.0
    gridder_repr = repr(gridder)
    if isinstance(method, str) and method == "block":
        gridder_repr += " (empty cells by IDW)"
    count = np.histogram2d(z, s, bins=(z_edges, s_edges))[0].astype(np.int32)
    info: dict[str, Any] = {
        "units": units,
        "display_units": display_units(units, key),
        "background": b,
        "background_error": b_err,
        "background_method": b_how,
        "peak_enhancement": peak,
        "noise": noise,
        "air": air,
        "wind": wind.describe(),
        "wind_speed": wind.speed,
        "wind_from_deg": wind.from_deg,
        "wind_exponent": wind.exponent,
        "wind_reference_height": wind.reference_height,
        "wind_angle_deg": theta,
        "method": gridder_repr,
        "spacing": [ds_, dz_],
        "ground": ("constant from the lowest pass" if ground == "constant"
                   else "zero (lower bound)"),
        "centre_lat": float(clat),
        "centre_lon": float(clon),
        "azimuth_deg": azimuth,
        "width_m": width,
        "top_m": z_ceiling,
        "passes": int(transects.sum()),
        "lowest_pass_m": z_low,
        "top_pass_m": z_top,
        "samples": int(s.size),
        "jackknife_passes": len(jack),
        **info_src,
    }
    grid = curtain_dataset(key, units, kind, s_c, z_c, s_edges, z_edges, lat_s, lon_s, enh_grid,
                    flux_density, conv, u_norm, n_air, below, count, frame, samples,
                    emission, unc, components, extrap_frac, info, notes, history)
    return FluxResult(key, emission, unc, components, extrap_frac, grid, notes, info)


def _gridder(method: str | BaseGridder) -> BaseGridder:
    if isinstance(method, BaseGridder):
        return method
    if method == "idw":
        return make_method("idw", k=8, anisotropy=1.0)
    if method == "kriging":
        return make_method("kriging", anisotropy=1.0)
    if method == "block":
        return make_method("block")
    raise InputError(f"interpolation method must be idw, kriging or block, not {method!r}")
