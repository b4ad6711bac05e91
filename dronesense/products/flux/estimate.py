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
2. **Passes and curtains.** The track is cut into legs at its along-line turning points,
   time gaps and height changes (:mod:`~dronesense.products.flux.segments`); legs long enough
   are passes (transects). Consecutive passes on one line make a curtain; a flight with
   several curtains gives one estimate per curtain (``curtain=`` picks one) and a combined
   figure where the curtains agree (:mod:`~dronesense.products.flux.curtains`). ``window``
   keeps a stretch of the flight.
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
6. **Wind.** A :class:`~dronesense.products.flux.wind.WindProfile`: speed at a reference
   height, direction, power-law exponent; its component normal to the curtain. From the user
   (a profile, ``"3.2±0.3@240±10"`` text or a ``(speed, from_deg)`` pair:
   :func:`~dronesense.products.flux.wind.as_wind`), or fitted to the autopilot's MAVLink
   ``WIND`` messages (:func:`dronesense.sources.wind.read_wind_reports`, then
   :func:`~dronesense.products.flux.wind.wind_from_reports`: exponent fitted), or a wind
   **series** (a mast, a ground or drone-borne sonic: :mod:`dronesense.sources.wind`,
   :mod:`dronesense.sources.onboard_wind`) interpolated to each sample's time and projected on
   the curtain normal sample by sample (:mod:`~dronesense.products.flux.wind_series`).
7. **Uncertainty.** Background (± its uncertainty), wind speed and direction (± their
   uncertainties), interpolation (delete-one-pass jackknife, widened by Student's t for the
   number of passes that carry the flux; with fewer than 3 passes a note says it is not
   estimable), ground extrapolation (the flux below the lowest pass, uniform between the
   constant rule and the trend of the two lowest passes), added in quadrature
   (:mod:`~dronesense.products.flux.budget`).

Each step is a module of :mod:`dronesense.products.flux`: ``inputs``, ``plane``,
``background``, ``interpolation``, ``air``, ``wind``, ``budget``, ``notes``; this module runs
them in turn (:func:`estimate_flux`).

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

import numpy as np
import xarray as xr

from dronesense.errors import NoUsableDataError, ParameterError
from dronesense.geo import LocalFrame
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.spec import default_origin
from dronesense.products.flux.air import mass_factor, quantity_units
from dronesense.products.flux.curtains import (
    Track,
    check_source,
    combine,
    describe_window,
    in_window,
    sample_winds,
    source_position,
    time_span,
)
from dronesense.products.flux.inputs import check_parameters, usable_samples
from dronesense.products.flux.plane import orient
from dronesense.products.flux.result import FluxResult
from dronesense.products.flux.wall import WallOptions, estimate_wall
from dronesense.products.flux.wind import WindProfile

__all__ = ["estimate_flux"]


