"""What the live web page shows: the journal's samples as they are written, and the field.

:class:`JournalTail` reads the rows a recording appends to ``samples.csv`` (complete lines
only), so the page shows exactly the journal; :func:`layer_slices` turns the positioned
samples of one quantity into horizontal slices, one per flown layer, of block means.

Examples
--------
>>> import numpy as np
>>> lat = np.full(40, 50.0); lon = 7.0 + np.arange(40) * 1e-5
>>> h = np.r_[np.full(20, 20.2), np.full(20, 35.1)]
>>> [s["height"] for s in layer_slices(lat, lon, h, np.ones(40))["layers"]]
[20.0, 35.0]
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from dronesense.samples.journal import parse_row

__all__ = ["JournalTail", "layer_slices"]


class JournalTail:
    """The rows appended to a ``samples.csv`` journal since the last call.

    Only whole lines are read (a line still being written waits for the next call), so the
    rows seen are always the journal's rows, in its order.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0
        self._header = False

    def read(self) -> list:
        """New complete rows (:class:`~dronesense.flight.rows.SampleRow`)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self._offset += end + 1
        lines = data[:end + 1].decode("utf-8").splitlines()
        if not self._header and lines:
            lines = lines[1:]
            self._header = True
        rows = []
        for fields in csv.reader(lines):
            try:
                rows.append(parse_row(fields))
            except ValueError:  # a damaged line is the journal's business, not the page's
                continue
        return rows


def _layers(h: np.ndarray, step: float = 5.0, share: float = 0.08) -> list[float]:
    """Heights flown at: the rounded heights holding at least ``share`` of the samples."""
    if h.size == 0:
        return []
    levels, counts = np.unique(np.round(h / step) * step, return_counts=True)
    keep = counts >= max(5, share * h.size)
    return [float(x) for x in levels[keep]]


def layer_slices(lat, lon, height, value, cells: int = 16, step: float = 5.0) -> dict:
    """Horizontal slices of block means, one per flown layer.

    Parameters
    ----------
    lat, lon, height, value
        Positioned samples of one quantity (degrees, metres above home, any units).
    cells
        Blocks along the longer side of the flown area.
    step
        Heights are grouped to the nearest multiple of ``step`` metres; a layer is a group
        holding at least 8 % of the samples.

    Returns
    -------
    dict
        ``origin`` (lat, lon of the south-west corner), ``cell_m`` (block size, m), ``nx``,
        ``ny`` and ``layers``: per layer ``height`` and ``cells`` (``[i, j, mean, count]``,
        ``i`` east, ``j`` north).
    """
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    h, v = np.asarray(height, float), np.asarray(value, float)
    ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(h) & np.isfinite(v)
    lat, lon, h, v = lat[ok], lon[ok], h[ok], v[ok]
    if lat.size == 0:
        return {"origin": None, "cell_m": None, "nx": 0, "ny": 0, "layers": []}
    lat0, lon0 = float(lat.min()), float(lon.min())
    north = (lat - lat0) * 111_320.0
    east = (lon - lon0) * 111_320.0 * math.cos(math.radians(lat0))
    size = max(float(east.max()), float(north.max()), 1.0)
    cell = max(size / cells, 2.0)
    i = np.minimum((east / cell).astype(int), int(size / cell))
    j = np.minimum((north / cell).astype(int), int(size / cell))
    nx, ny = int(i.max()) + 1, int(j.max()) + 1
    layers = []
    for level in _layers(h, step):
        sel = np.abs(h - level) <= step / 2
        key = i[sel] * ny + j[sel]
        sums = np.bincount(key, weights=v[sel], minlength=nx * ny)
        n = np.bincount(key, minlength=nx * ny)
        nz = np.flatnonzero(n)
        layers.append({"height": level, "cells": [
            [int(k // ny), int(k % ny), round(float(sums[k] / n[k]), 6), int(n[k])]
            for k in nz]})
    return {"origin": [lat0, lon0], "cell_m": round(cell, 3), "nx": nx, "ny": ny,
            "layers": layers}
