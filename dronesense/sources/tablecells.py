"""The cells of a mapped table as numbers and as times (:mod:`dronesense.sources.csvmap`).

:func:`to_float` reads a text column as numbers (decimal comma, missing markers);
:func:`row_times` turns the time column(s) into milliseconds, UNIX or vehicle time, by the
map's ``time_format``, ``date`` and ``timezone``; :func:`tzinfo_of` reads a time zone.

Examples
--------
>>> import pandas as pd
>>> to_float(pd.Series(["1,5", "NA", "x"]), ",", {"NA"}).tolist()
[1.5, nan, nan]
>>> tzinfo_of("+02:00"), tzinfo_of("UTC")
(datetime.timezone(datetime.timedelta(seconds=7200)), datetime.timezone.utc)
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone
from pathlib import Path

import numpy as np

from dronesense.errors import InputError

__all__ = ["row_times", "to_float", "tzinfo_of"]

_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?$")
_DATE_DIRECTIVES = ("%Y", "%y", "%m", "%d", "%j", "%b", "%B", "%F", "%D", "%c", "%x")


def to_float(series, decimal: str, markers: set[str]) -> np.ndarray:
    """Numbers of a text column; NaN for missing markers and text that is no number."""
    import pandas as pd

    text = series.astype(str).str.strip()
    miss = text.isin(markers) | series.isna()
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    out = pd.to_numeric(text.where(~miss, None), errors="coerce").to_numpy(dtype=float,
                                                                          copy=True)
    numeric = []
    for m in markers:
        try:
            numeric.append(float(m.replace(decimal, ".")))
        except ValueError:
            pass
    if numeric:
        out[np.isin(out, numeric)] = np.nan
    return out




def tzinfo_of(name: str, path=None):
    """A tzinfo for ``UTC``, an offset ``+02:00`` or an IANA name."""
    name = (name or "UTC").strip()
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2}):?(\d{2})?", name)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return timezone((-1 if m.group(1) == "-" else 1) * timedelta(minutes=minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise InputError(f"timezone: {name!r} is not a time zone (use 'UTC', an offset such "
                         "as '+02:00' or a name such as 'Europe/Rome')", path=path) from None


def row_times(df, tmap, markers: set[str], path: Path, notes: list[str]) -> np.ndarray:
    """Row times in ms (UNIX or vehicle time by ``tmap.time_format``), NaN where
    unreadable; what was assumed goes to ``notes``.

    Raises
    ------
    InputError
        Times of day without ``tmap.date``, numbers too small for UNIX time, a bad zone.
    """
    cols = tmap.time_columns
    text = df[cols[0]].astype(str).str.strip()
    for c in cols[1:]:
        text = text + " " + df[c].astype(str).str.strip()
    text = text.str.strip()
    fmt = tmap.time_format
    scale = {"unix_s": 1e3, "unix_ms": 1.0, "unix_us": 1e-3, "boot_ms": 1.0, "boot_s": 1e3}
    if fmt in scale:
        t = to_float(text, tmap.decimal, markers) * scale[fmt]
    elif fmt == "auto":
        t = _auto_times(text, tmap, markers, path, notes)
    else:
        t = _text_times(text, tmap, fmt, path, notes)
    if tmap.ms_column:
        ms = to_float(df[tmap.ms_column], tmap.decimal, markers)
        # whole-second clock refined by a running milliseconds column
        t = np.floor(t / 1000.0) * 1000.0 + np.where(np.isfinite(ms), ms % 1000.0, 0.0)
    return t


def _auto_times(text, tmap, markers, path, notes) -> np.ndarray:
    numbers = to_float(text, tmap.decimal, markers)
    present = ~text.isin(markers).to_numpy()
    if present.any() and np.isfinite(numbers[present]).mean() > 0.5:  # mostly numbers
        size = float(np.nanmedian(np.abs(numbers)))
        for limit, factor in ((1e14, 1e-3), (1e11, 1.0), (1e8, 1e3)):
            if size >= limit:
                return numbers * factor
        raise InputError(f"time column {tmap.time!r} holds numbers too small for UNIX time "
                         f"(e.g. {size:g}): give time_format = \"boot_s\" or \"boot_ms\" for "
                         "time since boot, or the format of the numbers", path=path)
    return _text_times(text, tmap, "iso", path, notes)


def _text_times(text, tmap, fmt: str, path, notes) -> np.ndarray:
    """UNIX ms of text times (ISO 8601 or a strptime format), dates added to times of day."""
    import pandas as pd

    sample = text[text != ""].head(20).tolist()
    time_of_day = bool(sample) and all(_TIME_OF_DAY.match(s) for s in sample)
    if fmt != "iso":
        time_of_day = not any(d in fmt for d in _DATE_DIRECTIVES)
    if time_of_day:
        if not tmap.date:
            raise InputError(f"time column {tmap.time!r} holds times of day without a date "
                             f"(e.g. {sample[0] if sample else '?'}): give date = "
                             "\"YYYY-MM-DD\" in the map (and timezone if not UTC)", path=path)
        text = tmap.date.strip() + " " + text.str.replace(",", ".", regex=False)
        fmt = "iso" if fmt == "iso" else "%Y-%m-%d " + fmt
    tz = tzinfo_of(tmap.timezone, path)
    kw = {"format": "ISO8601"} if fmt == "iso" else {"format": fmt}
    if tz is UTC:
        t = pd.to_datetime(text, errors="coerce", utc=True, **kw)
    else:
        try:
            t = pd.to_datetime(text, errors="coerce", **kw)
            if getattr(t.dt, "tz", None) is None:
                t = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            t = t.dt.tz_convert("UTC")
        except (AttributeError, TypeError, ValueError):  # offsets on some times only
            t = pd.to_datetime(text, errors="coerce", utc=True, **kw)
            notes.append(f"times with and without an offset mixed: those without are taken "
                         f"as UTC, not {tmap.timezone}")
    ns = t.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    ns[t.isna().to_numpy()] = np.nan
    ms = ns / 1e6
    if time_of_day:
        ms = _roll_days(ms, notes)
        notes.append(f"times of day dated {tmap.date} ({tmap.timezone or 'UTC'}) as the map "
                     "says")
    return ms


def _roll_days(ms: np.ndarray, notes: list[str]) -> np.ndarray:
    """Times of day that pass midnight: each jump back of more than 12 h adds a day."""
    finite = np.isfinite(ms)
    if finite.sum() < 2:
        return ms
    t = ms[finite]
    back = np.diff(t) < -12 * 3600e3
    if not back.any():
        return ms
    days = np.concatenate([[0], np.cumsum(back)])
    out = ms.copy()
    out[finite] = t + days * 86400e3
    notes.append(f"times of day pass midnight {int(back.sum())} time(s): the next day is used")
    return out
