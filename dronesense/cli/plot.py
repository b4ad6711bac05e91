"""``dronesense plot``: figures of a grid (slices, profile, curtain section)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dronesense.cli.options import output_file
from dronesense.errors import InputError

__all__ = ["parse_line", "register", "run"]


def parse_line(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """``LAT1,LON1:LAT2,LON2`` -> ``((lat1, lon1), (lat2, lon2))``."""
    try:
        a, b = text.split(":")
        p = tuple(float(v) for v in a.split(","))
        q = tuple(float(v) for v in b.split(","))
        if len(p) != 2 or len(q) != 2:
            raise ValueError
    except ValueError:
        raise InputError(f"--line: expected LAT1,LON1:LAT2,LON2, got {text!r}") from None
    return p, q  # type: ignore[return-value]


def _not_a_log(path: Path) -> None:
    """A flight log or samples where a grid is expected: say what to do (one line) instead
    of failing to open it as a grid."""
    from dronesense.sources.kinds import detect_kind

    if path.suffix.lower() in (".nc", ".zarr") or not path.exists():
        return
    try:
        kind = detect_kind(path)
    except InputError:
        return
    what = "samples or a CSV track" if kind == "csv" else "a flight log"
    raise InputError(f"{what}, not a grid: grid it first with `dronesense grid {path.name} "
                     "-q QUANTITY`, then plot the grid", path=path)


def register(subparsers) -> None:
    """Add the ``plot`` sub-command."""
    p = subparsers.add_parser("plot", help="figures of a grid: slices, profile, section",
                              description="Draw a PNG of a grid written by `dronesense grid`.")
    p.add_argument("grid", help="grid .nc or .zarr")
    p.add_argument("--kind", choices=["slices", "profile", "section"], default="slices")
    p.add_argument("--line", help="section line LAT1,LON1:LAT2,LON2 (with --kind section)")
    p.add_argument("--variable", help="variable to draw (default: the estimate)")
    p.add_argument("--levels", help="comma-separated levels (m) for slices")
    p.add_argument("--out", "-o", type=output_file, help="output PNG (default: beside the grid)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dronesense plot``."""
    from dronesense.gridding.dataset import open_grid
    from dronesense.products.plot import plot_profile, plot_section, plot_slices

    path = Path(args.grid)
    _not_a_log(path)
    ds = open_grid(path)
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}_{args.kind}.png")
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError("output must end in .png, .pdf or .svg", path=out)
    if args.kind == "slices":
        levels = None
        if args.levels:
            try:
                levels = [float(v) for v in args.levels.split(",")]
            except ValueError:
                raise InputError(f"--levels: expected numbers, got {args.levels!r}") from None
        plot_slices(ds, out, name=args.variable, levels=levels)
    elif args.kind == "profile":
        plot_profile(ds, out, name=args.variable)
    else:
        if not args.line:
            raise InputError("--kind section needs --line LAT1,LON1:LAT2,LON2")
        start, end = parse_line(args.line)
        plot_section(ds, start, end, out, name=args.variable)
    print(f"wrote {out}")
    return 0
