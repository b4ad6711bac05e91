"""The CF discrete-sampling-geometry layout of samples files: trajectories, time, strings, ACDD.

A samples file is a CF ``featureType = "trajectory"`` collection stored as an *indexed ragged
array* (CF 1.11, section 9.3.4): one trajectory per vehicle (MAVLink system id) and boot,
along the ``trajectory`` dimension, whose ``trajectory_id`` variable carries
``cf_role = "trajectory_id"``; every observation (``obs``) names its trajectory in
``trajectory_index`` (``instance_dimension = "trajectory"``). The observations keep the order
they were made in, so the live journal, replay and the file list the same rows in the same
order.

The pieces here are what :func:`dronesense.samples.dataset.to_dataset` needs beyond the
values: the trajectories of rows (:func:`trajectories`), the time encoding that keeps
microseconds exact in a type CF 1.8 accepts (:func:`time_encoding`), the variable
attributes the checkers ask for (:data:`VARIABLE_ATTRS`) and the global attributes
(:func:`samples_attributes`).

Examples
--------
>>> ids, index = trajectories([1, 1, 2, 1], [0, 1, 0, 0])
>>> ids, index.tolist()
(['sysid1_boot0', 'sysid1_boot1', 'sysid2_boot0'], [0, 1, 2, 0])
>>> import numpy as np
>>> t = np.array(["2024-05-01T10:00:03.250001", "NaT"], dtype="datetime64[us]")
>>> time_encoding(t)["units"]
'microseconds since 2024-05-01 10:00:03'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dronesense.metadata import coverage, geospatial_bounds, global_attributes
from dronesense.quantities import NameTable

__all__ = ["QUANTITY_CONTENT_TYPE", "QUANTITY_COORDINATES", "STRING_ENCODING", "VARIABLE_ATTRS",
           "samples_attributes", "time_encoding", "trajectories", "trajectory_id"]

#: netCDF encoding of the text variables: classic character arrays (``char``, UTF-8), which
#: every netCDF reader and CF 1.8 accept, not netCDF-4 variable-length strings.
STRING_ENCODING = {"dtype": "S1"}

#: CF and ACDD attributes of the samples variables besides the quantities. ``coverage_content_type``
#: is the ISO 19115-1 code ACDD asks for.
VARIABLE_ATTRS: dict[str, dict[str, str]] = {
    "time": {"standard_name": "time", "long_name": "time of sampling (UTC)",
             "units_metadata": "leap_seconds: none",
             "coverage_content_type": "coordinate"},
    "lat": {"standard_name": "latitude", "units": "degrees_north", "long_name": "latitude",
            "coverage_content_type": "coordinate"},
    "lon": {"standard_name": "longitude", "units": "degrees_east", "long_name": "longitude",
            "coverage_content_type": "coordinate"},
    "altitude": {"standard_name": "altitude", "units": "m", "positive": "up",
                 "long_name": "altitude above mean sea level",
                 "coverage_content_type": "coordinate"},
    "trajectory_id": {"cf_role": "trajectory_id",
                      "long_name": "trajectory: MAVLink system id and boot of the vehicle"},
    "trajectory_index": {"instance_dimension": "trajectory",
                         "long_name": "index of the trajectory of the observation"},
    "time_boot_ms": {"long_name": "vehicle time since boot", "units": "ms",
                     "coverage_content_type": "referenceInformation"},
    "boot": {"long_name": "boot number of the vehicle", "units": "1",
             "coverage_content_type": "referenceInformation"},
    "sysid": {"long_name": "MAVLink system id", "units": "1",
              "coverage_content_type": "referenceInformation"},
    "height": {"long_name": "height above home", "units": "m", "positive": "up",
               "coverage_content_type": "coordinate"},
    "position_gap": {"long_name": "time between the fixes used for the position", "units": "s",
                     "coverage_content_type": "qualityInformation"},
    "flag": {"long_name": "pairing quality flag", "coverage_content_type": "qualityInformation"},
    "name": {"long_name": "name of the reading as it came over the link",
             "coverage_content_type": "referenceInformation"},
    "time_source": {"long_name": "where the time came from: sync (vehicle clock and "
                                 "SYSTEM_TIME), receive (ground receive time) or empty",
                    "coverage_content_type": "qualityInformation"},
}

#: ISO 19115-1 ``coverage_content_type`` of a quantity variable.
QUANTITY_CONTENT_TYPE = "physicalMeasurement"
#: The ``coordinates`` of a quantity variable: where and when (UTC) the air was sampled, then
#: the same moment in the vehicle's terms (height above home, vehicle time, system id, boot)
#: and the time between the fixes the position was interpolated from.
QUANTITY_COORDINATES = "time lat lon altitude height time_boot_ms sysid boot position_gap"


def trajectory_id(sysid: int, boot: int) -> str:
    """The ``trajectory_id`` of a vehicle's boot, e.g. ``sysid1_boot0``."""
    return f"sysid{int(sysid)}_boot{int(boot)}"


