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
from dronesense.errors import DronesenseError, ParameterError

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "listen", "replay", "pair", "export", "grid", "campaign", "flux", "plot", "mission", "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="dronesense",
        description="Ground-station toolkit for air-quality drones.",
    )
    parser.add_argument("--version", action="version", version=f"dronesense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
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