def estimate_flux(
    samples: xr.Dataset,
    quantity: str,
    *,
    wind: WindProfile | str | tuple[float, float],
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
    window: tuple | None = None,
    curtain: int | None = None,
    wind_exponent: float = 0.0,
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
        The wind: a :class:`~dronesense.products.flux.wind.WindProfile` (e.g. from
        :func:`~dronesense.products.flux.wind.wind_from_reports`), text
        ``SPEED[±ERR]@FROM_DEG[±ERR]`` or a ``(speed, from_deg)`` pair at 10 m, uniform with
        height (:func:`~dronesense.products.flux.wind.as_wind`), or a wind series
        (:class:`~dronesense.products.flux.wind_series.WindSeriesLike`, e.g.
        :func:`dronesense.sources.windfile.read_wind_csv`,
        :func:`dronesense.sources.onboard_wind.earth_wind`): per-sample wind.
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
    window
        ``(start, end)``: only samples in this UTC interval (ISO 8601 text,
        ``numpy.datetime64`` or ``datetime``; either end ``None`` for open).
    curtain
        With several curtains in the flight: the index (0 = first flown) of the one to
        estimate; ``None`` estimates each and combines them where valid.
    wind_exponent
        Power law scaling a wind series from its measurement height to each sample's height
        (0: none; a series measured on the vehicle is never scaled).

    Returns
    -------
    FluxResult

    Raises
    ------
    ParameterError
        A parameter out of its range, named (``max_offset``, ``edge_fraction``, ``wind``...).
    InputError
        No samples of the quantity, unusable units.
    NoUsableDataError
        Too few samples on the curtain, or at its ends for a background.

    Examples
    --------
    A curtain 100 m east of home, across a wind of 3 m/s from the west: ten passes from 4 to
    40 m, 1 m apart along 160 m, through a Gaussian plume of PM2.5 (100 ug/m3 at its centre,
    20 m up, σ 15 m across and 6 m in height) on a background of 10 ug/m3. The emission is
    the plume's cross-section integral times the wind: 100e-6 g/m3 · 2π · 15 · 6 m2 · 3 m/s.

    >>> import math
    >>> s = np.linspace(-80.0, 80.0, 161)
    >>> passes = [(z, s if k % 2 == 0 else s[::-1]) for k, z in enumerate(range(4, 41, 4))]
    >>> north = np.concatenate([p for _, p in passes])
    >>> height = np.concatenate([np.full(p.size, float(z)) for z, p in passes])
    >>> pm = 10.0 + 100.0 * np.exp(-0.5 * (north / 15.0) ** 2 - 0.5 * ((height - 20.0) / 6.0) ** 2)
    >>> lat, lon, _ = LocalFrame(52.0, 5.0, 0.0).inverse(np.full(north.size, 100.0), north)
    >>> samples = xr.Dataset({
    ...     "pm2p5": ("obs", pm, {"units": "ug m-3"}), "lat": ("obs", lat),
    ...     "lon": ("obs", lon), "height": ("obs", height),
    ...     "time_boot_ms": ("obs", 1000.0 * np.arange(north.size))})
    >>> res = estimate_flux(samples, "pm2p5", wind="3@270", spacing=(4.0, 2.0))
    >>> true = 100e-6 * 2 * math.pi * 15.0 * 6.0 * 3.0
    >>> round(true, 3), round(res.emission, 3), abs(res.emission - true) < 0.02 * true
    (0.17, 0.17, True)
    >>> res.lines()[0]
    'emission pm2p5: 0.17 g/s ± 0.024 g/s (0.613 kg/h ± 0.085 kg/h)'
    >>> res.info["passes"], round(res.info["background"], 3), res.notes
    (10, 10.0, [])
    """
    use = usable_samples(samples, quantity)
    units = quantity_units(samples, quantity)
    kind, _ = mass_factor(units, quantity, molar_mass)  # units checked before parameters
    spacing = check_parameters(max_offset=max_offset, edge_fraction=edge_fraction,
                               percentile=percentile, molar_mass=molar_mass, ground=ground,
                               spacing=spacing)
    ok = use.ok & in_window(samples, window)
    if not ok.any():
        raise NoUsableDataError(f"no usable {quantity} samples "
                                f"{describe_window(samples, window)}")
    origin = default_origin(samples)
    frame = LocalFrame(*origin)
    x, y, _ = frame.forward(use.lat, use.lon)
    check_source(frame, source)
    sample_wind, profile = sample_winds(samples, use, ok, wind, wind_exponent)
    opts = WallOptions(quantity, units, kind, background, background_error, background_method,
                       edge_fraction, percentile, method, spacing, ground, molar_mass,
                       jackknife, history)
    track = Track(x, y, use, ok, max_offset, quantity, spacing[1])
    walls = track.walls(frame, line, profile.downwind)
    if curtain is not None:
        if not (isinstance(curtain, int | np.integer) and 0 <= curtain < len(walls)):
            raise ParameterError("curtain", f"must be an index from 0 to {len(walls) - 1} (the "
                                 f"flight has {len(walls)} curtain{'s' * (len(walls) != 1)}), "
                                 f"got {curtain!r}")
        walls = [walls[curtain]]
    results = []
    for k, (plane, wall) in enumerate(walls):
        near = plane.near(*plane.project(x, y), max_offset)
        w = (profile if sample_wind is None else sample_wind.mean_profile(
            wall.index, n_independent=max(1, int(wall.passes.transects.sum()))))
        if sample_wind is not None:
            plane = orient(plane.centre, plane.along, w.downwind, plane.half_length)
        extra = {"curtain": k if curtain is None else int(curtain),
                 **time_span(samples, wall.index), **(source_position(frame, plane, source) or {})}
        results.append(estimate_wall(samples, wall, plane, frame, origin, near, w,
                                     sample_wind, opts, extra))
    return results[0] if len(results) == 1 else combine(results)

