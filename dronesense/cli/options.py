"""Options shared by the sub-commands: one ``--lag`` grammar, one name-table loader, one history
builder, and the parsers of numbers, spacings and positions given on the command line.

Each parser turns command-line text into the values the library takes and reports a mistake in
one line naming the option (:class:`~dronesense.errors.InputError`).

Examples
--------
>>> parse_lags(["ch4=1.5,pm2p5=auto"])
{'ch4': 1.5, 'pm2p5': 'auto'}
>>> parse_lags(["auto"])
'auto'
>>> parse_spacing("10,5")
(10.0, 10.0, 5.0)
>>> parse_latlon("50.99,6.98", "--source")
(50.99, 6.98)
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from datetime import UTC, datetime

from dronesense.errors import InputError

__all__ = [
    "add_log_options", "add_pairing_options", "command_history", "load_names", "log_options",
    "parse_floats", "parse_lags", "parse_latlon", "parse_spacing",
]


def parse_lags(items: list[str] | None, *, allow_auto: bool = True
               ) -> dict[str, float | str] | str | None:
    """``--lag`` options (repeatable, comma-separated): ``Q=SECONDS``, ``Q=auto`` or ``auto``.

    Returns the ``lags`` argument of the library (:func:`dronesense.flight.lag.split_lags`):
    a mapping of quantity to seconds or ``"auto"``, the string ``"auto"`` for every quantity,
    or ``None`` when no option was given.
    """
    if not items:
        return None
    out: dict[str, float | str] = {}
    every = False
    for spec in items:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            if part == "auto" and allow_auto:
                every = True
                continue
            key, sep, val = part.partition("=")
            key, val = key.strip(), val.strip()
            if not sep or not key:
                raise InputError(f"--lag {part!r}: expected QUANTITY=SECONDS"
                                 + (", QUANTITY=auto or auto" if allow_auto else ""))
            if val == "auto":
                if not allow_auto:
                    raise InputError(f"--lag {part!r}: a live lag must be a number of seconds "
                                     "(estimate it afterwards with dronesense pair --lag "
                                     f"{key}=auto)")
                out[key] = "auto"
                continue
            try:
                sec = float(val)
            except ValueError:
                raise InputError(f"--lag {part!r}: {val!r} is not a number of seconds") from None
            if not math.isfinite(sec):
                raise InputError(f"--lag {part!r}: the lag must be a finite number of seconds")
            out[key] = sec
    if every:
        if out:
            raise InputError("--lag auto estimates every lag: give it alone")
        return "auto"
    return out


def add_pairing_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Options shared by ``listen`` and ``replay``: names, max gap, lags."""
    parser.add_argument("--names", metavar="MAP.toml",
                        help="name mapping file: wire names -> quantities (extends defaults)")
    parser.add_argument("--max-gap", type=float, default=1.0 if defaults else None,
                        metavar="S", help="longest time between two fixes that still gives "
                        "an interpolated position (default 1 s)")
    parser.add_argument("--lag", action="append", metavar="QUANTITY=S",
                        help="sensor lag to subtract from the reading time (repeatable)")


def load_names(path: str | None):
    """The name table: defaults, extended by a mapping file if given."""
    from dronesense.quantities import NameTable

    return NameTable.from_file(path) if path else NameTable.default()


def add_log_options(parser) -> None:
    """Options for reading and pairing flight logs, shared by ``pair``, ``export`` and
    ``flux``: ``--lag``, ``--names``, ``--csv-map``, ``--records``."""
    parser.add_argument("--lag", action="append", metavar="Q=SECONDS|Q=auto|auto",
                        help="sensor lag per quantity, declared or estimated from the data "
                        "(repeatable)")
    parser.add_argument("--names", metavar="MAP.toml", help="wire name -> quantity mapping")
    parser.add_argument("--csv-map", metavar="MAP.toml", help="column mapping for CSV tracks")
    parser.add_argument("--records", metavar="MAP.toml",
                        help="DataFlash custom record mapping ([records.PART] ...)")


def log_options(args) -> dict:
    """Keyword arguments of :func:`dronesense.flight.postflight.pair_logs` from the options of
    :func:`add_log_options`: ``names``, ``lags``, ``auto``, ``auto_all``, ``csv_map``,
    ``record_map``."""
    from dronesense.flight.lag import split_lags

    out: dict = {"names": load_names(getattr(args, "names", None)), "csv_map": None,
                 "record_map": None}
    if getattr(args, "csv_map", None):
        from dronesense.sources.csvtrack import load_csv_map

        out["csv_map"] = load_csv_map(args.csv_map)
    if getattr(args, "records", None):
        from dronesense.sources.dataflash import load_record_map

        out["record_map"] = load_record_map(args.records)
    out["lags"], out["auto"], out["auto_all"] = split_lags(parse_lags(args.lag))
    return out


def command_history(command: str) -> str:
    """The ``history`` of a product: UTC now and the command line (``dronesense COMMAND``
    with this process's arguments)."""
    line = f"dronesense {command} " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}".rstrip()


def parse_floats(text: str, n: int | tuple[int, ...] | None, what: str) -> tuple[float, ...]:
    """``a,b,c`` (or ``a:b:c``) as finite floats; ``n`` the allowed counts (any if None)."""
    try:
        vals = tuple(float(t) for t in text.replace(":", ",").split(","))
    except ValueError:
        raise InputError(f"{what}: expected numbers separated by commas, got {text!r}") from None
    ns = (n,) if isinstance(n, int) else n
    if ns is not None and len(vals) not in ns:
        raise InputError(f"{what}: expected {' or '.join(map(str, ns))} numbers, got {text!r}")
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"{what}: expected finite numbers, got {text!r}")
    return vals


def parse_spacing(text: str, what: str = "--spacing") -> tuple[float, float, float]:
    """``D`` (all three), ``DXY,DZ`` or ``DX,DY,DZ`` in metres."""
    vals = parse_floats(text, (1, 2, 3), what)
    if len(vals) == 1:
        return (vals[0], vals[0], vals[0])
    if len(vals) == 2:
        return (vals[0], vals[0], vals[1])
    return vals  # type: ignore[return-value]


def parse_latlon(text: str, what: str) -> tuple[float, float]:
    """``LAT,LON`` in decimal degrees."""
    lat, lon = parse_floats(text, 2, what)
    return lat, lon
