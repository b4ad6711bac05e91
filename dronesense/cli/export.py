"""``dronesense export``: samples or flight logs -> GeoJSON, KML/KMZ, CSV, netCDF or Parquet,
or a data centre's profile (``--profile wmo-uasdc``: the WMO UAS Demonstration Campaign file).

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["export", "flights/a", "--out", "a.kml", "--quantity", "ch4"])
>>> a.inputs, a.out, a.quantity, a.paired_only, a.profile
(['flights/a'], 'a.kml', ['ch4'], False, None)
>>> a = p.parse_args(["export", "f.tlog", "--profile", "wmo-uasdc", "--out", "uasdc",
...                   "--operator", "007", "--airframe", "AB123"])
>>> a.profile, a.operator, a.airframe, a.processing_level, a.max_interval_s
('wmo-uasdc', '007', 'AB123', 'a1', 2.0)
"""

from __future__ import annotations

from collections import Counter

from dronesense.cli.options import (
    add_log_options,
    add_range_option,
    command_history,
    log_options,
    output_path,
    plausible_ranges,
    positive,
)

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``export`` sub-command."""
    p = subparsers.add_parser(
        "export", help="write samples as GeoJSON, KML (Google Earth), CSV, netCDF or Parquet",
        description="Read a session directory (its samples.csv journal), a samples .nc, "
        ".csv or .parquet, or any flight log that `dronesense pair` reads (paired on the "
        "way), and write the samples in the format of --out. GeoJSON and KML hold the paired "
        "samples only (those without a position are counted and reported); CSV, netCDF and "
        "Parquet keep every row unless --paired-only. --profile wmo-uasdc writes the WMO UAS "
        "Demonstration Campaign netCDF (temperature, pressure and humidity) into the directory "
        "--out, named UASDC_<operator>_<airframe>_<YYYYMMDDHHMMSS>Z.nc.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="session dir, samples .nc/.csv/.parquet, or .tlog/.bin/.ulg/CSV track")
    p.add_argument("--out", "-o", required=True, type=output_path,
                   metavar="FILE.geojson|.kml|.kmz|.csv|.nc|.parquet|DIR",
                   help="the file to write (its suffix chooses the format), or with --profile "
                   "the directory the profile's file goes into")
    p.add_argument("--quantity", "-q", action="append", metavar="Q",
                   help="keep only this quantity key (repeatable)")
    p.add_argument("--paired-only", action="store_true",
                   help="leave out samples without a position (always so for GeoJSON/KML)")
    p.add_argument("--tracks", action="store_true",
                   help="GeoJSON: also one LineString per piece of vehicle track")
    p.add_argument("--height", choices=["msl", "ellipsoid"], default="msl",
                   help="GeoJSON: third coordinate above mean sea level (default) or above the "
                   "WGS84 ellipsoid as RFC 7946 says (needs the EGM96 geoid grid)")
    p.add_argument("--target", metavar="Q",
                   help="KML/KMZ: the quantity the map opens on (default: the one with most "
                   "samples)")
    w = p.add_argument_group("profiles")
    w.add_argument("--profile", choices=["wmo-uasdc"],
                   help="wmo-uasdc: the WMO UAS Demonstration Campaign netCDF "
                   "(docs/wmo-uasdc.md)")
    w.add_argument("--operator", metavar="NNN",
                   help="wmo-uasdc: the 3-digit operator ID the campaign assigned")
    w.add_argument("--airframe", metavar="ID|SYSID=ID,...",
                   help="wmo-uasdc: the airframe ID, 1 to 5 letters or digits; for samples of "
                   "several vehicles one per MAVLink system id, e.g. 1=AB123,2=CD456 (one "
                   "file per vehicle and boot)")
    w.add_argument("--flight-id", metavar="TEXT",
                   help="wmo-uasdc: the flight_id attribute (default AIRFRAME_YYYYMMDDHHMMSSZ)")
    w.add_argument("--processing-level", choices=["a1", "b1", "c1"], default="a1",
                   help="wmo-uasdc: ARM data level (default a1: calibrated, in geophysical "
                   "units)")
    w.add_argument("--max-interval", type=positive, default=2.0, metavar="S", dest="max_interval_s",
                   help="wmo-uasdc: longest time between the two pressure or humidity readings "
                   "interpolated to a temperature reading; one without is left out (2 s)")
    g = p.add_argument_group("pairing (flight logs; a session dir is re-paired from its "
                             "flight.tlog when --lag, --max-gap or --range is given)")
    add_log_options(g)
    add_range_option(g)
    g.add_argument("--max-gap", type=positive, metavar="S",
                   help="longest time between fixes that still gives a position (1 s)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Load, write, report."""
    from dronesense.products.exports import GEO_FORMATS, geometry_note, split_paired, write_samples
    from dronesense.samples.files import read_sample_rows

    options = log_options(args)
    if args.ranges:
        options["ranges"] = plausible_ranges(args)
    repair = bool(args.lag) or args.max_gap is not None or bool(args.ranges)
    if args.profile:
        return run_profile(args, options, repair)
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
                        paired_only=args.paired_only, tracks=args.tracks,
                        height=args.height, target=args.target)
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


def run_profile(args, options: dict, repair: bool) -> int:
    """``--profile wmo-uasdc``: read or pair the samples, write the campaign's file of each
    vehicle and boot (:func:`~dronesense.products.wmo_uasdc_flights.write_wmo_uasdc_flights`),
    report each file and each flight left out."""
    from dronesense.products.wmo_uasdc import check_ids, describe
    from dronesense.products.wmo_uasdc_flights import parse_airframes, write_wmo_uasdc_flights
    from dronesense.samples.files import load_dataset

    airframe = parse_airframes(args.airframe) if args.airframe else args.airframe
    for name in (airframe.values() if isinstance(airframe, dict) else [airframe]):
        check_ids(args.operator, name)  # before a long pairing
    samples = load_dataset(args.inputs, quantities=args.quantity, prefer_journal=not repair,
                           max_gap_s=1.0 if args.max_gap is None else args.max_gap,
                           history=command_history("export"), **options)
    for line in str(samples.attrs.get("pairing_summary", "")).splitlines():
        print(line)
    done = write_wmo_uasdc_flights(samples, args.out, operator=args.operator,
                                   airframe=airframe, flight_id=args.flight_id,
                                   processing_level=args.processing_level,
                                   max_interval_s=args.max_interval_s)
    for line in done.skipped:
        print(f"note: left out {line}")
    for path in done.paths:
        print(f"wrote {path}: {describe(path)}")
    return 0
