"""The true field at positions a ground station asks about: the simulator's answer key.

``firmware-sim --truth-at POINTS.csv OUT.csv`` (or :func:`write_truth_at`) reads positions
and writes the value of every quantity of the field there, without flying. A ground station
evaluating its products against the truth treats the simulator as an outside program: it
writes the positions it wants (the voxel centres of a grid, say), runs the command and reads
the answer.

Input CSV: a header with at least ``lat``, ``lon`` (degrees, WGS84) and ``alt_amsl`` (metres
above mean sea level); other columns are ignored. Output CSV: ``lat,lon,alt_amsl`` as read,
then one column per quantity of the field (its units, see ``[quantities]``), one row per
input row, in order. Numbers are written with all their digits (Python ``repr``), so a
reader gets back exactly the floats that were computed.

Examples
--------
>>> from firmware_sim.world import Field
>>> field = Field.from_dict({"site": {"ground_alt_amsl": 40.0, "lat": 51.0, "lon": 7.0},
...                          "quantities": {"ch4": {"units": "ppm", "background": 1.9}}})
>>> truth_at(field, [51.0, 51.001], [7.0, 7.0], [50.0, 60.0])["ch4"].tolist()
[1.9, 1.9]
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import SimError
from .world import Field

__all__ = ["COLUMNS", "read_points", "truth_at", "write_truth_at"]

#: the position columns of the input and output files
COLUMNS = ("lat", "lon", "alt_amsl")


def truth_at(field: Field, lat, lon, alt_amsl,
             quantities: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The true value of each quantity at the given positions.

    Parameters
    ----------
    field : Field
    lat, lon : array_like
        Degrees.
    alt_amsl : array_like
        Metres above mean sea level.
    quantities : sequence of str, optional
        Keys of ``field.quantities``; default all of them.

    Returns
    -------
    dict of str to numpy.ndarray
        Quantity -> values in the field's units, in the broadcast shape of the inputs.
    """
    keys = list(field.quantities if quantities is None else quantities)
    return {q: field.evaluate(q, lat, lon, alt_amsl) for q in keys}


def read_points(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lat``, ``lon`` and ``alt_amsl`` of a points CSV file.

    Raises
    ------
    SimError
        One line naming the file (and line) and the problem.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SimError(f"{path}: missing column(s) {', '.join(missing)} "
                               f"(need a header with {', '.join(COLUMNS)})")
            rows = []
            for row in reader:
                try:
                    values = tuple(float(row[c]) for c in COLUMNS)
                except (TypeError, ValueError):
                    raise SimError(f"{path}: line {reader.line_num}: "
                                   f"{', '.join(COLUMNS)} must be numbers") from None
                if not all(math.isfinite(v) for v in values):
                    raise SimError(f"{path}: line {reader.line_num}: position must be finite")
                rows.append(values)
    except OSError as exc:
        raise SimError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SimError(f"{path}: not a text file") from None
    table = np.array(rows, dtype=float).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def write_truth_at(field: Field, points: str | Path, out: str | Path) -> int:
    """Write the true field at the positions of ``points`` to ``out``; returns the rows.

    See the module docstring for both file layouts.

    Raises
    ------
    SimError
        The points cannot be read or the output cannot be written.
    """
    lat, lon, alt = read_points(points)
    values = truth_at(field, lat, lon, alt)
    columns = [lat, lon, alt, *values.values()]
    try:
        with Path(out).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([*COLUMNS, *values])
            for i in range(lat.size):
                writer.writerow([repr(float(c[i])) for c in columns])
    except OSError as exc:
        raise SimError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return int(lat.size)
