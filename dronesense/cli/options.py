"""Options shared by the sub-commands: one ``--lag`` grammar, one name-table loader, one history
builder, and the parsers of numbers, spacings and positions given on the command line.

Each parser turns command-line text into the values the library takes and reports a mistake in
one line naming the option (:class:`~dronesense.errors.InputError`).

The ``type=`` validators (:func:`finite`, :func:`non_negative`, :func:`positive`,
:func:`probability`, :func:`port`, :func:`connection`, :func:`output_file`,
:func:`output_dir`) refuse NaN, infinite, negative or out-of-range values while the options
are parsed; :class:`OneLineParser` prints such a mistake as one line (exit status 2).
Output paths follow one rule in every command: the folder an output goes into must exist
(it is never created), and an output is never written over a path of the other kind.

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
>>> positive("2.5"), non_negative("0")
(2.5, 0.0)
>>> positive("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 'nan' is not allowed: expected a finite number greater than 0
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from dronesense.errors import InputError

__all__ = [
    "MAX_LAG_S", "OneLineParser", "add_log_options", "add_pairing_options",
    "add_signing_options", "command_history",
    "connection", "finite", "load_names", "log_options", "non_negative", "output_dir",
    "output_file", "output_path", "parse_floats", "parse_lags", "parse_latlon", "parse_spacing",
    "port", "positive", "positive_int", "probability", "signing_key",
]

#: Largest sensor lag accepted, seconds (either sign).
MAX_LAG_S = 3600.0


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2):
    ``dronesense listen: error: --duration: 'nan' is not allowed: ...``."""

    def error(self, message: str):
        """Print ``dronesense COMMAND: error: --OPTION: MESSAGE`` (no usage lines, the same
        form as the library's errors) and exit with status 2."""
        prog = " ".join(self.prog.split()[:2])
        if message.startswith("argument "):
            message = message[len("argument "):]
        self.exit(2, f"{prog}: error: {message}\n")


def _number(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return value


def _refuse(text: str, allowed: str):
    return argparse.ArgumentTypeError(f"{text!r} is not allowed: expected {allowed}")


def finite(text: str) -> float:
    """``type=`` for a finite number (no NaN, no infinity)."""
    value = _number(text)
    if not math.isfinite(value):
        raise _refuse(text, "a finite number")
    return value


def non_negative(text: str) -> float:
    """``type=`` for a finite number >= 0."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise _refuse(text, "a finite number >= 0")
    return value


def positive(text: str) -> float:
    """``type=`` for a finite number > 0."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise _refuse(text, "a finite number greater than 0")
    return value


def positive_int(text: str) -> int:
    """``type=`` for a whole number > 0."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise _refuse(text, "a whole number greater than 0")
    return value


def probability(text: str) -> float:
    """``type=`` for a number in [0, 1]."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise _refuse(text, "a number from 0 to 1")
    return value


def port(text: str) -> int:
    """``type=`` for a TCP/UDP port number, 1-65535."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise _refuse(text, "a port number from 1 to 65535")
    return value


_NETWORK = ("udpin", "udpout", "udp", "udpbcast", "tcp", "tcpin")


def connection(text: str) -> str:
    """``type=`` for a connection string: ``udpin:HOST:PORT`` and the like must name a port in
    1-65535 (0, any free port, for the listening ``udpin:`` and ``tcpin:``); a serial device or
    other string is passed through.

    Examples
    --------
    >>> connection("udpin:0.0.0.0:14550")
    'udpin:0.0.0.0:14550'
    """
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in _NETWORK:
        _host, sep2, number = rest.rpartition(":")
        if not sep2:
            raise _refuse(text, f"{scheme}:HOST:PORT")
        lowest = 0 if scheme.lower() in ("udpin", "tcpin") else 1  # 0: any free port
        try:
            ok = lowest <= int(number) <= 65535
        except ValueError:
            ok = False
        if not ok:
            raise _refuse(text, f"{scheme}:HOST:PORT with PORT from {lowest} to 65535")
    return text


def _check_parent(path: Path, text: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r}: folder {str(parent)!r} does not exist (create it first)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r}: folder {str(parent)!r} is not writable")


def output_file(text: str) -> str:
    """``type=`` for an output file: its folder must exist and be writable, and the path must
    not be a folder. Parents are never created (the rule of every command)."""
    path = Path(text)
    if not text or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: expected a file name")
    _check_parent(path, text)
    return text


def output_path(text: str) -> str:
    """``type=`` for an output that may be a file or a folder (``.zarr``): its folder must
    exist and be writable."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file or folder name")
    _check_parent(Path(text), text)
    return text


