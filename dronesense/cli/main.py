"""The ``dronesense`` command.

Each sub-command lives in its own module under :mod:`dronesense.cli` and provides
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from dronesense._version import __version__
from dronesense.cli.options import OneLineParser
from dronesense.errors import DronesenseError, ParameterError

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "listen", "replay", "pair", "export", "grid", "campaign", "flux", "plot", "view", "mission",
    "demo", "profile", "emission_factors", "voc",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered, or only the sub-command
    ``only`` (what :func:`main` builds when the command line names one: the other
    sub-commands' modules, and the libraries they import, are then never loaded)."""
    parser = OneLineParser(  # usage errors in one line; sub-commands inherit the class
        prog="dronesense",
        description="Ground-station toolkit for air-quality drones.",
    )
    parser.add_argument("--version", action="version", version=f"dronesense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"dronesense.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"dronesense.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def option_for(parser: argparse.ArgumentParser, command: str, parameter: str) -> str:
    """The option of ``command`` that sets a library parameter (``max_offset`` ->
    ``--max-offset``), or the parameter's own name when no option has its name."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    cmd = sub.choices.get(command) if sub is not None else None
    if cmd is not None:
        for action in cmd._actions:
            if action.dest == parameter:
                return action.option_strings[-1] if action.option_strings else action.metavar \
                    or parameter
    return parameter


def resolve_quantities(args: argparse.Namespace) -> None:
    """Quantity options given by key, wire name or alias (``CH4``, ``methane``, ``PM2.5``)
    become quantity keys; a near miss is an error with "did you mean"
    (:meth:`dronesense.quantities.NameTable.resolve`)."""
    dests = [d for d in ("quantity", "quantities", "mlh_quantity")
             if isinstance(getattr(args, d, None), str | list)]
    if not dests:
        return
    from dronesense.quantities import NameTable

    names = getattr(args, "names", None)
    table = NameTable.from_file(names) if isinstance(names, str) else NameTable.default()

    def one(text):
        if not isinstance(text, str) or not text:
            return text
        return ",".join(table.resolve(t.strip(), strict=False) if t.strip() else t
                        for t in text.split(","))

    for dest in dests:
        value = getattr(args, dest)
        setattr(args, dest, [one(v) for v in value] if isinstance(value, list) else one(value))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    words = sys.argv[1:] if argv is None else argv
    only = words[0].replace("-", "_") if words else None
    parser = build_parser(only if only in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as end:  # a usage error, already printed in one line: its status
        if end.code in (0, None):  # --help, --version
            raise
        return end.code if isinstance(end.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        resolve_quantities(args)
        return int(args.func(args) or 0)
    except DronesenseError as err:
        if isinstance(err, ParameterError):
            err = err.with_name(option_for(parser, args.command, err.parameter))
        print(f"dronesense {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dronesense {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into a reader that stopped early (``| head``): end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
