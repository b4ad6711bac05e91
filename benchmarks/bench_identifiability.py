"""Is the true error of the lawnmower grids a function of their samples? Twin fields say no.

The lawnmower flights of ``bench_grid.py`` fly lines 20 m apart (y = ..., 490, 510, ...) at
layers 10 m apart (z = ..., 25, 35, ...); the plume's core at y = 500 m, z = 30 m lies in the
gap between two lines and two layers, which no sample enters. Twin fields

    A_t = plume + t * g,    g = bump(y, z) * (plume - 1.9),    t in [-1, 1],

differ only inside that gap: ``bump`` is a C-infinity plateau (1 on the inner ``PLATEAU``
fraction of its half-widths, 0 from its edge on, smoothsteps built from ``exp(-1/u)`` in
between) whose half-widths across (|y - 500|) and up (|z - 30|) are the closest any sample
of the flight comes to the core, so ``g`` is exactly 0.0 at every sample and every twin gives
bit-for-bit the same samples (the same noise draw) and hence the same grid. ``g`` is as
smooth as the plume itself in x (the plume starts with a step at its source, x = 100 m).
t = -1 takes the unsampled core down to the background (1.9 ppm), t = 1 doubles it; no twin
goes below the background.

For each N the script prints each twin's true RMSE (IDW(k=8, anisotropy=2, support=2) grid on
``SPEC`` against A_t at the filled voxel centres, as ``bench_cv_truth.py``), the range of the
true RMSE over t in [-1, 1] and its ratio max / min: an estimate E can be within 25 % of
both ends only if max / min <= 1.25 / 0.75 = 1.667. The two estimators made from the samples
(the blocked CV's ``grid_rmse``, default design; the estimation variance
``grid_error_variance(..., support="point").rmse``, default options) are the same for every
twin; each is placed on that range (the t at which it is exact), and compared with the true
RMSE over the filled voxels outside the bump's support (the part of the grid every twin
agrees on). ``roughness`` is a twin's steepest gradient across the wind (along y or z) over
the plume's own, the largest over the cross-sections x = 101, 105, 125, 150 m: how much
rougher than the plume a twin is. ``--up 10 --taper 30`` gives a smoother family (the bump
10 m up, which the half-width across alone keeps clear of every sample, and fading out
within 30 m of the source, where the plume is narrowest): fewer voxels differ, the twins are
at most about 5 times steeper than the plume.

A resolvable contrast (``--no-wide`` leaves it out): the same flights (positions and noise
draw) over a plume of the same emission widened to sy = 0.2 d + 20 m and sz = 0.1 d + 10 m,
at least the spacing of the lines (20 m) and of the layers (10 m) from the source on, so the
lines sample its structure across the wind; the estimators' ratios to its true RMSE, and its
twins over the same gap (their max / min and roughness: a field the lines resolve has twins
many times steeper than itself, which the smoothness its samples show rules out).

Run: ``python benchmarks/bench_identifiability.py [--sizes 1e4,1e5,1e6] [--no-wide]
[--up 10 --taper 30]`` (about a minute for the three sizes on one core).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_grid import SPEC, flights, plume, rmse  # noqa: E402
from dronesense.gridding.errorvariance import grid_error_variance  # noqa: E402
from dronesense.gridding.methods.idw import IDW  # noqa: E402
from dronesense.gridding.validation import cross_validate  # noqa: E402

#: The plume's background (ppm) and the axis of its core (y, z in metres).
BACKGROUND = 1.9
CORE = (500.0, 30.0)
#: Inner fraction of the bump's half-widths on which it equals 1.
PLATEAU = 0.7
#: A gap voxel centre next to the source (x, y, z), shown in the table.
PROBE = (105.0, 495.0, 27.5)
#: Twin parameters shown in the table.
TS = (-1.0, -0.5, 0.0, 0.5, 1.0)
#: An estimate within 25 % of two true RMSEs T_min < T_max needs T_max / T_min <= this.
CRITERION = 1.25 / 0.75

Field = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def method() -> IDW:
    """The gridder of ``bench_grid.py``'s lawnmower cases."""
    return IDW(k=8, anisotropy=2.0, support=2)


