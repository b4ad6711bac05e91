"""Carbon-balance emission factors of a stack plume, pass by pass and for the flight.

A drone crossing a plume sees every gas of the flue gas rise above its background together.
:func:`emission_factors` finds the plume passes from the CO2 enhancement, integrates each
gas's enhancement over each pass, and reports the emission ratio to CO2 and the emission
factor by the carbon balance, as EPA's Kolibri sampler studies (Aurell, Gullett et al.) do:

    ER_X = integral(X - X_bg) dt / integral(CO2 - CO2_bg) dt                  (mol/mol)
    EF_X = ER_X / (1 + sum of ER of the other carbon gases) * M_X / M_C * 1000  (g/kg C)

i.e. grams of X per kilogram of carbon burned, assuming (as the method does) that the carbon
of the fuel leaves as CO2 plus the measured carbon gases (CO, CH4). With the carbon fraction
of the fuel, ``carbon_fraction=``, the factors are also given per kilogram of fuel.

Steps: the CO2 background is robust (median and scaled median absolute deviation,
iterated, of the readings outside the plume); the background of another gas is its value at
background CO2 on the straight line through its readings outside the passes against the CO2
enhancement (the plume's faint edges stay outside the passes and would raise a median);
readings whose CO2 enhancement exceeds ``threshold`` (default three background standard
deviations, at least 1 ppm) start a pass; passes closer than
``merge_s`` join; each is widened by ``pad_s`` on both sides (a lagging sensor's tail). Each
gas is put on the CO2 times by linear interpolation (never extrapolated). The uncertainty of
a pass combines the noise of both integrals (background standard deviation times the
interval times the square root of the readings) and of both backgrounds; the flight's value
is the ratio of the summed integrals, with the standard error of the pass values (or the
propagated one, with one pass) combined with the backgrounds' uncertainty, which all passes
share. :func:`compare_with_cems` sets the stack's own readings beside
them.

Examples
--------
>>> carbon_balance_factor(0.002, "so2", carbon_ratios=[0.0005])   # g SO2 per kg C
10.66
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from dronesense.errors import InputError, NoUsableDataError, ParameterError
from dronesense.metadata import global_attributes
from dronesense.products.sample_series import (
    check_one_vehicle,
    interpolate_in_time,
    quantity_series,
    sample_times,
)

__all__ = ["CARBON_GASES", "MOLAR_MASS", "carbon_balance_factor", "compare_with_cems",
           "emission_factors", "robust_background"]

#: molar masses, g/mol
MOLAR_MASS = {"co2": 44.009, "co": 28.010, "ch4": 16.043, "so2": 64.066, "no2": 46.006,
              "no": 30.006, "nh3": 17.031, "h2s": 34.08, "voc": 78.11}
M_CARBON = 12.011
#: carbon gases counted in the carbon balance besides CO2 (one carbon atom each)
CARBON_GASES = ("co", "ch4")
#: longest gap (s) between two readings of a gas interpolated onto a CO2 time
MAX_INTERVAL_S = 5.0
#: seconds after a pass left out of a gas's background (a slower sensor's tail)
GUARD_S = 10.0


def carbon_balance_factor(ratio: float, gas: str, carbon_ratios: Sequence[float] = ()) -> float:
    """Emission factor (g per kg of carbon) of a gas from its molar emission ratio to CO2 and
    the ratios of the other carbon gases (rounded to 4 significant digits in the example)."""
    ef = ratio / (1.0 + sum(carbon_ratios)) * MOLAR_MASS[gas] / M_CARBON * 1000.0
    return float(f"{ef:.4g}")


def robust_background(values: np.ndarray, rounds: int = 4) -> tuple[float, float]:
    """``(background, standard deviation)`` of readings mostly at background with excursions
    upwards: median and 1.4826 x median absolute deviation, recomputed on the readings below
    background + 3 standard deviations."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    keep = v
    bg, sd = float(np.median(v)), 0.0
    for _ in range(rounds):
        bg = float(np.median(keep))
        sd = float(1.4826 * np.median(np.abs(keep - bg)))
        nxt = v[v < bg + 3 * max(sd, 1e-12)]
        if nxt.size < 3 or nxt.size == keep.size:
            break
        keep = nxt
    return bg, sd


