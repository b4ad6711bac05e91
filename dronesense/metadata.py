"""Discovery metadata of every product: CF and ACDD-1.3 global attributes, and coverage.

Every file dronesense writes (samples, grids, flux curtains) carries the same provenance:
what it is (``title``, ``summary``, ``keywords``), who made it and under which terms
(``creator_*``, ``institution``, ``license``: from the environment, see :func:`creator`),
how (``history``, ``source``, ``product_version``) and where and when it lies
(``geospatial_*``, ``time_coverage_*``: :func:`coverage`).

Examples
--------
>>> attrs = global_attributes(title="t", summary="s", keywords=["methane"], history="h",
...                           environ={"DRONESENSE_CREATOR_NAME": "Air Lab"})
>>> attrs["Conventions"], attrs["creator_name"], attrs["keywords"]
('CF-1.11, ACDD-1.3', 'Air Lab', 'methane')
>>> cov = coverage(lat=[50.0, 50.1], lon=[6.9, 7.0], altitude=[40.0, 95.5],
...                time=["2025-06-14T08:00:00Z", "2025-06-14T08:10:00Z"])
>>> cov["geospatial_lat_max"], cov["geospatial_vertical_max"], cov["time_coverage_duration"]
(50.1, 95.5, 'PT600S')
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import numpy as np

from dronesense._version import __version__

__all__ = ["coverage", "creator", "geospatial_bounds", "global_attributes"]

#: Environment variables naming who made a product, and the ACDD attribute each fills.
CREATOR_VARIABLES = {
    "DRONESENSE_CREATOR_NAME": "creator_name",
    "DRONESENSE_CREATOR_EMAIL": "creator_email",
    "DRONESENSE_CREATOR_URL": "creator_url",
    "DRONESENSE_INSTITUTION": "institution",
    "DRONESENSE_PROJECT": "project",
    "DRONESENSE_LICENSE": "license",
    "DRONESENSE_ACKNOWLEDGEMENT": "acknowledgement",
    "DRONESENSE_PUBLISHER_NAME": "publisher_name",
    "DRONESENSE_PUBLISHER_EMAIL": "publisher_email",
    "DRONESENSE_PUBLISHER_URL": "publisher_url",
}
#: What a product says when the environment does not tell.
#: ACDD-1.3 recommends all of them, so each is present; the publisher defaults to the creator.
CREATOR_DEFAULTS = {
    "creator_name": "unknown (set DRONESENSE_CREATOR_NAME)",
    "creator_email": "unknown (set DRONESENSE_CREATOR_EMAIL)",
    "creator_url": "unknown (set DRONESENSE_CREATOR_URL)",
    "institution": "unknown (set DRONESENSE_INSTITUTION)",
    "project": "not specified (set DRONESENSE_PROJECT)",
    "license": "not specified (set DRONESENSE_LICENSE, e.g. CC-BY-4.0)",
    "acknowledgement": "not specified (set DRONESENSE_ACKNOWLEDGEMENT)",
}
#: Publisher attribute -> the creator attribute it repeats when not set.
PUBLISHER_FALLBACK = {"publisher_name": "creator_name", "publisher_email": "creator_email",
                      "publisher_url": "creator_url"}


def creator(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``creator_*``, ``publisher_*``, ``institution``, ``project``, ``license`` and
    ``acknowledgement`` from the ``DRONESENSE_*`` environment variables
    (:data:`CREATOR_VARIABLES`); a missing one says how to set it, the publisher repeats the
    creator unless set.

    Examples
    --------
    >>> who = creator({"DRONESENSE_CREATOR_EMAIL": "lab@example.org"})
    >>> who["creator_email"], who["publisher_email"]
    ('lab@example.org', 'lab@example.org')
    """
    env = os.environ if environ is None else environ
    out = dict(CREATOR_DEFAULTS)
    for var, attr in CREATOR_VARIABLES.items():
        if env.get(var):
            out[attr] = env[var]
    for attr, fallback in PUBLISHER_FALLBACK.items():
        out.setdefault(attr, out[fallback])
    return {k: v for k, v in out.items() if v}


