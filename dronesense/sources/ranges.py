"""Plausible ranges the user sets, checked: ``{key: (low, high, units)}``.

:func:`check_ranges` checks a table of ranges (a Python mapping, a map file's ``[ranges]``
table: :func:`dronesense.sources.csvmap.map_ranges`); :func:`parse_range` one
``--range KEY=LOW:HIGH[:UNITS]`` option. Both only check and normalise: flagging the samples
outside is :mod:`dronesense.flight.plausible`, which uses them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from dronesense.errors import ParameterError
from dronesense.quantities import QUANTITIES, file_units, parse_units

__all__ = ["check_ranges", "parse_range"]


def check_ranges(ranges: Mapping, parameter: str = "ranges"
                 ) -> dict[str, tuple[float, float, str]]:
    """User ranges as ``{key: (low, high, units)}``, each checked.

    An entry is ``(low, high)`` in the quantity's own units (``ch4``: ``1e-6``, i.e. ppm;
    :data:`dronesense.quantities.QUANTITIES`) or ``(low, high, units)`` in any units that
    convert to them (``"ppb"``, ``"K"``); a key dronesense does not know needs its units.

    Raises
    ------
    ParameterError
        Named ``parameter``, for a range that is not two finite numbers low < high, or units
        that are not units or do not convert to the quantity's.

    Examples
    --------
    >>> check_ranges({"ch4": (0, 100), "temperature": [250, 320, "K"]})
    {'ch4': (0.0, 100.0, '1e-6'), 'temperature': (250.0, 320.0, 'K')}
    >>> check_ranges({"ch4": (5, 1)})
    Traceback (most recent call last):
    ...
    dronesense.errors.ParameterError: ranges: ch4: the low end 5 is not below the high end 1
    """
    out: dict[str, tuple[float, float, str]] = {}
    for key, entry in ranges.items():
        where = f"{key}: "
        items = list(entry) if isinstance(entry, list | tuple) else None
        if items is None or len(items) not in (2, 3):
            raise ParameterError(parameter, f"{where}expected (low, high) or (low, high, "
                                 f"units), got {entry!r}")
        try:
            lo, hi = (float(v) for v in items[:2])
        except (TypeError, ValueError):
            raise ParameterError(parameter, f"{where}expected numbers, got {items[0]!r} and "
                                 f"{items[1]!r}") from None
        if isinstance(items[0], bool) or isinstance(items[1], bool) or not (
                math.isfinite(lo) and math.isfinite(hi)):
            raise ParameterError(parameter, f"{where}expected finite numbers, got {items[0]!r} "
                                 f"and {items[1]!r}")
        if not lo < hi:
            raise ParameterError(parameter, f"{where}the low end {lo:g} is not below the high "
                                 f"end {hi:g}")
        q = QUANTITIES.get(key)
        units = file_units(str(items[2])) if len(items) == 3 else (q.units if q else None)
        if units is None:
            raise ParameterError(parameter, f"{where}dronesense does not know {key!r}: give "
                                 "its units (low, high, units)")
        if parse_units(units) is None:
            raise ParameterError(parameter, f"{where}{items[2]!r} are not units UDUNITS-2 "
                                 "knows (e.g. ppm, ppb, hPa, degC, K, ug m-3)")
        if q is not None and not parse_units(units).is_convertible(parse_units(q.units)):
            raise ParameterError(parameter, f"{where}{items[2]!r} do not convert to the units "
                                 f"of {key} ({q.display_units})")
        out[str(key)] = (lo, hi, units)
    return out


def parse_range(text: str, parameter: str = "--range") -> tuple[str, tuple[float, float, str]]:
    """``KEY=LOW:HIGH[:UNITS]`` (units default: the quantity's) as ``(key, (low, high,
    units))``, checked by :func:`check_ranges`.

    >>> parse_range("ch4=0:100"), parse_range("temperature=-40:50:degC")
    (('ch4', (0.0, 100.0, '1e-6')), ('temperature', (-40.0, 50.0, 'degC')))
    """
    key, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or not key.strip() or len(parts) not in (2, 3):
        raise ParameterError(parameter, f"expected QUANTITY=LOW:HIGH or QUANTITY=LOW:HIGH:UNITS "
                             f"(e.g. ch4=0:100), got {text!r}")
    key = key.strip()
    try:
        values = [float(parts[0]), float(parts[1]), *parts[2:]]
    except ValueError:
        raise ParameterError(parameter, f"{key}: expected numbers LOW:HIGH, got "
                             f"{rest!r}") from None
    return key, check_ranges({key: values}, parameter)[key]
