"""The ``dronesense`` command: a thin shell over the library, one module per sub-command."""

from dronesense.cli.main import main

__all__ = ["main"]
