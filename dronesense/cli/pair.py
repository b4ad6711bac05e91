"""``dronesense pair``: read flight logs after the flight and write paired samples.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["pair", "f.tlog", "--out", "s.nc", "--lag", "ch4=auto"])
>>> a.logs, a.out, a.lag
(['f.tlog'], 's.nc', ['ch4=auto'])
"""

from __future__ import annotations

from dronesense.cli.options import add_log_options, command_history, log_options

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``pair`` sub-command."""
    p = subparsers.add_parser(
        "pair", help="pair the readings of flight logs with positions (post-flight)",
        description="Read .tlog, DataFlash .bin, PX4 ULog .ulg, CSV tracks or session "
        "directories, align clocks, apply declared or estimated sensor lags, pair every "
        "reading with the position at its sampling time and write CF trajectory samples. "
        "Bad bytes are skipped and reported with their offsets; the exit status is non-zero "
        "only when nothing usable is left.",
    )
    p.add_argument("logs", nargs="+", metavar="LOG",
                   help=".tlog, .bin, .ulg, .csv or session dir")
    p.add_argument("--out", required=True,
                   metavar="samples.nc|.csv|.parquet|.geojson|.kml|.kmz")
    p.add_argument("--quantity", "-q", action="append", metavar="Q",
                   help="keep only this quantity key (repeatable)")
    add_log_options(p)
    p.add_argument("--max-gap", type=float, default=1.0, metavar="S",
                   help="longest time between fixes that still gives a position (1 s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    """Pair the logs, write the samples, print the summary."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from dronesense.flight.postflight import pair_logs
    from dronesense.products.exports import GEO_FORMATS, geometry_note, split_paired, write_samples

    options = log_options(args)
    console = Console(stderr=True)
    progress = None
    bar = None
    if not args.quiet and console.is_terminal:
        bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                       console=console, transient=True)
        tasks: dict[str, int] = {}

        def progress(desc, done, total):
            task = tasks.get(desc)
            if task is None:
                task = tasks[desc] = bar.add_task(desc, total=total)
            bar.update(task, completed=done, total=total)

        bar.start()
    try:
        rows, summary = pair_logs(args.logs, max_gap_s=args.max_gap,
                                  quantities=args.quantity, progress=progress, **options)
    finally:
        if bar is not None:
            bar.stop()
    for line in summary.lines():
        print(line)
    out = write_samples(rows, args.out, names=options["names"],
                        history=command_history("pair"), source=", ".join(summary.files))
    note = geometry_note(rows, out)
    if note:
        print(f"note: {note}")
    kept = len(split_paired(rows)[0]) if out.suffix.lower() in GEO_FORMATS else len(rows)
    print(f"wrote {kept} samples to {out}")
    return 0