def trajectories(sysid: Sequence[int], boot: Sequence[int]) -> tuple[list[str], np.ndarray]:
    """The trajectories of observations: their ids, sorted by system id then boot, and the
    index of each observation's trajectory (``trajectory_index``)."""
    pairs = np.stack([np.asarray(sysid, dtype=np.int64), np.asarray(boot, dtype=np.int64)],
                     axis=-1).reshape(-1, 2)
    keys, index = np.unique(pairs, axis=0, return_inverse=True)
    return ([trajectory_id(s, b) for s, b in keys.tolist()],
            np.asarray(index, dtype=np.int32).reshape(-1))


def time_encoding(times: np.ndarray) -> dict[str, str]:
    """netCDF encoding of sampling times: doubles, microseconds since the whole second at or
    before the first time (``NaT`` is left out; ``1970-01-01`` when no time is known).

    CF 1.8 does not accept 64-bit integers. Whole microseconds are exact in a double for
    centuries around the reference, and readers turn them into nanoseconds exactly for a
    hundred days after it (a float count of seconds would decode a few nanoseconds off).
    """
    t = np.asarray(times).astype("datetime64[us]")
    t = t[~np.isnat(t)]
    ref = t.min().astype("datetime64[s]") if t.size else np.datetime64(0, "s")
    text = np.datetime_as_string(ref, unit="s").replace("T", " ")
    return {"units": f"microseconds since {text}", "calendar": "standard", "dtype": "float64"}


def _resolution(times: np.ndarray) -> str | None:
    """ACDD ``time_coverage_resolution``: the median step between distinct sampling times.

    O(n) for times in order (the samples of one vehicle): the distinct times are the changes,
    the median a selection; others are sorted first.

    Examples
    --------
    >>> _resolution(np.array(["2024-05-01T10:00:00", "2024-05-01T10:00:00",
    ...                       "2024-05-01T10:00:00.5", "NaT"], "datetime64[us]"))
    'PT0.5S'
    """
    t = np.asarray(times).astype("datetime64[us]").view(np.int64)
    t = t[t != np.iinfo(np.int64).min]  # NaT
    d = np.diff(t)
    if d.size and d.min() < 0:  # not in order
        d = np.diff(np.sort(t))
    d = d[d != 0]
    if d.size == 0:
        return None
    step = float(np.median(d)) / 1e6
    return f"PT{step:.6g}S"


def samples_attributes(*, keys: Sequence[str], names: NameTable, times: np.ndarray,
                       lat: np.ndarray, lon: np.ndarray, altitude: np.ndarray,
                       trajectory_count: int, history: str, source: str) -> dict[str, object]:
    """The global attributes of a samples Dataset: CF and ACDD-1.3 through
    :func:`dronesense.metadata.global_attributes` and :func:`dronesense.metadata.coverage`.

    Examples
    --------
    >>> import numpy as np
    >>> a = samples_attributes(keys=["ch4"], names=NameTable.default(),
    ...     times=np.array(["2024-05-01T10:00:00", "2024-05-01T10:00:01"], "datetime64[us]"),
    ...     lat=np.array([52.0, 52.1]), lon=np.array([5.0, 5.1]), altitude=np.array([40.0, 50]),
    ...     trajectory_count=1, history="h", source="s")
    >>> a["featureType"], a["time_coverage_resolution"], a["geospatial_lat_max"]
    ('trajectory', 'PT1S', 52.1)
    """
    known = [names.quantities[k] for k in keys if k in names.quantities]
    described = ", ".join(q.long_name for q in known) or "sensor readings"
    summary = (f"Readings of {described} measured on board an unmanned aircraft, each paired "
               "with the position of the vehicle at the moment the air was sampled "
               f"({len(times)} observations in {trajectory_count} trajectories: one per "
               "vehicle and boot).")
    keywords = ["unmanned aerial vehicle", "air quality", "trajectory",
                *(q.standard_name or q.long_name for q in known)]
    attrs = global_attributes(
        title="dronesense paired samples", summary=summary, keywords=keywords, history=history,
        source=source or "MAVLink telemetry", featureType="trajectory",
        processing_level="sensor readings paired with interpolated positions; not calibrated "
                         "by dronesense",
        comment="flag 0: paired with a position (used by grids and maps); 6: position kept "
                "but the value outside its plausible range; others: no position. See "
                "flag_meanings",
    )
    known_times = np.asarray(times).astype("datetime64[us]")
    known_times = known_times[~np.isnat(known_times)]
    ends = [known_times.min(), known_times.max()] if known_times.size else []
    attrs.update(coverage(lat=lat, lon=lon, altitude=altitude, time=ends))
    attrs.update(geospatial_bounds(lat, lon))
    if "geospatial_vertical_min" in attrs:
        attrs.setdefault("geospatial_bounds_vertical_crs", "EPSG:5773")  # EGM96 height
    resolution = _resolution(times)
    if resolution and "time_coverage_resolution" not in attrs:
        attrs["time_coverage_resolution"] = resolution
    return attrs
