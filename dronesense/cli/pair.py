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

from pathlib import Path

from dronesense.cli.options import (
    add_log_options,
    add_range_option,
    add_signing_options,
    command_history,
    log_options,
    output_file,
    plausible_ranges,
    positive,
    signing_key,
)

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
    p.add_argument("--out", required=True, type=output_file,
                   metavar="samples.nc|.csv|.parquet|.geojson|.kml|.kmz")
    p.add_argument("--quantity", "-q", action="append", metavar="Q",
                   help="keep only this quantity key (repeatable)")
    add_log_options(p)
    add_range_option(p)
    p.add_argument("--max-gap", type=positive, default=1.0, metavar="S",
                   help="longest time between fixes that still gives a position (1 s)")
    add_signing_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def write_samples_columns(cols, path) -> Path:
    """Write :class:`~dronesense.flight.columns.SampleColumns` to a samples ``.csv`` journal
    (the text :func:`~dronesense.products.exports.write_samples` writes for their rows)."""
    from dronesense.errors import InputError
    from dronesense.samples.journal import JournalWriter

    path = Path(path)
    try:
        with JournalWriter(path) as journal:
            journal.write_columns(cols)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    return path


def run(args) -> int:
    """Pair the logs, write the samples, print the summary."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from dronesense.flight.postflight import pair_logs
    from dronesense.products.exports import GEO_FORMATS, geometry_note, split_paired, write_samples

    options = log_options(args)
    ranges = plausible_ranges(args)
    key = signing_key(args)
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
    suffix = Path(args.out).suffix.lower()
    columnar = suffix in (".nc", ".csv")  # written from arrays, no Python object per sample
    try:
        rows, summary = pair_logs(args.logs, max_gap_s=args.max_gap, quantities=args.quantity,
                                  progress=progress, as_columns=columnar, key=key,
                                  ranges=ranges or None, **options)
    finally:
        if bar is not None:
            bar.stop()
    for line in summary.lines():
        print(line)
    history, source = command_history("pair"), ", ".join(summary.files)
    if suffix == ".csv":
        out = write_samples_columns(rows, args.out)
    elif suffix == ".nc":  # straight from the arrays, no xarray Dataset
        from dronesense.samples.netcdf import write_columns_netcdf

        out = write_columns_netcdf(rows, args.out, names=options["names"], history=history,
                                   source=source)
    else:
        out = write_samples(rows, args.out, names=options["names"], history=history,
                            source=source)
    note = None if columnar else geometry_note(rows, out)
    if note:
        print(f"note: {note}")
    kept = len(split_paired(rows)[0]) if out.suffix.lower() in GEO_FORMATS else len(rows)
    print(f"wrote {kept} samples to {out}")
    return 0
