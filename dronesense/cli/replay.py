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

from dronesense.cli.options import add_pairing_options, load_names, parse_lags


def register(subparsers) -> None:
    """Add the ``replay`` sub-command."""
    p = subparsers.add_parser(
        "replay", help="pair a recorded session or .tlog with the live engine",
        description="Run the packets of SESSION_DIR/flight.tlog (or any .tlog) through the "
        "same pairing code as `listen`. Settings default to those in session.json, so a "
        "session replays to exactly its journal; without --out the result is compared with "
        "the session's samples.csv.",
    )
    p.add_argument("source", metavar="SESSION_DIR|FILE.tlog")
    p.add_argument("--out", metavar="samples.csv|.nc", help="write the samples here")
    add_pairing_options(p, defaults=False)
    p.set_defaults(func=run)


def run(args) -> int:
    """Replay; returns 0, or 1 when a session's journal differs from its replay."""
    from dronesense.flight.pipeline import replay
    from dronesense.live.replay_check import compare_journal
    from dronesense.products.exports import write_samples

    names = load_names(args.names) if args.names else None
    lags = parse_lags(args.lag, allow_auto=False) if args.lag else None
    rows = replay(args.source, names=names, max_gap_s=args.max_gap, lags=lags)
    flags = Counter(r.flag for r in rows)
    share = f"{flags.get(0, 0) / len(rows):.0%}" if rows else "-"
    print(f"{args.source}: {len(rows)} samples, {share} paired, "
          f"flags {dict(sorted(flags.items()))}")
    if args.out:
        write_samples(rows, args.out, history=f"dronesense replay {' '.join(sys.argv[2:])}",
                      source=str(args.source))
        print(f"wrote {args.out}")
        return 0
    check = compare_journal(rows, args.source)
    if check is None:
        return 0
    if check.identical:
        print(f"identical to {check.journal}")
        return 0
    print(f"differs from {check.journal}: {check.journal_rows} journal rows vs {check.rows} "
          f"replayed, first difference at row {check.first_difference + 1}", file=sys.stderr)
    return 1
