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

import shlex
import sys
from collections import Counter
from datetime import UTC, datetime

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
    g.add_argument("--lag", action="append", metavar="Q=SECONDS|Q=auto|auto",
                   help="sensor lag per quantity, declared or estimated (repeatable)")
    g.add_argument("--max-gap", type=float, metavar="S",
                   help="longest time between fixes that still gives a position (1 s)")
    g.add_argument("--names", metavar="MAP.toml", help="wire name -> quantity mapping")
    g.add_argument("--csv-map", metavar="MAP.toml", help="column mapping for CSV tracks")
    g.add_argument("--records", metavar="MAP.toml",
                   help="DataFlash custom record mapping ([records.PART] ...)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Load, write, report."""
    from dronesense.export import geometry_note, read_samples, split_paired, write_samples
    from dronesense.lag import parse_lag_option
    from dronesense.quantities import NameTable

    names = NameTable.from_file(args.names) if args.names else NameTable.default()
    csv_map = record_map = None
    if args.csv_map:
        from dronesense.csvtrack import load_csv_map

        csv_map = load_csv_map(args.csv_map)
    if args.records:
        from dronesense.dataflash import load_record_map

        record_map = load_record_map(args.records)
    declared, auto, auto_all = parse_lag_option(args.lag)
    repair = bool(args.lag) or args.max_gap is not None
    rows, summary = read_samples(
        args.inputs, quantities=args.quantity, prefer_journal=not repair, names=names,
        lags=declared, auto=auto, auto_all=auto_all,
        max_gap_s=1.0 if args.max_gap is None else args.max_gap, csv_map=csv_map,
        record_map=record_map)
    if summary is not None:
        for line in summary.lines():
            print(line)
    paired, unpaired = split_paired(rows)
    counts = Counter(r.quantity for r in rows)
    print(f"{len(rows)} samples ({', '.join(f'{q} {n}' for q, n in counts.items())}), "
          f"{len(paired)} with a position")
    command = "dronesense export " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    history = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {command}".rstrip()
    out = write_samples(rows, args.out, names=names, history=history,
                        source=", ".join(map(str, args.inputs)),
                        paired_only=args.paired_only, tracks=args.tracks)
    note = geometry_note(rows, out)
    if note:
        print(f"note: {note}")
    if out.suffix.lower() in (".geojson", ".kml", ".kmz"):
        print(f"wrote {len(paired)} samples to {out}")
    else:
        kept = len(paired) if args.paired_only else len(rows)
        dropped = (f" (left out {len(unpaired)} unpaired)"
                   if args.paired_only and unpaired else "")
        print(f"wrote {kept} samples to {out}{dropped}")
    return 0