@dataclass(frozen=True)
class Gap:
    """Where the twins differ: half-widths ``across`` (|y - 500|) and ``up`` (|z - 30|) of the
    bump around the core, and optionally ``taper`` (m): the bump also fades out downwind,
    to 0 at ``x = 100 + taper``."""

    across: float
    up: float
    taper: float | None = None

    def bump(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The C-infinity plateau bump: 1 on the core, exactly 0 outside its half-widths."""
        b = (plateau(np.abs(np.asarray(y, dtype=float) - CORE[0]) / self.across)
             * plateau(np.abs(np.asarray(z, dtype=float) - CORE[1]) / self.up))
        if self.taper is not None:
            b = b * plateau(np.abs(np.asarray(x, dtype=float) - 100.0) / self.taper)
        return b


def gap_of(coords: Sequence[np.ndarray], up: float | None = None,
           taper: float | None = None) -> Gap:
    """The gap the samples leave around the core: the closest they come to it across
    (``|y - 500|``) and up (``|z - 30|``, unless ``up`` is given: the half-width across alone
    keeps every sample out)."""
    across = float(np.min(np.abs(np.asarray(coords[1], dtype=float) - CORE[0])))
    if up is None:
        up = float(np.min(np.abs(np.asarray(coords[2], dtype=float) - CORE[1])))
    return Gap(across, float(up), taper)


def smoothstep(u: np.ndarray) -> np.ndarray:
    """C-infinity step: 0 for u <= 0, 1 for u >= 1, ``f(u) / (f(u) + f(1 - u))`` between,
    ``f(u) = exp(-1 / u)``."""
    u = np.asarray(u, dtype=float)
    inside = (u > 0.0) & (u < 1.0)
    w = np.where(inside, u, 0.5)
    a, b = np.exp(-1.0 / w), np.exp(-1.0 / (1.0 - w))
    return np.where(u >= 1.0, 1.0, np.where(inside, a / (a + b), 0.0))


def plateau(r: np.ndarray) -> np.ndarray:
    """1 for ``r <= PLATEAU``, exactly 0 for ``r >= 1``, C-infinity in between."""
    r = np.asarray(r, dtype=float)
    return np.where(r >= 1.0, 0.0, smoothstep((1.0 - r) / (1.0 - PLATEAU)))


def excess(x: np.ndarray, y: np.ndarray, z: np.ndarray, field: Field = plume) -> np.ndarray:
    """The field above the background."""
    return field(x, y, z) - BACKGROUND


def g(x: np.ndarray, y: np.ndarray, z: np.ndarray, gap: Gap, field: Field = plume
      ) -> np.ndarray:
    """The twins' difference: the bump times the field's excess."""
    return gap.bump(x, y, z) * excess(x, y, z, field)


def twin_field(t: float, gap: Gap, field: Field = plume) -> Field:
    """``A_t = field + t * g``."""
    def twin(x, y, z):
        return field(x, y, z) + t * g(x, y, z, gap, field)
    return twin


def twin_values(coords: Sequence[np.ndarray], values: np.ndarray, t: float, gap: Gap
                ) -> np.ndarray:
    """The samples twin ``t`` gives: the flight's values (plume + noise) plus ``t * g`` there."""
    return values + t * g(*coords, gap)


@dataclass
class TwinRange:
    """True RMSE of one grid against the twins: ``T(t)^2 = a t^2 + b t + c``."""

    a: float
    b: float
    c: float

    def at(self, t: float) -> float:
        """T(t)."""
        return float(np.sqrt(max(self.a * t * t + self.b * t + self.c, 0.0)))

    def extremes(self) -> tuple[float, float, float, float]:
        """``(t_min, T_min, t_max, T_max)`` over t in [-1, 1]."""
        t0 = float(np.clip(-self.b / (2 * self.a), -1.0, 1.0)) if self.a > 0 else -1.0
        t1 = 1.0 if self.at(1.0) >= self.at(-1.0) else -1.0
        return t0, self.at(t0), t1, self.at(t1)

    def exact(self, estimate: float) -> list[float]:
        """The t in [-1, 1] at which ``T(t) == estimate``."""
        disc = self.b**2 - 4 * self.a * (self.c - estimate**2)
        if self.a <= 0 or disc < 0:
            return []
        roots = ((-self.b - np.sqrt(disc)) / (2 * self.a),
                 (-self.b + np.sqrt(disc)) / (2 * self.a))
        return [float(r) for r in roots if -1.0 <= r <= 1.0]


def twin_range(grid: np.ndarray, gap: Gap, field: Field = plume) -> TwinRange:
    """The twins' true RMSE as a quadratic in t, over the voxels ``grid`` fills."""
    centres = SPEC.centres()
    ok = np.isfinite(grid)
    e0 = grid[ok] - field(*centres)[ok]
    gv = g(*centres, gap, field)[ok]
    return TwinRange(float(np.mean(gv**2)), float(-2 * np.mean(e0 * gv)),
                     float(np.mean(e0**2)))


#: Cross-sections (x, m) the roughness is measured on: the source's first voxel column on.
ROUGH_X = (101.0, 105.0, 125.0, 150.0)


def roughness(t: float, gap: Gap, field: Field = plume, step: float = 0.05) -> float:
    """Steepest gradient across the wind (along y or z) of twin ``t`` over the field's own
    steepest, the largest over the cross-sections ``ROUGH_X`` (a ``step`` m lattice 40 m x
    50 m around the core)."""
    y = np.arange(CORE[0] - 20.0, CORE[0] + 20.0, step)
    z = np.arange(CORE[1] - 25.0, CORE[1] + 25.0, step)
    yy, zz = np.meshgrid(y, z)
    worst = 0.0
    twin = twin_field(t, gap, field)
    for x in ROUGH_X:
        xx = np.full(yy.shape, x)
        steep = [max(np.abs(np.gradient(f, step, axis=k)).max() for k in (0, 1))
                 for f in (twin(xx, yy, zz), field(xx, yy, zz))]
        worst = max(worst, float(steep[0] / steep[1]))
    return worst


def wide_plume(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``plume`` with the same emission, widened to at least the line and layer spacing."""
    d = np.maximum(x - 100.0, 1.0)
    sy = 0.2 * d + 20.0
    sz = 0.1 * d + 10.0
    c = 600.0 / (sy * sz) * np.exp(-0.5 * ((y - 500.0) / sy) ** 2) * (
        np.exp(-0.5 * ((z - 30.0) / sz) ** 2) + np.exp(-0.5 * ((z + 30.0) / sz) ** 2))
    return BACKGROUND + np.where(x > 100.0, c, 0.0)


def estimates(coords: Sequence[np.ndarray], values: np.ndarray
              ) -> tuple[float, float, float, float]:
    """The blocked CV's ``grid_rmse`` and the estimation variance's RMSE (defaults), then the
    CV's raw RMSE (against the held-out samples) and its noise estimate (NaN: none, samples
    too far apart along the track)."""
    cv = cross_validate(method(), coords, values, spec=SPEC)
    ev = grid_error_variance(method(), coords, values, SPEC, support="point").rmse
    noise = float("nan") if cv.noise_std is None else float(cv.noise_std)
    return float(cv.grid_rmse), float(ev), float(cv.rmse), noise


def fmt_t(tr: TwinRange, estimate: float) -> str:
    """The t at which ``estimate`` is exact, or where it lies outside the range."""
    ts = tr.exact(estimate)
    if ts:
        return " or ".join(f"{t:+.2f}" for t in ts)
    return "<T_min" if estimate < tr.extremes()[1] else ">T_max"


@dataclass
class Case:
    """One flight's twin analysis (true RMSEs over the filled voxel centres)."""

    n: int
    gap: Gap
    same: bool
    range: TwinRange
    cv: float
    ev: float
    outside: float
    changed: int
    filled: int


def twin_case(n: int, gap_options: dict | None = None) -> tuple[Case, np.ndarray]:
    """Flight ``n``, its gap, the grid made once from its samples, the twins' true RMSE and the
    two estimates; also returns the grid."""
    coords, v = flights(n)
    gap = gap_of(coords, **(gap_options or {}))
    same = all(np.array_equal(twin_values(coords, v, t, gap).view(np.uint64),
                              v.view(np.uint64)) for t in TS)
    grid = method().fit(coords, v, spec=SPEC).grid()["value"].values
    ok = np.isfinite(grid)
    gc = g(*SPEC.centres(), gap)
    outside = ok & (gc == 0.0)
    t_out = rmse(np.where(outside, grid, np.nan), plume(*SPEC.centres()))
    cv, ev, _, _ = estimates(coords, v)
    return Case(n, gap, same, twin_range(grid, gap), cv, ev, t_out, int((ok & (gc != 0)).sum()),
                int(ok.sum())), grid


def twins(n: int, gap_options: dict | None = None) -> Case:
    """The twin analysis of one flight; prints its block."""
    t0 = time.perf_counter()
    case, grid = twin_case(n, gap_options)
    gap, tr = case.gap, case.range
    probe = int(SPEC.locate(*PROBE))
    taper = "" if gap.taper is None else f", fading out by x = {100 + gap.taper:g} m"
    print(f"\nN = {n:.0e}: bump half-widths {gap.across:.2f} m across (the closest sample), "
          f"{gap.up:.2f} m up{taper}; samples bit-for-bit equal for every t: "
          f"{'yes' if case.same else 'NO'}; g != 0 at {case.changed} of {case.filled:,} filled "
          f"voxel centres (bump at the gap voxel centre y 495, z 27.5: "
          f"{float(gap.bump(*PROBE)):.3f})", flush=True)
    print(f"  t      true RMSE  twin at {PROBE} (grid {float(grid.ravel()[probe]):.3f})"
          "  roughness")
    for t in TS:
        true = rmse(grid, twin_field(t, gap)(*SPEC.centres()))
        assert abs(true - tr.at(t)) <= 1e-9 * max(true, 1.0)
        print(f"  {t:+.1f}  {true:9.4f}  {float(twin_field(t, gap)(*PROBE)):8.3f} ppm"
              f"{'':28}{roughness(t, gap):6.2f}", flush=True)
    t_lo, lo, t_hi, hi = tr.extremes()
    verdict = ("no estimate can be within 25 % of every twin" if hi / lo > CRITERION
               else "an estimate can be within 25 % of every twin")
    print(f"  true RMSE over t in [-1, 1]: {lo:.4f} (t = {t_lo:+.2f}) to {hi:.4f} "
          f"(t = {t_hi:+.2f}), max / min {hi / lo:.2f}: {verdict} (needs <= {CRITERION:.3f})")
    for name, est in (("CV grid_rmse", case.cv), ("estimation variance", case.ev)):
        print(f"  {name:<20} {est:.4f}: {est / lo:.2f} x T_min, {est / hi:.2f} x T_max; "
              f"exact at t = {fmt_t(tr, est)}; {est / case.outside:.2f} x the true RMSE "
              "outside the bump")
    print(f"  outside the bump ({case.filled - case.changed:,} filled voxels, the same in every "
          f"twin): true RMSE {case.outside:.4f}   [{time.perf_counter() - t0:.1f} s]",
          flush=True)
    return case


def wide(n: int) -> dict[str, float]:
    """The resolvable contrast: the widened plume on the same flight, positions and noise
    (the noise recovered as the flight's values minus the plume at the samples)."""
    coords, v = flights(n)
    vw = wide_plume(*coords) + (v - plume(*coords))
    grid = method().fit(coords, vw, spec=SPEC).grid()["value"].values
    true = rmse(grid, wide_plume(*SPEC.centres()))
    cv, ev, raw, noise = estimates(coords, vw)
    gap = gap_of(coords)
    _, lo, _, hi = twin_range(grid, gap, wide_plume).extremes()
    return {"true": true, "cv": cv, "ev": ev, "raw": raw, "noise": noise, "ratio": hi / lo,
            "rough": max(roughness(t, gap, wide_plume) for t in (-1.0, 1.0))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6",
                        help="comma-separated sample counts (default 1e4,1e5,1e6)")
    parser.add_argument("--no-wide", action="store_true",
                        help="leave out the widened (resolvable) plume")
    parser.add_argument("--up", type=float, default=None,
                        help="the bump's half-width up (m; default the closest sample in z)")
    parser.add_argument("--taper", type=float, default=None,
                        help="fade the bump out downwind over this many metres from the source")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    print(__doc__.split("\n\n")[0], flush=True)
    print(f"lawnmower of bench_grid.py, {type(method()).__name__}(k=8, anisotropy=2, support=2) "
          f"on {SPEC.shape[2]} x {SPEC.shape[1]} x {SPEC.shape[0]} voxels; bump plateau "
          f"{PLATEAU} of its half-widths")
    rows = [twins(n, {"up": args.up, "taper": args.taper}) for n in sizes]
    print("\nSummary: true RMSE of the one grid against the twins t in [-1, 1]; the estimates "
          "are the same for every twin")
    print("  N      T(t=0)  T_min   T_max   max/min  CV      t(CV)           EV      t(EV)"
          "           T_out   CV/T_out  EV/T_out")
    for r in rows:
        _, lo, _, hi = r.range.extremes()
        print(f"  {r.n:.0e}  {r.range.at(0.0):.4f}  {lo:.4f}  {hi:.4f}  {hi / lo:6.2f}   "
              f"{r.cv:.4f}  {fmt_t(r.range, r.cv):<15} {r.ev:.4f}  "
              f"{fmt_t(r.range, r.ev):<15} {r.outside:.4f}  {r.cv / r.outside:6.2f}  "
              f"{r.ev / r.outside:8.2f}", flush=True)
    if args.no_wide:
        return
    print("\nResolvable contrast: plume widened to sy = 0.2 d + 20 m, sz = 0.1 d + 10 m (same "
          "emission), same flights and noise; its twins (same gap) and their roughness")
    print("  N      true RMSE  CV (ratio)      EV (ratio)      twins max/min  roughness  "
          "CV raw  noise")
    for n in sizes:
        r = wide(n)
        print(f"  {n:.0e}  {r['true']:.4f}     {r['cv']:.4f} ({r['cv'] / r['true']:.2f})  "
              f"{r['ev']:.4f} ({r['ev'] / r['true']:.2f})  {r['ratio']:13.2f}  "
              f"{r['rough']:9.2f}  {r['raw']:.4f}  "
              f"{'-' if np.isnan(r['noise']) else format(r['noise'], '.4f')}", flush=True)


if __name__ == "__main__":
    main()
