"""One self-contained offline HTML report of a flight's products.

:func:`build_report` gathers the parts of every product (samples, grids, flux results) and
their provenance; :func:`write_report` writes them into one HTML file with its script, style
and data inline: it opens from disk with no server and no internet (plain JavaScript and SVG
written for it).

Examples
--------
>>> import tempfile, numpy as np, xarray as xr
>>> s = xr.Dataset({"ch4": ("obs", [1.9, 2.1], {"units": "1e-6"})},
...                coords={"lat": ("obs", [50.0, 50.001]), "lon": ("obs", [7.0, 7.0]),
...                        "height": ("obs", [20.0, 20.0])},
...                attrs={"featureType": "trajectory", "history": "made by hand"})
>>> doc = build_report([("flight", s)])
>>> doc["title"], [p["kind"] for p in doc["provenance"]]
('Flight report, 50.0005 N 7.0000 E', ['samples'])
>>> out = write_report([("flight", s)], tempfile.mkdtemp() + "/report.html")
>>> html = out.read_text(); "<script>" in html and "://" not in html.split("<body")[0]
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

import numpy as np
import xarray as xr

from dronesense._version import __version__
from dronesense.errors import InputError
from dronesense.geoformats import json_safe
from dronesense.products.report.content import (
    flux_groups,
    flux_part,
    grid_part,
    product_kind,
    provenance,
    samples_part,
)

__all__ = ["build_report", "write_report"]


def _place(lat: float, lon: float) -> str:
    return (f"{abs(lat):.4f} {'N' if lat >= 0 else 'S'} "
            f"{abs(lon):.4f} {'E' if lon >= 0 else 'W'}")


def build_report(products: Iterable[tuple[str, xr.Dataset]], title: str | None = None) -> dict:
    """The report's content: ``samples``, ``grids``, ``fluxes`` and ``provenance`` lists.

    Parameters
    ----------
    products
        ``(label, Dataset)`` pairs: a label (usually the file name) and a samples, grid or
        flux Dataset (:func:`~dronesense.products.report.content.product_kind`).
    title
        The report's title; default "Flight report" with the date and place.
    """
    doc: dict = {"samples": [], "grids": [], "fluxes": [], "provenance": [],
                 "version": __version__}
    lats, lons, dates = [], [], []
    for label, ds in products:
        kind = product_kind(ds)
        doc["provenance"].append(provenance(ds, label))
        if kind == "samples":
            part = samples_part(ds)
            doc["samples"].append({"label": label, **part})
            lats += [v for v in part["lat"] if v is not None]
            lons += [v for v in part["lon"] if v is not None]
            if part["start"]:
                dates.append(part["start"])
        elif kind == "grid":
            part = grid_part(ds)
            doc["grids"].append({"label": label, **part})
            if part["origin"]:
                lats.append(part["origin"][0])
                lons.append(part["origin"][1])
            if part["time"]:
                dates.append(part["time"])
        else:
            doc["fluxes"].append({"label": label, **flux_part(ds)})
            doc["fluxes"] += [{"label": f"{label}, {name.replace('_', ' ')}", **flux_part(g)}
                              for name, g in flux_groups(ds)]
            for key, into in (("geospatial_lat_min", lats), ("geospatial_lon_min", lons)):
                if key in ds.attrs:
                    into.append(float(ds.attrs[key]))
        start = ds.attrs.get("time_coverage_start")
        if start:
            dates.append(str(start))
    if not doc["provenance"]:
        raise InputError("nothing to report: give a session, samples, grid or flux file")
    where = _place(float(np.mean([min(lats), max(lats)])),
                   float(np.mean([min(lons), max(lons)]))) if lats and lons else ""
    date = min(dates)[:10] if dates else ""
    doc["date"], doc["place"] = date, where
    doc["title"] = title or ", ".join(x for x in ("Flight report", date, where) if x)
    return doc


def _asset(name: str) -> str:
    if name == "svgkit.js":  # the helpers the report shares with the live page
        return files("dronesense").joinpath("static", name).read_text("utf-8")
    return files("dronesense.products.report").joinpath("static", name).read_text("utf-8")


def render_html(doc: dict) -> str:
    """The report page of :func:`build_report` content (everything inline)."""
    data = json.dumps(json_safe(doc), separators=(",", ":"), allow_nan=False)
    data = data.replace("</", "<\\/")  # the data cannot close its script element
    title = (doc["title"].replace("&", "&amp;").replace("<", "&lt;"))
    return (_asset("report.html")
            .replace("{{title}}", title)
            .replace("{{style}}", _asset("report.css"))
            .replace("{{data}}", data)
            .replace("{{script}}", _asset("svgkit.js") + "\n" + _asset("report.js")))


def write_report(products: Iterable[tuple[str, xr.Dataset]], path: str | Path,
                 title: str | None = None) -> Path:
    """Write the self-contained HTML report of ``products`` to ``path``; returns the path."""
    path = Path(path)
    html = render_html(build_report(products, title))
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot write the report: {err.strerror or err}", path=path) from None
    return path