def _passes(t: np.ndarray, enh: np.ndarray, threshold: float, merge_ns: int, pad_ns: int,
            min_ns: int) -> list[tuple[int, int]]:
    """Index ranges [i0, i1) of the passes on the CO2 times ``t``."""
    inside = enh > threshold
    runs, start = [], None
    for i, flag in enumerate(inside):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append([t[start], t[i - 1]])
            start = None
    if start is not None:
        runs.append([t[start], t[-1]])
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= merge_ns:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        i0 = int(np.searchsorted(t, a - pad_ns, side="left"))
        i1 = int(np.searchsorted(t, b + pad_ns, side="right"))
        if b - a >= min_ns and i1 - i0 >= 3:
            out.append((i0, i1))
    return out


def _integral(t_ns: np.ndarray, v: np.ndarray) -> float:
    s = (t_ns - t_ns[0]) / 1e9
    return float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(s)))


def _check_positive(name: str, value, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        raise ParameterError(name, f"must be a number >= 0, got {value!r}")


def emission_factors(samples, gases: Sequence[str] | None = None, *, co2: str = "co2",
                     threshold: float | None = None, merge_s: float = 5.0, pad_s: float = 3.0,
                     min_pass_s: float = 2.0, carbon_fraction: float | None = None,
                     history: str = "") -> xr.Dataset:
    """Emission ratios and carbon-balance emission factors of the gases of a stack plume.

    Parameters
    ----------
    samples
        Samples Dataset of one flight crossing the plume (CO2 and the other gases as mole
        fractions).
    gases
        Gas keys (default: every mole-fraction quantity of the samples but CO2).
    co2
        The CO2 quantity key.
    threshold
        CO2 enhancement (ppm) that marks the plume (default: three background standard
        deviations, at least 1 ppm).
    merge_s, pad_s, min_pass_s
        Passes closer than ``merge_s`` seconds join; each is widened by ``pad_s`` on both
        sides; shorter ones (above threshold) are dropped.
    carbon_fraction
        Mass fraction of carbon in the fuel (0-1), to give factors per kilogram of fuel.

    Returns
    -------
    xarray.Dataset
        Dimension ``pass``: ``pass_start``, ``pass_end``, ``co2_enhancement_integral`` and per
        gas ``<x>_emission_ratio`` (mol/mol), ``<x>_emission_factor`` (g kg-1 of carbon), each
        with ``_uncertainty``; flight values ``<x>_flight_emission_ratio`` /
        ``<x>_flight_emission_factor`` (+ ``_uncertainty``), ``<x>_flight_emission_factor_fuel``
        with ``carbon_fraction``; backgrounds and the threshold as attributes.

    Raises
    ------
    InputError
        No CO2 or no gas in the samples, units that are not mole fractions.
    NoUsableDataError
        No plume pass found.
    ParameterError
        ``threshold``, ``merge_s``, ``pad_s``, ``min_pass_s``, ``carbon_fraction``.
    """
    for name, value in (("threshold", threshold), ("merge_s", merge_s), ("pad_s", pad_s),
                        ("min_pass_s", min_pass_s), ("carbon_fraction", carbon_fraction)):
        _check_positive(name, value)
    if carbon_fraction is not None and not 0 < carbon_fraction <= 1:
        raise ParameterError("carbon_fraction", f"must be in (0, 1], got {carbon_fraction}")
    check_one_vehicle(samples, "emission factors are estimated flight by flight")
    if co2 not in samples.data_vars:
        raise InputError(f"the samples have no {co2}: emission factors need CO2")
    if gases is None:
        gases = [k for k, var in samples.data_vars.items()
                 if k != co2 and var.dims == ("obs",) and k in MOLAR_MASS]
    gases = list(gases)
    missing = [g for g in gases if g not in samples.data_vars or g not in MOLAR_MASS]
    if missing or not gases:
        raise InputError(f"no gas to compare with CO2 ({', '.join(missing) or 'none given'}; "
                         f"known gases: {', '.join(sorted(MOLAR_MASS))})")
    times = sample_times(samples)
    t, c = quantity_series(samples, samples[co2], "1", co2, times)
    if t.size < 10:
        raise NoUsableDataError(f"only {t.size} CO2 readings with a time")
    bg_c, sd_c = robust_background(c)
    thr = (threshold * 1e-6) if threshold is not None else max(3 * sd_c, 1e-6)
    passes = _passes(t, c - bg_c, thr, int(merge_s * 1e9), int(pad_s * 1e9),
                     int(min_pass_s * 1e9))
    if not passes:
        raise NoUsableDataError(f"no plume pass: CO2 never rose {thr * 1e6:.3g} ppm above its "
                                f"background of {bg_c * 1e6:.4g} ppm")
    in_pass = np.zeros(t.size, bool)
    near = np.zeros(t.size, bool)  # passes and a guard of GUARD_S after each (sensor tails)
    for i0, i1 in passes:
        in_pass[i0:i1] = True
        near[i0:int(np.searchsorted(t, t[i1 - 1] + int(GUARD_S * 1e9), side="right"))] = True
    bg_c, sd_c = robust_background(c[~in_pass]) if (~in_pass).sum() >= 10 else (bg_c, sd_c)
    n_bg_c = max(int((~in_pass).sum()), 1)
    dt = float(np.median(np.diff(t))) / 1e9
    ic = np.array([_integral(t[a:b], c[a:b] - bg_c) for a, b in passes])
    uc = np.array([math.hypot(sd_c * dt * math.sqrt(b - a),
                              sd_c / math.sqrt(n_bg_c) * (t[b - 1] - t[a]) / 1e9)
                   for a, b in passes])
    data: dict[str, xr.DataArray] = {
        "pass_start": xr.DataArray(np.array([t[a] for a, _ in passes], "datetime64[ns]"),
                                   dims="pass", attrs={"long_name": "start of the pass (UTC)"}),
        "pass_end": xr.DataArray(np.array([t[b - 1] for _, b in passes], "datetime64[ns]"),
                                 dims="pass", attrs={"long_name": "end of the pass (UTC)"}),
        "co2_enhancement_integral": xr.DataArray(ic * 1e6, dims="pass", attrs={
            "units": "1e-6 s", "long_name": "CO2 enhancement integrated over the pass"}),
    }
    ratios, ratio_u, flight = {}, {}, {}
    backgrounds = {co2: bg_c * 1e6}
    for g in gases:
        tg, vg = quantity_series(samples, samples[g], "1", g, times)
        on_c = interpolate_in_time(t, tg, vg, max_interval_ns=int(MAX_INTERVAL_S * 1e9))
        out_mask = ~near & np.isfinite(on_c)
        if out_mask.sum() >= 10:  # the plume's faint edges lie outside the passes too:
            # the background is the gas at background CO2 on the line through them
            fit, res = np.polyfit(c[out_mask] - bg_c, on_c[out_mask], 1, full=True)[:2]
            bg_g = float(fit[1])
            sd_g = float(np.sqrt(res[0] / (out_mask.sum() - 2))) if res.size else 0.0
        else:
            bg_g, sd_g = robust_background(vg)
        n_bg_g = max(int(out_mask.sum()), 1)
        backgrounds[g] = bg_g * 1e9
        ig, ug = [], []
        for a, b in passes:
            seg = on_c[a:b] - bg_g
            ok = np.isfinite(seg)
            ig.append(_integral(t[a:b][ok], seg[ok]) if ok.sum() >= 2 else math.nan)
            ug.append(math.hypot(sd_g * dt * math.sqrt(b - a),
                                 sd_g / math.sqrt(n_bg_g) * (t[b - 1] - t[a]) / 1e9))
        ig, ug = np.array(ig), np.array(ug)
        er = ig / ic
        ratios[g] = er
        ratio_u[g] = np.abs(er) * np.hypot(ug / np.where(ig != 0, ig, np.nan), uc / ic)
        ok = np.isfinite(ig)
        flight[g] = (float(np.sum(ig[ok]) / np.sum(ic[ok])) if ok.any() else math.nan,
                     float(np.sqrt(np.sum(ug[ok] ** 2))), float(np.sqrt(np.sum(uc[ok] ** 2))),
                     float(np.sum(ig[ok])), float(np.sum(ic[ok])), sd_g / math.sqrt(n_bg_g))
    carbon = [g for g in gases if g in CARBON_GASES]
    duration = sum((t[b - 1] - t[a]) / 1e9 for a, b in passes)
    for g in gases:
        others = [ratios[k] for k in carbon if k != g] + ([ratios[g]] if g in carbon else [])
        denom = 1.0 + (np.nansum(others, axis=0) if others else 0.0)
        scale = MOLAR_MASS[g] / M_CARBON * 1000.0
        ef = ratios[g] / denom * scale
        ef_u = ratio_u[g] / denom * scale
        f_er, u_ig, u_ic, s_ig, s_ic, u_bg = flight[g]
        prop = abs(f_er) * math.hypot(u_ig / s_ig if s_ig else math.nan, u_ic / s_ic)
        # the backgrounds are shared by every pass: their error does not average out
        common = math.hypot(u_bg, f_er * sd_c / math.sqrt(n_bg_c)) * duration / s_ic
        f_others = [flight[k][0] for k in carbon if k != g] + ([f_er] if g in carbon else [])
        f_scale = scale / (1.0 + sum(f_others))
        n_ok = int(np.isfinite(ef).sum())
        if n_ok >= 2:
            f_u = math.hypot(float(np.nanstd(ratios[g], ddof=1) / math.sqrt(n_ok)), common)
        else:
            f_u = math.hypot(prop, common)
        attrs_er = {"units": "1", "long_name": f"molar emission ratio d{g.upper()}/dCO2"}
        attrs_ef = {"units": "g kg-1", "long_name": f"emission factor of {g.upper()}, grams "
                    "per kilogram of carbon burned (carbon balance)"}
        data[f"{g}_emission_ratio"] = xr.DataArray(ratios[g], dims="pass", attrs=attrs_er)
        data[f"{g}_emission_ratio_uncertainty"] = xr.DataArray(ratio_u[g], dims="pass",
                                                               attrs={"units": "1"})
        data[f"{g}_emission_factor"] = xr.DataArray(ef, dims="pass", attrs=attrs_ef)
        data[f"{g}_emission_factor_uncertainty"] = xr.DataArray(ef_u, dims="pass",
                                                                attrs={"units": "g kg-1"})
        data[f"{g}_flight_emission_ratio"] = xr.DataArray(f_er, attrs=attrs_er)
        data[f"{g}_flight_emission_ratio_uncertainty"] = xr.DataArray(f_u, attrs={
            "units": "1", "comment": "standard error of the pass ratios (propagated noise "
                                     "with one pass) and the backgrounds' uncertainty, "
                                     "combined in quadrature"})
        data[f"{g}_flight_emission_factor"] = xr.DataArray(f_er * f_scale, attrs=attrs_ef)
        data[f"{g}_flight_emission_factor_uncertainty"] = xr.DataArray(f_u * f_scale, attrs={
            "units": "g kg-1"})
        data[f"{g}_pass_emission_factor_std"] = xr.DataArray(
            float(np.nanstd(ef, ddof=1)) if n_ok >= 2 else math.nan, attrs={
                "units": "g kg-1", "long_name": "standard deviation of the pass factors"})
        if carbon_fraction is not None:
            data[f"{g}_flight_emission_factor_fuel"] = xr.DataArray(
                f_er * f_scale * carbon_fraction, attrs={
                    "units": "g kg-1", "long_name": f"emission factor of {g.upper()}, grams "
                    f"per kilogram of fuel (carbon fraction {carbon_fraction:g})"})
    ds = xr.Dataset(data)
    ds.attrs.update(global_attributes(
        title="dronesense stack emission factors",
        summary=f"Carbon-balance emission factors of {', '.join(gases)} from {len(passes)} "
                "plume passes segmented by the CO2 enhancement.",
        keywords=["emission factor", "carbon balance", "stack plume", *gases],
        history=history, source=str(samples.attrs.get("source", "")),
        co2_background_ppm=round(bg_c * 1e6, 4),
        co2_threshold_ppm=round(thr * 1e6, 4),
        backgrounds=", ".join(f"{k} {v:.6g} {'ppm' if k == co2 else 'ppb'}"
                              for k, v in backgrounds.items()),
        carbon_gases=", ".join(["co2", *carbon]),
        time_coverage_start=str(t[0].astype("datetime64[ns]"))[:19] + "Z",
        time_coverage_end=str(t[-1].astype("datetime64[ns]"))[:19] + "Z"))
    return ds


def compare_with_cems(result: xr.Dataset, cems: xr.Dataset, *,
                      start=None, end=None) -> xr.Dataset:
    """The flight's emission ratios beside the stack's own (CEMS / TMS) readings.

    ``cems`` holds the stack readings over ``time`` (``co2`` and the gases as mole
    fractions, :func:`dronesense.sources.cems.read_cems`); readings between ``start`` and
    ``end`` (default: the flight's time coverage, widened to the readings around it) give
    the stack's ratio X/CO2 (mean and standard deviation of the per-reading ratios). Adds
    ``<x>_cems_emission_ratio`` (+ ``_std``), ``<x>_cems_emission_factor`` and
    ``<x>_drone_over_cems`` for every gas in both.
    """
    if "co2" not in cems.data_vars:
        raise InputError("the stack readings have no CO2: the stack ratio needs it")
    t = cems["time"].values.astype("datetime64[ns]")
    t0 = np.datetime64(start or result.attrs["time_coverage_start"].rstrip("Z"), "ns")
    t1 = np.datetime64(end or result.attrs["time_coverage_end"].rstrip("Z"), "ns")
    sel = (t >= t0) & (t <= t1)
    if not sel.any():  # readings are averages: take the ones around the flight
        before, after = np.flatnonzero(t <= t0), np.flatnonzero(t >= t1)
        idx = ([before[-1]] if before.size else []) + ([after[0]] if after.size else [])
        sel[idx] = True
    if not sel.any():
        raise InputError(f"no stack reading near the flight ({t0} to {t1})")
    from dronesense.products.sample_series import converted

    c = converted(cems["co2"], "1", "co2")[sel]
    out = result.copy()
    gases = [k.removesuffix("_flight_emission_ratio") for k in result.data_vars
             if k.endswith("_flight_emission_ratio")]
    carbon = {g: float(np.nanmean(converted(cems[g], "1", g)[sel] / c))
              for g in CARBON_GASES if g in cems.data_vars}
    done = []
    for g in gases:
        if g not in cems.data_vars:
            continue
        x = converted(cems[g], "1", g)[sel]
        r = x / c
        mean = float(np.nanmean(r))
        others = sum(v for k, v in carbon.items() if k != g) + (mean if g in CARBON_GASES
                                                                else 0.0)
        ef = mean / (1.0 + others) * MOLAR_MASS[g] / M_CARBON * 1000.0
        drone = float(result[f"{g}_flight_emission_ratio"])
        out[f"{g}_cems_emission_ratio"] = xr.DataArray(mean, attrs={
            "units": "1", "long_name": f"{g.upper()}/CO2 of the stack's own readings"})
        out[f"{g}_cems_emission_ratio_std"] = xr.DataArray(
            float(np.nanstd(r, ddof=1)) if r.size > 1 else math.nan, attrs={"units": "1"})
        out[f"{g}_cems_emission_factor"] = xr.DataArray(ef, attrs={"units": "g kg-1"})
        out[f"{g}_drone_over_cems"] = xr.DataArray(drone / mean if mean else math.nan, attrs={
            "units": "1", "long_name": f"drone emission ratio of {g.upper()} over the stack's"})
        done.append(g)
    if not done:
        raise InputError(f"the stack readings have none of {', '.join(gases)}")
    out.attrs["cems_comparison"] = (f"{int(sel.sum())} stack readings from "
                                    f"{str(t[sel][0])[:19]}Z to {str(t[sel][-1])[:19]}Z; "
                                    f"gases {', '.join(done)}")
    return out
