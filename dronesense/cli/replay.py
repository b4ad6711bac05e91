"""``dronesense replay``: run a recorded session or tlog through the live pairing engine.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> p.parse_args(["replay", "s1", "--out", "x.nc"]).out
'x.nc'
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from dronesense.cli.options import (
    add_pairing_options,
    add_signing_options,
    command_history,
    load_names,
    output_file,
    parse_lags,
    signing_key,
)


def register(subparsers) -> None:
    """Add the ``replay`` sub-command."""
    p = subparsers.add_parser(
        "replay", help="pair a recorded session or .tlog with the live engine",
        description="Run the packets of SESSION_DIR/flight.tlog (or any .tlog) through the "
        "same pairing code as `listen`. Settings default to those in session.json, so a "
        "session replays to exactly its journal; without --out the result is compared with "
        "the session's samples.csv. A session recorded with a signing key replays with "
        "--key/--key-file: only validly signed packets are paired, as live.",
    )
    p.add_argument("source", metavar="SESSION_DIR|FILE.tlog")
    p.add_argument("--out", type=output_file,
                   metavar="samples.csv|.nc", help="write the samples here")
    add_pairing_options(p, defaults=False)
    add_signing_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Replay; returns 0, or 1 when a session's journal differs from its replay."""
    import numpy as np

    from dronesense.cli.pair import write_samples_columns
    from dronesense.errors import NoUsableDataError
    from dronesense.flight.columns import SampleColumns
    from dronesense.flight.pipeline import replay_columns
    from dronesense.live.replay_check import compare_journal
    from dronesense.products.exports import write_samples

    names = load_names(args.names) if args.names else None
    lags = parse_lags(args.lag, allow_auto=False) if args.lag else None
    key = signing_key(args)
    rows = replay_columns(args.source, key=key, names=names, max_gap_s=args.max_gap, lags=lags)
    if not len(rows):  # as `pair` does: nothing to replay is not a success
        raise NoUsableDataError(f"nothing usable: {args.source}: no sensor readings")
    columnar = isinstance(rows, SampleColumns)
    flags = (Counter({int(f): int(n) for f, n in enumerate(np.bincount(rows.flag)) if n})
             if columnar else Counter(r.flag for r in rows))
    share = f"{flags.get(0, 0) / len(rows):.0%}" if len(rows) else "-"
    print(f"{args.source}: {len(rows)} samples, {share} paired, "
          f"flags {dict(sorted(flags.items()))}")
    if args.out:
        suffix = Path(args.out).suffix.lower()
        if columnar and suffix == ".csv":
            write_samples_columns(rows, args.out)
        elif columnar and suffix == ".nc":  # straight from the arrays, as `pair` writes it
            from dronesense.samples.netcdf import write_columns_netcdf

            write_columns_netcdf(rows, args.out, names=names, history=command_history("replay"),
                                 source=str(args.source))
        else:
            if columnar and suffix != ".nc":  # the other writers take rows
                rows = rows.rows()
            write_samples(rows, args.out, names=names,
                          history=command_history("replay"),
                          source=str(args.source))
        print(f"wrote {args.out}")
        return 0
    if columnar:
        rows = rows.rows()
    check = compare_journal(rows, args.source)
    if check is None:
        return 0
    if check.identical:
        print(f"identical to {check.journal}")
        return 0
    print(f"differs from {check.journal}: {check.journal_rows} journal rows vs {check.rows} "
          f"replayed, first difference at row {check.first_difference + 1}", file=sys.stderr)
    return 1
