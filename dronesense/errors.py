"""Errors that reach the user as one clear line."""

from __future__ import annotations

from pathlib import Path


class DronesenseError(Exception):
    """An error the user can act on: printed as one line by the CLI, no traceback.

    Parameters
    ----------
    message
        What went wrong, in words a field operator understands.
    path
        The file or connection it concerns, if any.
    offset
        Byte offset in that file, if known.

    Examples
    --------
    >>> str(DronesenseError("not a MAVLink log", path="flight.tlog", offset=120))
    'flight.tlog (byte 120): not a MAVLink log'
    """

    def __init__(self, message: str, *, path: object | None = None, offset: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.offset = offset
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or ""
        if self.offset is not None:
            where = f"{where} (byte {self.offset})" if where else f"byte {self.offset}"
        return f"{where}: {self.message}" if where else self.message


class InputError(DronesenseError):
    """A file, mapping or option the user gave cannot be used."""


class NoUsableDataError(DronesenseError):
    """Nothing usable was left after skipping bad input."""


class ParameterError(InputError, ValueError):
    """A parameter value the library cannot use, named by its parameter.

    It is a :class:`ValueError` for a program calling the library and an :class:`InputError`
    for the command line, which names the option that sets the parameter instead.

    Examples
    --------
    >>> err = ParameterError("max_offset", "must be a positive distance in metres, got -1.0")
    >>> str(err), err.parameter, isinstance(err, ValueError)
    ('max_offset: must be a positive distance in metres, got -1.0', 'max_offset', True)
    >>> err.with_name("--max-offset").message
    '--max-offset: must be a positive distance in metres, got -1.0'
    """

    def __init__(self, parameter: str, message: str, *, path: object | None = None):
        self.parameter = parameter
        self.detail = message
        super().__init__(f"{parameter}: {message}", path=path)

    def with_name(self, name: str) -> ParameterError:
        """The same error naming the parameter ``name`` (an option of the command line)."""
        err = ParameterError(name, self.detail, path=self.path)
        err.parameter = self.parameter
        return err


def read_text(path, what: str = "file") -> str:
    """The text of a user's file, or an :class:`InputError` that says why it cannot be read.

    Examples
    --------
    >>> try:
    ...     read_text("/no/such/mission.plan", "mission")
    ... except InputError as err:
    ...     print(err)
    /no/such/mission.plan: cannot read mission (No such file or directory)
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read {what} ({reason})", path=path) from None
