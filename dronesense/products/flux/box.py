"""Net flux through a closed box of walls around an area source (box flight).

A box flight (``dronesense mission box-flux``) flies closed loops around the source at
several heights. The track is cut into legs at its corners
(:func:`~dronesense.products.flux.segments.find_legs`); legs along the two main axes on either
side of the box's centre make its four walls. Each wall is estimated as a curtain
(:func:`~dronesense.products.flux.wall.estimate_wall`) with its normal pointing **out** of the
box, so the flux through an upwind wall is negative: the net flux (the sum over the walls) is
what the box emits, the air that came in subtracted. One background serves all walls: the
median of the samples on the upwind walls (the air coming in).

Uncertainty, as for a curtain: the common background error and wind direction error are
propagated through the whole box (each wall estimated again with the background raised by
its uncertainty, or the wind turned by its direction uncertainty), the wind speed error is
relative, and each wall's interpolation (pass jackknife) and ground-extrapolation parts are
added in quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from dronesense.errors import NoUsableDataError
from dronesense.geo import LocalFrame
from dronesense.gridding.spec import default_origin
from dronesense.products.flux.air import mass_factor, quantity_units
from dronesense.products.flux.curtains import check_source, in_window, sample_winds, time_span
from dronesense.products.flux.inputs import check_parameters, usable_samples
from dronesense.products.flux.plane import CurtainPlane, Passes
from dronesense.products.flux.result import FluxResult
from dronesense.products.flux.segments import Leg, find_legs, main_axis
from dronesense.products.flux.wall import PASS_SCATTER, Wall, WallOptions, estimate_wall
from dronesense.products.flux.wind import WindProfile
from dronesense.products.flux.wind_series import SampleWind

__all__ = ["BoxFlux", "estimate_box_flux"]

#: Sides of the box, by axis and sign.
SIDES = {(0, 1): "side A+", (0, -1): "side A-", (1, 1): "side B+", (1, -1): "side B-"}


@dataclass
class BoxFlux(FluxResult):
    """The net flux out of a box and each wall's flux (outward positive, ``walls``)."""

    walls: list[FluxResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        i = self.info
        out = [f"net emission {self.quantity} out of the box: {self.emission:.3g} g/s ± "
               f"{self.uncertainty:.2g} g/s ({self.emission_kg_h:.3g} kg/h ± "
               f"{self.uncertainty_kg_h:.2g} kg/h)",
               "  uncertainty parts (g/s): " + ", ".join(
                   f"{k.replace('_', ' ')} {v:.2g}" for k, v in self.components.items())]
        for w in self.walls:
            wi = w.info
            out.append(f"  wall {wi['wall']} (outward normal {wi['normal_deg']:.0f}°, wind "
                       f"{wi['wind_through']}): {w.emission:+.3g} g/s, "
                       f"{wi['passes']} passes at {wi['lowest_pass_m']:.1f}-"
                       f"{wi['top_pass_m']:.1f} m, {wi['width_m']:.0f} m wide")
        out.append(f"wind: {i['wind']}")
        out.append(f"background: {i['background']:.4g} ± {i['background_error']:.2g} "
                   f"{i['display_units']} ({i['background_method']})")
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["walls"] = [w.to_dict() for w in self.walls]
        return d


def _walls(legs: list[Leg], x: np.ndarray, y: np.ndarray) -> dict[tuple[int, int], list[Leg]]:
    """Transects grouped by the side of the box they fly along."""
    tr = [g for g in legs if g.transect]
    if not tr:
        raise NoUsableDataError("no straight legs: not a box flight")
    idx = np.concatenate([g.index for g in tr])
    ax = main_axis(x[np.sort(idx)], y[np.sort(idx)])
    axes = (ax, (-ax[1], ax[0]))
    cx, cy = float(np.median(x[idx])), float(np.median(y[idx]))
    out: dict[tuple[int, int], list[Leg]] = {}
    for g in tr:
        h = math.radians(g.heading)
        k = 0 if abs(math.cos(h) * ax[0] + math.sin(h) * ax[1]) >= math.cos(math.radians(45))\
            else 1
        nx, ny = -axes[k][1], axes[k][0]
        off = float(np.median((x[g.index] - cx) * nx + (y[g.index] - cy) * ny))
        out.setdefault((k, 1 if off >= 0 else -1), []).append(g)
    return out


def estimate_box_flux(samples: xr.Dataset, quantity: str, *, wind, background: float | None = None,
                      background_error: float = 0.0, method: str = "idw",
                      spacing: tuple[float, float] = (5.0, 2.5), ground: str = "constant",
                      molar_mass: float | None = None, source: tuple[float, float] | None = None,
                      window=None, wind_exponent: float = 0.0, jackknife: bool = True,
                      history: str = "") -> BoxFlux:
    """Net emission rate (g/s) out of a box flown around an area source.

    Parameters are those of :func:`~dronesense.products.flux.estimate.estimate_flux`
    (``wind`` a profile, text, pair or wind series); ``background`` default: the median of
    the samples on the upwind walls.

    Raises
    ------
    NoUsableDataError
        Fewer than three walls found, or no upwind wall for the background.
    """
    use = usable_samples(samples, quantity)
    units = quantity_units(samples, quantity)
    kind, _ = mass_factor(units, quantity, molar_mass)
    spacing = check_parameters(molar_mass=molar_mass, ground=ground, spacing=spacing)
    ok = use.ok & in_window(samples, window)
    origin = default_origin(samples)
    frame = LocalFrame(*origin)
    x, y, _ = frame.forward(use.lat, use.lon)
    check_source(frame, source)
    sw, profile = sample_winds(samples, use, ok, wind, wind_exponent)
    idx = np.flatnonzero(ok)
    legs = [replace(g, index=idx[g.index]) for g in
            find_legs(use.time[idx], x[idx], y[idx], use.height[idx])]
    sides = _walls(legs, x, y)
    if len(sides) < 3:
        raise NoUsableDataError(f"only {len(sides)} walls found: a box flight needs at least 3 "
                                "sides flown")
    allidx = np.concatenate([g.index for gs in sides.values() for g in gs])
    cx, cy = float(np.median(x[allidx])), float(np.median(y[allidx]))
    if sw is not None:  # the mean over the walls, as uncertain as a mean over their passes
        profile = sw.mean_profile(allidx, n_independent=max(len(gs) for gs in sides.values()))
    walls = _to_corners({key: _wall(gs, x, y, use, cx, cy, profile, spacing[1])
                         for key, gs in sides.items()})
    upwind = [w for (p, w) in walls.values() if p.cos_theta < -0.3]
    if background is None:
        if not upwind:
            raise NoUsableDataError("no wall faces the wind: give the background")
        v = np.concatenate([w.v for w in upwind])
        background = float(np.median(v))
        n = sum(int(w.passes.transects.sum()) for w in upwind)
        background_error = 1.4826 * float(np.median(np.abs(v - background))) / math.sqrt(max(n, 1))
        how = f"median of the {len(upwind)} upwind wall(s)"
    else:
        how = "given"
    opts = WallOptions(quantity, units, kind, background, 0.0, "edges", 0.1, 5.0, method,
                       spacing, ground, molar_mass, jackknife, history)

    def run(bg: float, turn: float, jack: bool) -> list[FluxResult]:
        o = replace(opts, background=bg, jackknife=jack)
        out = []
        for key, (plane, wall) in walls.items():
            w_prof, w_sw = _turned(profile, sw, turn)
            pl = _with_wind(plane, w_prof)
            near = np.zeros(use.ok.size, bool)
            near[wall.index] = True
            extra = {"wall": SIDES[key], "wind_through": "in" if pl.cos_theta < 0 else "out",
                     "normal_deg": math.degrees(
                math.atan2(pl.normal[0], pl.normal[1])) % 360, **time_span(samples, wall.index)}
            out.append(estimate_wall(samples, wall, pl, frame, origin, near, w_prof, w_sw, o,
                                     extra))
        return out

    results = run(background, 0.0, jackknife)
    net = sum(r.emission for r in results)
    bg_shift = sum(r.emission for r in run(background + 1.0, 0.0, False)) - net
    turned = sum(r.emission for r in run(background, profile.direction_error, False))
    comps = {
        "background": abs(bg_shift) * background_error,
        "wind_speed": abs(net) * profile.speed_error / profile.speed,
        "wind_direction": abs(turned - net),
        "interpolation": math.sqrt(sum(r.components.get("interpolation", 0.0) ** 2
                                       for r in results)),
        "ground_extrapolation": math.sqrt(sum(r.components["ground_extrapolation"] ** 2
                                              for r in results)),
    }
    unc = math.sqrt(sum(v * v for v in comps.values()))
    notes = []
    if len(walls) < 4:
        notes.append(f"only {len(walls)} walls flown: the box is open on one side")
    if any("not estimable" in n for r in results for n in r.notes):
        notes.append("interpolation uncertainty not estimable on some walls (fewer than 3 "
                     "passes)")
    notes += _disagree_note(comps["interpolation"], net, results)
    for r in results:
        notes += [f"wall {r.info['wall']}: {n}" for n in r.notes
                  if n.startswith("the flux is carried by")]
    best = max(results, key=lambda r: r.emission)
    info = dict(best.info, background=background, background_error=background_error,
                background_method=how, walls=len(results))
    extrap = sum(r.extrapolated_fraction * r.emission for r in results) / net if net else 0.0
    return BoxFlux(quantity, net, unc, comps, extrap, best.grid, notes, info, walls=results)


def _disagree_note(interpolation: float, net: float, walls: list[FluxResult]) -> list[str]:
    """The passes disagree when the walls' pass jackknives together move the net emission
    by more than :data:`~dronesense.products.flux.wall.PASS_SCATTER` of it: a wall carrying a
    small part of the net may scatter widely without making the box worse than ±10 %."""
    scatter = interpolation / abs(net) if net else 0.0
    if not (scatter > PASS_SCATTER and net > 0):
        return []
    worst = max(walls, key=lambda r: r.components.get("interpolation", 0.0))
    return [f"the passes disagree: leaving each out in turn moves the net emission by "
            f"±{100 * scatter:.0f}%, most on wall {worst.info['wall']} (the plume moved or "
            "changed strength between or during the passes, meander and gusts); this flight "
            "alone is not good to ±10%: repeat the box or fly more loops"]


def _wall(legs: list[Leg], x, y, use, cx: float, cy: float, profile: WindProfile,
          dz: float) -> tuple[CurtainPlane, Wall]:
    """The plane (outward normal) and samples of one wall."""
    idx = np.sort(np.concatenate([g.index for g in legs]))
    px, py = x[idx], y[idx]
    mx, my = float(px.mean()), float(py.mean())
    _, v = np.linalg.eigh(np.cov(np.vstack([px - mx, py - my])))
    ex, ey = (float(c) for c in v[:, -1])
    nx, ny = -ey, ex
    if (mx - cx) * nx + (my - cy) * ny < 0:
        nx, ny = -nx, -ny
    plane = _with_wind(CurtainPlane((mx, my), (ny, -nx), (nx, ny), 1.0), profile)
    s, _ = plane.project(px, py)
    ids = np.empty(idx.size, dtype=int)
    heights = []
    pos = {int(i): k for k, i in enumerate(idx)}
    for r, g in enumerate(legs):
        ids[[pos[int(i)] for i in g.index]] = r
        heights.append(float(np.median(use.height[g.index])))
    passes = Passes(ids, np.ones(len(legs), bool), np.array(sorted(heights)))
    wall = Wall(s, use.height[idx], use.values[idx], use.time[idx], idx,
                (float(s.min()), float(s.max())), passes, dz)
    return plane, wall


def _to_corners(walls: dict[tuple[int, int], tuple[CurtainPlane, Wall]]
                ) -> dict[tuple[int, int], tuple[CurtainPlane, Wall]]:
    """Each wall's extent set to the box's corners: from the plane of one crossing wall to
    that of the other. The legs are cut a few metres before each corner where the drone
    turns; without this a plume leaving near a corner would pass between two walls."""
    out = {}
    for (k, sign), (plane, wall) in walls.items():
        ends = []
        for other in ((1 - k, -1), (1 - k, 1)):
            if other in walls:
                op = walls[other][0]
                # where the crossing wall's plane meets this wall's line, as s along it
                den = plane.along[0] * op.normal[0] + plane.along[1] * op.normal[1]
                if abs(den) > 0.5:
                    dx = op.centre[0] - plane.centre[0]
                    dy = op.centre[1] - plane.centre[1]
                    ends.append((dx * op.normal[0] + dy * op.normal[1]) / den)
        if len(ends) == 2:
            wall = replace(wall, s_range=(min(ends), max(ends)))
        out[(k, sign)] = (plane, wall)
    return out


def _with_wind(plane: CurtainPlane, wind: WindProfile) -> CurtainPlane:
    dw = wind.downwind
    return replace(plane, cos_theta=plane.normal[0] * dw[0] + plane.normal[1] * dw[1])


def _turned(profile: WindProfile, sw: SampleWind | None,
            deg: float) -> tuple[WindProfile, SampleWind | None]:
    """The wind turned by ``deg`` degrees (clockwise)."""
    if not deg:
        return profile, sw
    p = replace(profile, from_deg=(profile.from_deg + deg) % 360.0)
    if sw is None:
        return p, None
    a = math.radians(deg)
    u = sw.u * math.cos(a) + sw.v * math.sin(a)
    v = -sw.u * math.sin(a) + sw.v * math.cos(a)
    return p, replace(sw, u=u, v=v)