def global_attributes(*, title: str, summary: str, keywords: Iterable[str], history: str = "",
                      source: str = "", environ: Mapping[str, str] | None = None,
                      **extra) -> dict[str, object]:
    """The CF-1.11 / ACDD-1.3 global attributes of a product.

    ``extra`` attributes (``featureType``, ``processing_level``, ...) are added as given.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs: dict[str, object] = {
        "Conventions": "CF-1.11, ACDD-1.3",
        "title": title,
        "summary": summary,
        "keywords": ", ".join(dict.fromkeys(k for k in keywords if k)),
        "id": str(uuid.uuid4()),
        "naming_authority": "org.dronesense",
        "date_created": now,
        "date_modified": now,
        "product_version": __version__,
        "standard_name_vocabulary": "CF Standard Name Table v93",
        "platform": "unmanned aerial vehicle",
        "history": history,
        "source": source,
        "dronesense_version": __version__,
        **creator(environ),
    }
    attrs.update(extra)
    return {k: v for k, v in attrs.items() if v != ""}


def _finite(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def _iso(value) -> str:
    return np.datetime_as_string(np.datetime64(str(value).rstrip("Z"), "s"), unit="s") + "Z"


def _datetimes(values) -> np.ndarray:
    """``values`` (datetime64, or ISO texts with or without ``Z``, empty/NaT/None for none) as
    datetime64[us]; datetime64 arrays are converted whole, texts one by one."""
    arr = np.asarray(values).ravel()
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[us]")
    return np.array([np.datetime64(str(x).rstrip("Z"), "us") if str(x) not in ("", "NaT", "None")
                     else np.datetime64("NaT") for x in arr], dtype="datetime64[us]")


def coverage(*, lat: Sequence[float] | None = None, lon: Sequence[float] | None = None,
             altitude: Sequence[float] | None = None,
             time: Sequence | None = None) -> dict[str, object]:
    """ACDD ``geospatial_*`` and ``time_coverage_*`` attributes of positions and times (NaN and
    NaT left out; an attribute is absent when nothing finite is left). ``altitude`` is metres
    above mean sea level, positive up."""
    out: dict[str, object] = {}
    for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
        v = _finite(values) if values is not None else np.empty(0)
        if v.size:
            out[f"geospatial_{name}_min"] = round(float(v.min()), 7)
            out[f"geospatial_{name}_max"] = round(float(v.max()), 7)
            out[f"geospatial_{name}_units"] = units
    v = _finite(altitude) if altitude is not None else np.empty(0)
    if v.size:
        out["geospatial_vertical_min"] = round(float(v.min()), 3)
        out["geospatial_vertical_max"] = round(float(v.max()), 3)
        out["geospatial_vertical_units"] = "m"
        out["geospatial_vertical_positive"] = "up"
    if time is not None:
        t = _datetimes(time)
        t = t[~np.isnat(t)] if t.size else t
        if t.size:
            start, end = t.min(), t.max()
            out["time_coverage_start"] = _iso(start)
            out["time_coverage_end"] = _iso(end)
            seconds = round((end - start) / np.timedelta64(1, "s"))
            out["time_coverage_duration"] = f"PT{seconds}S"
    return out


def geospatial_bounds(lat: Sequence[float], lon: Sequence[float]) -> dict[str, str]:
    """ACDD ``geospatial_bounds`` (the bounding box of the finite positions as a WKT polygon,
    latitude first as EPSG:4326 orders its axes) and ``geospatial_bounds_crs``; empty when no
    position is finite.

    Examples
    --------
    >>> geospatial_bounds([50.0, 50.5], [6.0, 7.0])["geospatial_bounds"]
    'POLYGON ((50.0000000 6.0000000, 50.5000000 6.0000000, 50.5000000 7.0000000, \
50.0000000 7.0000000, 50.0000000 6.0000000))'
    """
    la, lo = np.asarray(lat, dtype=float).ravel(), np.asarray(lon, dtype=float).ravel()
    ok = np.isfinite(la) & np.isfinite(lo)
    if not ok.any():
        return {}
    s, n, w, e = la[ok].min(), la[ok].max(), lo[ok].min(), lo[ok].max()
    ring = ", ".join(f"{a:.7f} {b:.7f}" for a, b in ((s, w), (n, w), (n, e), (s, e), (s, w)))
    return {"geospatial_bounds": f"POLYGON (({ring}))", "geospatial_bounds_crs": "EPSG:4326"}
