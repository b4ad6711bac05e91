"""Long fuzzing of every parser: mutated valid files and random bytes, for a given time.

Runs the targets of ``tests/sources/fuzz_targets.py`` (tlog reader and record walk, MAVLink
framing, DataFlash, CSV track, ``.plan``, ``.waypoints``, field TOML, serial payload frames,
samples files) round-robin and prints, per parser, the cases run and the tracebacks found
(an exception that is not one of the project's errors, or a case running over 20 s), with the
first of each kind.

Usage: ``python benchmarks/fuzz_parsers.py [SECONDS] [SEED]`` (default 300 s, seed 1).
Exit status 1 when a traceback was found. Not part of ``python -m benchmarks``.
"""

from __future__ import annotations

import faulthandler
import random
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sources.fuzz_targets import ALLOWED, TARGETS, mutate

#: Longest a single case may run (seconds) before it is reported as a hang.
LIMIT_S = 20.0


class Hang(BaseException):  # not an Exception: a parser's "except Exception" cannot eat it
    """A case that ran longer than the limit (a parser that loops)."""


def _alarm(signum, frame):
    raise Hang("no result after the time limit")


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 300.0
    rng = random.Random(int(argv[2]) if len(argv) > 2 else 1)
    seeds = {name: seed() for name, (_, seed) in TARGETS.items()}
    cases: Counter[str] = Counter()
    found: dict[tuple[str, str], tuple[int, str, bytes]] = {}
    end = time.monotonic() + seconds
    names = sorted(TARGETS)
    signal.signal(signal.SIGALRM, _alarm)
    faulthandler.dump_traceback_later(LIMIT_S * 3, repeat=True)  # a hang in compiled code
    while time.monotonic() < end:
        for name in names:
            func = TARGETS[name][0]
            if rng.random() < 0.8:
                data = mutate(seeds[name], rng)
            else:
                data = rng.randbytes(rng.randint(0, 600))
            cases[name] += 1
            signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
            try:
                func(data)
            except ALLOWED:
                pass
            except (Exception, Hang) as err:  # a traceback a user would see
                where = traceback.extract_tb(err.__traceback__)[-1]
                key = (name, f"{type(err).__name__} at {Path(where.filename).name}:"
                             f"{where.lineno}")
                n, text, first = found.get(key, (0, traceback.format_exc(), data))
                found[key] = (n + 1, text, first)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    total = sum(cases.values())
    print(f"fuzzed {total} cases in {seconds:.0f} s")
    for name in names:
        bad = sum(n for (t, _), (n, _, _) in found.items() if t == name)
        print(f"  {name:14s} {cases[name]:8d} cases, {bad} tracebacks")
    for (name, kind), (n, text, first) in sorted(found.items()):
        print(f"\n{name}: {kind} x{n}; first input {first[:80]!r}\n{text}")
    print(f"tracebacks found: {sum(n for n, _, _ in found.values())} "
          f"({len(found)} distinct)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