def output_dir(text: str) -> str:
    """``type=`` for an output folder (a session, a set of mission files): created with its
    missing parents (``flights/2026-11-30-a``), but the nearest folder that exists must be
    writable, no part of the path may be a file, and no new tree is started at the root."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a folder name")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    if not path.exists():
        base = path.parent if str(path.parent) else Path(".")
        while not base.exists() and base != base.parent:
            base = base.parent
        if not base.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r}: {str(base)!r} is not a folder")
        if base == Path(base.anchor) and path.parent != base:  # never a new tree at /
            raise argparse.ArgumentTypeError(
                f"{text!r}: folder {str(path.parent)!r} does not exist (create it first)")
        if not os.access(base, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{text!r}: folder {str(base)!r} is not writable")
    elif not os.access(path, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r}: folder is not writable")
    return text


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
            if not (math.isfinite(sec) and abs(sec) <= MAX_LAG_S):
                raise InputError(f"--lag {part!r}: the lag must be a finite number of seconds "
                                 f"from -{MAX_LAG_S:g} to {MAX_LAG_S:g}")
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
    parser.add_argument("--max-gap", type=positive, default=1.0 if defaults else None,
                        metavar="S", help="longest time between two fixes that still gives "
                        "an interpolated position (default 1 s)")
    parser.add_argument("--lag", action="append", metavar="QUANTITY=S",
                        help="sensor lag to subtract from the reading time (repeatable)")


def add_signing_options(parser: argparse.ArgumentParser) -> None:
    """``--key`` / ``--key-file``: the MAVLink 2 signing key (``listen``, ``mission``,
    ``pair``, ``replay``)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--key", metavar="PASSPHRASE",
                   help="MAVLink 2 signing passphrase (the key is its SHA-256, as in MAVProxy "
                   "and QGroundControl): only packets signed with it are used")
    g.add_argument("--key-file", metavar="FILE",
                   help="MAVLink 2 signing key file: 32 raw bytes or 64 hex digits")


def signing_key(args) -> bytes | None:
    """The key of ``--key`` / ``--key-file`` (one-line errors naming the option)."""
    from dronesense.errors import ParameterError
    from dronesense.sources.signing import load_key

    try:
        return load_key(getattr(args, "key", None), getattr(args, "key_file", None))
    except ParameterError as err:
        raise err.with_name("--key") from None


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


def add_range_option(parser) -> None:
    """``--range Q=LOW:HIGH[:UNITS]`` (repeatable): plausible ranges of the pairing."""
    parser.add_argument("--range", action="append", dest="ranges", metavar="Q=LOW:HIGH[:UNITS]",
                        help="plausible range of a quantity, in its units (ch4 in ppm) unless "
                        "given (temperature=-30:50:degC); samples outside are kept and flagged "
                        "out_of_range; replaces the default and the --csv-map's [ranges] "
                        "entry of that quantity (repeatable)")


def plausible_ranges(args) -> dict:
    """The user's plausible ranges of :func:`add_range_option`, checked, for the ``ranges=``
    of the pairing (a ``--csv-map``'s ``[ranges]`` table applies there by itself, below
    these)."""
    from dronesense.flight.plausible import parse_range

    out: dict = {}
    for text in getattr(args, "ranges", None) or ():
        key, value = parse_range(text, "--range")
        out[key] = value
    return out


def command_history(command: str) -> str:
    """The ``history`` of a product: UTC now and the command line (``dronesense COMMAND``
    with this process's arguments; the value of ``--key`` shown as ``***``)."""
    from dronesense.sources.signing import redact_argv

    args = redact_argv(list(sys.argv[2:]))
    line = f"dronesense {command} " + " ".join(
        a if a in ("***", "--key=***") else shlex.quote(a) for a in args)
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
