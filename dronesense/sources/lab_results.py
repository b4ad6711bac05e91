"""A laboratory's results for the samples of a flight: sample id -> species concentrations.

Two CSV layouts are read, told apart by the header:

- **wide**: a ``sample_id`` column (``sample``, ``id``, ``canister``, ``bag``) and one column
  per species with its units in the header: ``benzene [ppb]``, ``toluene (ug/m3)``;
- **long**: ``sample_id``, ``species`` (``compound``, ``analyte``), ``value``
  (``concentration``, ``result``) and ``units`` columns, one row per sample and species.

Species names become variable names (lower case, separators as ``_``: ``m,p-xylene`` ->
``m_p_xylene``). Units are UDUNITS (``ppbv``, ``pptv`` and ``ppmv`` are read as ``ppb``,
``ppt``, ``ppm``); an empty cell or a below-detection mark (``<0.05``, ``ND``, ``BDL``) is NaN
and counted in the variable's ``below_detection`` attribute.

Examples
--------
>>> import io
>>> lab = read_lab_results(io.StringIO("sample_id,benzene [ppbv],toluene [ppb]\\n"
...                                    "C-12,1.25,<0.05\\n"))
>>> float(lab.benzene[0]), lab.benzene.attrs["units"], lab.toluene.attrs["below_detection"]
(1.25, 'ppb', 1)
"""

from __future__ import annotations

import math
import re

import numpy as np
import xarray as xr

from dronesense.errors import InputError
from dronesense.quantities import parse_units
from dronesense.sources.csvrows import read_rows

__all__ = ["read_lab_results", "species_key"]

_ID = ("sample_id", "sample", "id", "canister", "bag", "sampleid")
_SPECIES = ("species", "compound", "analyte", "parameter")
_VALUE = ("value", "concentration", "result")
_UNITS = ("units", "unit")
_HEAD = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*(?:[\[\(](?P<units>[^\]\)]*)[\]\)])?\s*$")
_VOLUME = {"ppbv": "ppb", "pptv": "ppt", "ppmv": "ppm"}
_BELOW = {"nd", "bdl", "<lod", "<mdl", "n.d."}


def species_key(name: str) -> str:
    """A variable name for a species: ``m,p-Xylene`` -> ``m_p_xylene``."""
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return key if key and not key[0].isdigit() else f"s_{key}"


def _units(text: str, where: str) -> str:
    u = _VOLUME.get(text.strip().lower(), text.strip()).replace("µ", "u").replace("³", "3")
    if not u or parse_units(u) is None:
        raise InputError(f"{where}: {text!r} are not units")
    return u


def _value(text: str) -> tuple[float, bool]:
    t = text.strip()
    if t.lower() in _BELOW or t.startswith("<"):
        return math.nan, True
    if not t:
        return math.nan, False
    try:
        return float(t), False
    except ValueError:
        return math.nan, False


def read_lab_results(path_or_file) -> xr.Dataset:
    """The results of a lab file as a Dataset over ``sample`` (``sample_id`` coordinate,
    one variable per species with its units).

    Raises
    ------
    InputError
        Unreadable file, no sample id column, a species without units, a sample id twice
        for one species.
    """
    where, rows = read_rows(path_or_file, "lab results")
    head = [h.strip() for h in rows[0]]
    low = [h.lower() for h in head]
    i_id = next((low.index(n) for n in _ID if n in low), None)
    if i_id is None:
        raise InputError(f"no sample id column ({', '.join(_ID)})", path=where)
    i_sp = next((low.index(n) for n in _SPECIES if n in low), None)
    i_v = next((low.index(n) for n in _VALUE if n in low), None)
    i_u = next((low.index(n) for n in _UNITS if n in low), None)
    values: dict[str, dict[str, float]] = {}
    units: dict[str, str] = {}
    below: dict[str, int] = {}
    order: list[str] = []
    for n, r in enumerate(rows[1:], start=2):
        if len(r) < len(head):
            raise InputError(f"line {n}: {len(r)} fields, the header has {len(head)}",
                             path=where)
        sid = r[i_id].strip()
        if sid not in order:
            order.append(sid)
        if i_sp is not None and i_v is not None:
            cells = [(r[i_sp], r[i_u] if i_u is not None else "", r[i_v])]
        else:
            cells = []
            for j, h in enumerate(head):
                if j == i_id:
                    continue
                m = _HEAD.match(h)
                cells.append((m.group("name") if m else h, (m.group("units") or "") if m
                              else "", r[j]))
        for name, unit, cell in cells:
            key = species_key(name)
            u = _units(unit, f"{where}: line {n}: {name}")
            if units.setdefault(key, u) != u:
                raise InputError(f"line {n}: {name} in {u}, earlier in {units[key]}",
                                 path=where)
            v, bdl = _value(cell)
            if sid in values.setdefault(key, {}):
                raise InputError(f"line {n}: {name} of sample {sid} given twice", path=where)
            values[key][sid] = v
            below[key] = below.get(key, 0) + int(bdl)
    out = xr.Dataset(coords={"sample_id": ("sample", np.array(order, dtype=object))})
    for key, by_id in values.items():
        out[key] = xr.DataArray([by_id.get(s, math.nan) for s in order], dims="sample",
                                attrs={"units": units[key], "long_name": key.replace("_", " "),
                                       "below_detection": below[key]})
    out.attrs.update({"source": where, "title": "laboratory results"})
    return out
