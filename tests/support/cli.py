"""The command line run in-process, for tests of its exit codes and one-line errors."""

from __future__ import annotations

from dronesense.cli.main import main


def exit_code(argv: list[str]) -> int:
    """The command line's exit code for ``argv`` (argparse errors exit too)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
