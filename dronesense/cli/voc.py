"""``dronesense voc``: air samples of a flight with the laboratory's results, where and when.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["voc", "flight.tlog", "--lab", "lab.csv", "-o", "v.nc", "-o", "v.kml"])
>>> a.tlog, a.lab, a.out
('flight.tlog', 'lab.csv', ['v.nc', 'v.kml'])
"""

from __future__ import annotations

import math

from dronesense.cli.options import command_history, output_file, positive

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``voc`` sub-command."""
    p = subparsers.add_parser(
        "voc", help="sampling events of a flight joined with the lab's results "
                    "(netCDF, CSV, KML)",
        description="Read the sampling events of a telemetry log (NAMED_VALUE_INT SAMPLE, "
                    "CAMERA_FEEDBACK, DO_SET_SERVO / DO_SET_RELAY commands or mission items) "
                    "with where and when each sample was taken, join the laboratory's results "
                    "by sample id and write them. See docs/programs.md.")
    p.add_argument("tlog", help="the flight's telemetry log (.tlog, or a session's flight.tlog)")
    p.add_argument("--lab", help="laboratory results CSV (sample id -> species with units)")
    p.add_argument("--ids", help="sample ids of the events without a number, in order, "
                                 "comma separated (the field sheet)")
    p.add_argument("--name", dest="names", action="append",
                   help="NAMED_VALUE_INT name that marks a sample (repeatable; default "
                        "SAMPLE, CANISTER, BAG, VOC)")
    p.add_argument("--servo-pwm", type=positive, default=1700.0, metavar="US",
                   help="DO_SET_SERVO PWM at or above which a sampler opens (1700)")
    p.add_argument("--out", "-o", action="append", default=[], type=output_file, metavar="FILE",
                   help="write .nc, .csv, .kml, .kmz or .geojson (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``dronesense voc``."""
    from pathlib import Path

    from dronesense.products.voc_samples import join_lab_results, write_voc_samples
    from dronesense.sources.lab_results import read_lab_results
    from dronesense.sources.sampling_events import SAMPLE_NAMES, read_sampling_events
    from dronesense.sources.session_folder import SessionFolder

    tlog = Path(args.tlog)
    if tlog.is_dir():
        tlog = SessionFolder(tlog).tlog
    ids = [s.strip() for s in args.ids.split(",")] if args.ids else None
    events = read_sampling_events(tlog, ids=ids, names=args.names or SAMPLE_NAMES,
                                  servo_pwm=args.servo_pwm)
    if args.lab:
        data = join_lab_results(events, read_lab_results(args.lab))
    else:
        data = events
    for i, sid in enumerate(data["sample_id"].values):
        t = data["time"].values[i]
        when = "no time" if str(t) == "NaT" else str(t)[:19] + "Z"
        h = float(data["height"].values[i])
        where = "no position" if not math.isfinite(float(data["lat"].values[i])) else \
            f"{float(data['lat'].values[i]):.6f},{float(data['lon'].values[i]):.6f} " \
            f"height {h:.1f} m"
        species = [f"{k} {float(data[k].values[i]):.4g} {data[k].attrs.get('units', '')}"
                   for k in data.data_vars
                   if k not in ("sample_id", "event", "matched")
                   and math.isfinite(float(data[k].values[i]))]
        print(f"{sid}: {when}, {where}" + (f": {', '.join(species)}" if species else ""))
    if "matched" in data:
        lost = [str(s) for s, m in zip(data["sample_id"].values, data["matched"].values,
                                       strict=True) if m == 2]
        if lost:
            print(f"lab results without a sampling event (kept, no position): "
                  f"{', '.join(lost)}")
    for out in args.out:
        write_voc_samples(data, out, history=command_history("voc"))
        print(f"wrote {out}")
    return 0
