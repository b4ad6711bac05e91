"""``dronesense campaign``: many sessions/flights of one quantity onto one CF grid.

Each input (session directory, samples ``.csv`` journal, samples ``.nc``, or a flight log:
``.tlog``, DataFlash ``.bin``, PX4 ``.ulg``, paired first) is reduced on
the shared grid definition to per-voxel partial sums (count, sum, sum of squares, min, max)
and the partials are added: one flight in memory at a time, or one task per flight on a
dask.distributed cluster (``--dask local`` or ``--dask tcp://SCHEDULER:8786``). Both give
the same numbers bit for bit. The product is the CF grid ``dronesense grid`` writes for block
statistics, with every input listed in ``history`` and ``campaign_inputs``.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from dronesense.cli.options import finite, output_path, parse_floats, parse_spacing, positive_int
from dronesense.errors import InputError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``campaign`` sub-command."""
    p = subparsers.add_parser(
        "campaign", help="grid many sessions/flights of one quantity onto one 3D CF grid",
        description="Grid the paired samples of one quantity from many sessions or flights "
                    "onto one grid definition by per-flight partial sums (streaming, or on a "
                    "dask cluster) and write a CF netCDF (or Zarr) file of block statistics.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="session directories, samples .csv journals, samples .nc files or "
                        "flight logs (.tlog, .bin, .ulg: paired first)")
    p.add_argument("--quantity", "-q", required=True, help="quantity key (ch4, pm2p5, ...)")
    p.add_argument("--grid-spec", dest="spec",
                   help="the shared grid definition: JSON file (--save-spec of "
                        "`dronesense grid`) or an earlier grid")
    p.add_argument("--spacing", help="voxel size DX,DY,DZ in metres, without --grid-spec "
                                     "(the region is then fitted to all inputs)")
    p.add_argument("--origin", help="LAT,LON,ALT of the local frame (default: home point of "
                                    "the first input)")
    p.add_argument("--region", help="WEST,EAST,SOUTH,NORTH,BOTTOM,TOP in metres "
                                    "(default: fitted to all inputs, one extra pass)")
    p.add_argument("--vertical", choices=["height", "amsl", "agl"],
                   help="vertical reference: height above home (default), AMSL, above ground")
    p.add_argument("--terrain", type=finite, help="ground altitude AMSL (m) for --vertical agl")
    p.add_argument("--shift", type=finite, default=None,
                   help="subtracted before summing squares (a typical value of the quantity; "
                        "default: the median of the first input)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="reduce on a dask.distributed cluster: a scheduler address "
                        "(tcp://host:8786; the workers must see the input paths) or 'local' "
                        "for a LocalCluster on this machine")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="workers of the local cluster (with --dask local)")
    p.add_argument("--save-spec", help="write the grid definition used to this JSON file")
    p.add_argument("--out", "-o", required=True, type=output_path, help="output .nc or .zarr")
    from dronesense.cli.features import add_feature_options  # --features (docs/programs.md)

    add_feature_options(p)
    p.set_defaults(func=run)


def _command(args: argparse.Namespace) -> str:
    """The command line, rebuilt from the parsed options (for ``history``)."""
    parts = ["dronesense", "campaign", *map(str, args.inputs)]
    for dest, flag in (("quantity", "--quantity"), ("spec", "--grid-spec"),
                       ("spacing", "--spacing"), ("origin", "--origin"), ("region", "--region"),
                       ("vertical", "--vertical"), ("terrain", "--terrain"),
                       ("shift", "--shift"), ("dask", "--dask"), ("workers", "--workers"),
                       ("out", "--out")):
        value = getattr(args, dest, None)
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    """Run ``dronesense campaign``."""
    if getattr(args, "features", False):
        from dronesense.cli.features import run_features

        return run_features(args)
    from dronesense.cli.grid import summarise
    from dronesense.gridding.campaign import campaign
    from dronesense.gridding.dataset import write_grid
    from dronesense.gridding.spec import GridSpec

    out = Path(args.out)
    if out.suffix not in (".nc", ".zarr"):
        raise InputError("output must end in .nc or .zarr", path=out)
    ds = campaign(args.inputs, args.quantity, spec=args.spec,
                  spacing=parse_spacing(args.spacing) if args.spacing else None,
                  origin=parse_floats(args.origin, 3, "--origin") if args.origin else None,
                  region=parse_floats(args.region, 6, "--region") if args.region else None,
                  vertical=args.vertical, terrain=args.terrain, shift=args.shift,
                  dask=args.dask, workers=args.workers, command=_command(args))
    write_grid(ds, out)
    if args.save_spec:
        GridSpec.from_attrs(ds.attrs).save(args.save_spec)
    print(f"{len(args.inputs)} flights" + (f" on dask ({args.dask})" if args.dask else
                                           " (streaming)"))
    summarise(ds, args.quantity)
    print(f"wrote {out}")
    return 0
