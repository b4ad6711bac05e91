"""Sample rows: one sensor reading with the vehicle position at the moment the air was sampled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple


class Flag:
    """Quality flag values of a sample (the ``flag`` column)."""

    PAIRED = 0
    GAP = 1
    BEFORE_TRACK = 2
    AFTER_TRACK = 3
    NO_FIX = 4
    REBOOT = 5
    #: paired (the position is there) but the value is outside its quantity's plausible
    #: range (:data:`dronesense.quantities.PLAUSIBLE_RANGES`): kept, not gridded
    OUT_OF_RANGE = 6


#: ``flag_meanings`` in flag order (CF attribute).
FLAG_MEANINGS = ("paired", "position_gap", "before_track", "after_track", "no_gps_fix", "reboot",
                 "out_of_range")


class SampleRow(NamedTuple):
    """One paired reading; fields are the journal columns.

    Times and the position refer to the moment the air was sampled: the reading's vehicle
    time minus the quantity's lag (equal to the wire time when no lag is set). Missing values
    (position of an unpaired reading, UTC before the clock is known) are ``None``.
    ``time_source`` says where ``time_utc`` came from: ``sync`` (the vehicle clock mapped to
    UTC by SYSTEM_TIME), ``receive`` (no clock sync for that boot: the ground receive time of
    the reading) or empty (unknown).
    """

    time_utc: str | None
    time_boot_ms: float
    boot: int
    sysid: int
    lat: float | None
    lon: float | None
    alt_amsl: float | None
    height: float | None
    quantity: str
    name: str
    value: float
    units: str
    position_gap: float | None
    flag: int
    time_source: str


#: Journal columns, in order.
COLUMNS: tuple[str, ...] = SampleRow._fields

FLOAT_COLUMNS = {"time_boot_ms", "lat", "lon", "alt_amsl", "height", "value", "position_gap"}
INT_COLUMNS = {"boot", "sysid", "flag"}


_EPOCH = datetime(1970, 1, 1)


#: UTC text of whole seconds already formatted (format_utc is called for every row).
_utc_prefix_cache: dict[int, str] = {}


def format_utc(unix_us: int) -> str:
    """ISO 8601 UTC with microseconds and ``Z`` from integer UNIX microseconds.

    Examples
    --------
    >>> format_utc(1_714_557_600_123_456)
    '2024-05-01T10:00:00.123456Z'
    >>> format_utc(-1)
    '1969-12-31T23:59:59.999999Z'
    """
    sec, us = divmod(int(unix_us), 1_000_000)
    prefix = _utc_prefix_cache.get(sec)
    if prefix is None:  # one strftime per second of data, not per sample
        if len(_utc_prefix_cache) > 4096:
            _utc_prefix_cache.clear()
        prefix = _utc_prefix_cache[sec] = (
            (_EPOCH + timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{prefix}.{us:06d}Z"
