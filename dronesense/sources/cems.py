"""A stack's own continuous readings (CEMS, Korea's TMS) from a CSV file.

One row per averaging period: a time column (``time``, ``datetime``, ``측정일시``,
``timestamp``) and one column per gas, its units in the header (``SO2 (ppm)``,
``CO2 [%]``, ``NOx [mg/Sm3]``) or given by ``units=``. Gas names are matched loosely:
``SOx`` is read as SO2 and ``NOx`` as NO2 (as the networks report them); other columns (O2,
flow, temperature, dust) are kept under their lower-case names when their units are known,
else skipped.

Mass concentrations at standard conditions (``mg/Sm3``, ``mg/Nm3``: 0 degC, 101.325 kPa) are
turned into mole fractions (ppm) with the molar volume 22.414 L/mol. Readings of a gas and of
CO2 must be on the same basis (both dry, or both wet; both corrected to the same reference
O2, or neither) for their ratio to be the flue gas's.

The result is an :class:`xarray.Dataset` over ``time`` (UTC; local times shifted by
``utc_offset`` hours) with one variable per gas named by its key (``co2``, ``so2``, ``co``,
``no2``...) and its units.

Examples
--------
>>> import io
>>> text = "time,CO2 [%],SOx [mg/Sm3]\\n2025-06-14 17:00+09:00,10.0,571.7\\n"
>>> st = read_cems(io.StringIO(text))
>>> str(st.time.values[0])[:16], float(st.co2[0]), round(float(st.so2[0]), 1)
('2025-06-14T08:00', 10.0, 200.0)
>>> st.co2.attrs["units"], st.so2.attrs["units"]
('percent', 'ppm')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import xarray as xr

from dronesense.errors import InputError
from dronesense.quantities import QUANTITIES, parse_units
from dronesense.sources.csvrows import read_rows

__all__ = ["read_cems"]

#: header names (lower case, separators removed) -> gas key
GAS_NAMES = {"co2": "co2", "so2": "so2", "sox": "so2", "nox": "no2", "no2": "no2", "no": "no",
             "co": "co", "ch4": "ch4", "nh3": "nh3", "hcl": "hcl", "hf": "hf", "h2s": "h2s",
             "o2": "o2"}
#: molar masses (g/mol) for mg/Sm3 -> ppm
MOLAR_MASS = {"co2": 44.009, "so2": 64.066, "no2": 46.006, "no": 30.006, "co": 28.010,
              "ch4": 16.043, "nh3": 17.031, "hcl": 36.46, "hf": 20.006, "h2s": 34.08,
              "o2": 31.998}
#: molar volume (L/mol) at standard conditions, 273.15 K and 101.325 kPa
MOLAR_VOLUME_STP = 22.414
_TIME = ("time", "datetime", "측정일시", "timestamp", "date", "time_utc")
_HEAD = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*(?:[\[\(](?P<units>[^\]\)]*)[\]\)])?\s*$")


def _time(text: str, offset: float, where: str) -> datetime:
    t = text.strip().replace("Z", "+00:00")
    try:
        d = datetime.fromisoformat(t)
    except ValueError:
        digits = re.sub(r"\D", "", t)
        try:
            d = datetime.strptime(digits[:12].ljust(12, "0"), "%Y%m%d%H%M")
        except ValueError:
            raise InputError(f"{where}: cannot read the time {text!r}") from None
    if d.tzinfo is not None:
        return (d - d.utcoffset()).replace(tzinfo=None)
    return d - timedelta(hours=offset)


def read_cems(path_or_file, *, units: Mapping[str, str] | None = None,
              utc_offset: float = 0.0) -> xr.Dataset:
    """Read a stack's CEMS / TMS CSV (see the module docstring).

    Parameters
    ----------
    path_or_file
        A path or an open text file.
    units
        Units per gas key for columns whose header does not give them.
    utc_offset
        Hours the file's times are ahead of UTC (9 for Korean time); ignored for times with
        their own offset.

    Raises
    ------
    InputError
        Unreadable file, no time column, no gas column, units that are not units.
    """
    where, rows = read_rows(path_or_file, "stack readings", "<cems>")
    head = rows[0]
    low = [h.strip().lower() for h in head]
    i_t = next((low.index(n) for n in _TIME if n in low), None)
    if i_t is None:
        raise InputError(f"no time column ({', '.join(_TIME)})", path=where)
    cols: list[tuple[int, str, str, float]] = []  # index, key, units, factor to units
    seen = set()
    for j, h in enumerate(head):
        m = _HEAD.match(h)
        if j == i_t or not m:
            continue
        name = re.sub(r"[\s_\-.]", "", m.group("name").lower())
        key = GAS_NAMES.get(name)
        if key is None or key in seen:
            continue
        u = (m.group("units") or (units or {}).get(key) or "").strip()
        factor = 1.0
        if re.fullmatch(r"mg\s*/\s*[sn]m3|mg\s*[sn]m-3", u.lower()):
            factor = MOLAR_VOLUME_STP / MOLAR_MASS[key]  # mg/Sm3 -> umol/mol
            u = "ppm"
        elif u == "%":
            u = "percent"
        if not u or parse_units(u) is None:
            raise InputError(f"column {h!r}: no units (give them in the header, "
                             f"'{m.group('name')} [ppm]', or units=)", path=where)
        cols.append((j, key, u, factor))
        seen.add(key)
    if not cols:
        raise InputError("no gas columns (CO2, SO2/SOx, NOx, CO, ...)", path=where)
    times, values = [], {k: [] for _, k, _, _ in cols}
    for n, r in enumerate(rows[1:], start=2):
        if len(r) < len(head):
            raise InputError(f"line {n}: {len(r)} fields, the header has {len(head)}",
                             path=where)
        times.append(_time(r[i_t], utc_offset, f"{where}: line {n}"))
        for j, key, _, factor in cols:
            try:
                v = float(r[j]) * factor if r[j].strip() else math.nan
            except ValueError:
                v = math.nan
            values[key].append(v)
    order = np.argsort(np.array(times, dtype="datetime64[ns]"), kind="stable")
    out = xr.Dataset(coords={"time": ("time", np.array(times, dtype="datetime64[ns]")[order],
                                      {"standard_name": "time"})})
    for _, key, u, _ in cols:
        attrs = dict(QUANTITIES[key].attrs()) if key in QUANTITIES else {"long_name": key}
        attrs.update({"units": u, "long_name": f"{attrs['long_name']} in the flue gas "
                                                "(stack monitor)"})
        attrs.pop("standard_name", None)
        out[key] = xr.DataArray(np.asarray(values[key])[order], dims="time", attrs=attrs)
    out.attrs.update({"source": where, "title": "stack continuous emission monitoring"})
    return out
