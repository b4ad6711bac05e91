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
from dronesense.sources.session_folder import SessionFolder


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
    from dronesense.products.exports import write_samples
    from dronesense.samples.journal import format_row, read_journal

    names = load_names(args.names) if args.names else None
    lags = parse_lags(args.lag, allow_auto=False) if args.lag else None
    rows = replay(args.source, names=names, max_gap_s=args.max_gap, lags=lags)
    flags = Counter(r.flag for r in rows)
    paired = flags.get(0, 0)
    share = f"{paired / len(rows):.0%}" if rows else "-"
    by_flag = dict(sorted(flags.items()))
    print(f"{args.source}: {len(rows)} samples, {share} paired, flags {by_flag}")
    if args.out:
        write_samples(rows, args.out, history=f"dronesense replay {' '.join(sys.argv[2:])}",
                      source=str(args.source))
        print(f"wrote {args.out}")
        return 0
    journal = SessionFolder.of(args.source).samples
    if journal.exists():
        live = [format_row(r) for r in read_journal(journal)]
        again = [format_row(r) for r in rows]
        if live == again:
            print(f"identical to {journal}")
            return 0
        first = next((k for k, (a, b) in enumerate(zip(live, again, strict=False)) if a != b),
                     min(len(live), len(again)))
        print(f"differs from {journal}: {len(live)} journal rows vs {len(again)} replayed, "
              f"first difference at row {first + 1}", file=sys.stderr)
        return 1
    return 0
