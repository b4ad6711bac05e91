"""``dronesense export``: samples or flight logs -> GeoJSON, KML/KMZ, CSV, netCDF or Parquet.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["export", "flights/a", "--out", "a.kml", "--quantity", "ch4"])
>>> a.inputs, a.out, a.quantity, a.paired_only
(['flights/a'], 'a.kml', ['ch4'], False)
"""

from __future__ import annotations

from collections import Counter

from dronesense.cli.options import add_log_options, command_history, log_options

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``export`` sub-command."""
    p = subparsers.add_parser(
        "export", help="write samples as GeoJSON, KML (Google Earth), CSV, netCDF or Parquet",
        description="Read a session directory (its samples.csv journal), a samples .nc, "
        ".csv or .parquet, or any flight log that `dronesense pair` reads (paired on the "
        "way), and write the samples in the format of --out. GeoJSON and KML hold the paired "
        "samples only (those without a position are counted and reported); CSV, netCDF and "
        "Parquet keep every row unless --paired-only.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="session dir, samples .nc/.csv/.parquet, or .tlog/.bin/CSV track")
    p.add_argument("--out", "-o", required=True,
                   metavar="FILE.geojson|.kml|.kmz|.csv|.nc|.parquet")
    p.add_argument("--quantity", "-q", action="append", metavar="Q",
                   help="keep only this quantity key (repeatable)")
    p.add_argument("--paired-only", action="store_true",
                   help="leave out samples without a position (always so for GeoJSON/KML)")
    p.add_argument("--tracks", action="store_true",
                   help="GeoJSON: also one LineString per piece of vehicle track")
    g = p.add_argument_group("pairing (flight logs; a session dir is re-paired from its "
                             "flight.tlog when --lag or --max-gap is given)")
    add_log_options(g)
    g.add_argument("--max-gap", type=float, metavar="S",
                   help="longest time between fixes that still gives a position (1 s)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Load, write, report."""
    from dronesense.products.exports import GEO_FORMATS, geometry_note, split_paired, write_samples
    from dronesense.samples.files import read_sample_rows

    options = log_options(args)
    repair = bool(args.lag) or args.max_gap is not None
    rows, summary = read_sample_rows(
        args.inputs, quantities=args.quantity, prefer_journal=not repair,
        max_gap_s=1.0 if args.max_gap is None else args.max_gap, **options)
    if summary is not None:
        for line in summary.lines():
            print(line)
    paired, unpaired = split_paired(rows)
    counts = Counter(r.quantity for r in rows)
    print(f"{len(rows)} samples ({', '.join(f'{q} {n}' for q, n in counts.items())}), "
          f"{len(paired)} with a position")
    out = write_samples(rows, args.out, names=options["names"],
                        history=command_history("export"),
                        source=", ".join(map(str, args.inputs)),
                        paired_only=args.paired_only, tracks=args.tracks)
    note = geometry_note(rows, out)
    if note:
        print(f"note: {note}")
    if out.suffix.lower() in GEO_FORMATS:
        print(f"wrote {len(paired)} samples to {out}")
    else:
        kept = len(paired) if args.paired_only else len(rows)
        dropped = (f" (left out {len(unpaired)} unpaired)"
                   if args.paired_only and unpaired else "")
        print(f"wrote {kept} samples to {out}{dropped}")
    return 0
