"""The ``session.json`` document of a recording: settings, counts, vehicles, payloads.

The functions read a :class:`~dronesense.live.recorder.Recorder` (its statistics, pairing
state, forward link and serial payloads) and build plain dicts; the recorder writes them.

Examples
--------
>>> pymavlink_version() != ""
True
"""

from __future__ import annotations

import platform

import pymavlink

from dronesense._version import __version__
from dronesense.sources.messages import mode_name

__all__ = ["forward_summary", "payload_summary", "pymavlink_version", "session_summary"]


def session_summary(recorder) -> dict:
    """The ``session.json`` content of a :class:`~dronesense.live.recorder.Recorder` as it
    stands."""
    st = recorder.stats
    pairer = recorder.pairer
    vehicles = {}
    for sysid, fs in sorted(pairer.states.items()):
        status = fs.status
        last = fs.track.last_fix()
        vehicles[str(sysid)] = {
            "boots": fs.boot + 1,
            "reboots": fs.reboots,
            "clock_syncs": fs.clock.syncs,
            "clock": fs.clock.reports(),
            "fixes_dropped_out_of_order": fs.track.dropped,
            "armed": None if status is None else status.armed,
            "mode": None if status is None else status.mode,
            "mode_name": mode_name(status),
            "vehicle_type": None if status is None else status.vehicle_type,
            "autopilot": None if status is None else status.autopilot,
            "has_flown": fs.has_flown,
            "last_position": None if last is None else {
                "time_boot_ms": last[0], "fix_ok": last[1],
                "lat": float(last[2][0]), "lon": float(last[2][1]),
                "alt_amsl": float(last[2][2]), "height": float(last[2][3]),
            },
        }
    unknown = {k: v for k, v in st.by_type.items() if k.startswith("UNKNOWN_")}
    return {
        "format": "dronesense-session-1",
        "start_utc": recorder.start_utc,
        "end_utc": recorder.end_utc,
        **recorder.meta,
        "versions": {
            "dronesense": __version__,
            "pymavlink": getattr(pymavlink, "__version__", pymavlink_version()),
            "python": platform.python_version(),
        },
        "packets": st.packets,
        "tlog_packets": recorder.tlog_packets,
        "bytes": st.bytes,
        "bad_bytes": st.bad_bytes,
        "crc_errors": st.crc_errors,
        "unknown_message_ids": sum(unknown.values()),
        "signed_packets": st.signed,
        "mavlink_versions": dict(st.versions),
        "messages": dict(sorted(st.by_type.items())),
        "loss": st.loss(),
        "loss_total": round(st.total_loss(), 6),
        "ignored_gcs_messages": recorder.pipeline.adapter.ignored_gcs,
        "vehicles": vehicles,
        "warnings": [w for fs in pairer.states.values() for w in fs.warnings()],
        "samples": {
            "total": recorder.journal.rows,
            "by_quantity": dict(sorted(pairer.counts.items())),
            "by_flag": {str(k): v for k, v in sorted(recorder.flags.items())},
            "pending": pairer.pending,
        },
        "forward": None if recorder.forward is None else forward_summary(recorder),
        **({"payloads": payload_summary(recorder)} if recorder.payloads else {}),
    }

def forward_summary(recorder) -> dict:
    """The forwarded ground station: packets sent to it, and what it sent back."""
    fwd = recorder.forward
    doc = {"conn": getattr(fwd, "conn", None), "sent": fwd.sent, "dropped": fwd.dropped,
           "control": recorder.control is not None}
    for key in ("connections", "refused", "foreign"):
        if getattr(fwd, key, 0):
            doc[key] = getattr(fwd, key)
    doc["uplink"] = None if recorder.uplink is None else recorder.uplink.as_dict()
    return doc

def payload_summary(recorder) -> dict:
    """Per serial payload: port and decoder counts, readings, clock (for ``session.json``).
    """
    out = {}
    for source, entry in recorder.payloads.items():
        sp, conv = entry["payload"], entry["readings"]
        doc: dict = {"prefix": entry["prefix"]}
        if sp is not None:
            doc.update(sp.stats())
            doc["connected"] = sp.connected
        if conv is not None:
            doc["readings"] = conv.readings
            doc["dropped"] = conv.dropped
            doc["waiting_for_clock"] = conv.pending
        doc["listener_errors"] = entry["errors"]
        doc["listener_last_error"] = entry["last_error"]
        out[source] = doc
    if recorder.clock is not None:
        clocks = {}
        for sysid in recorder.clock.sysids:
            est = recorder.clock.estimate(sysid)
            clocks[str(sysid)] = None if est is None else {
                "ready": recorder.clock.ready(sysid),
                "uncertainty_ms": round(est.uncertainty_ms, 3),
                "rate": round(1.0 - est.slope, 9),
                "points": est.points, "span_s": round(est.span_s, 3), "boot": est.boot,
            }
        out["receive_clock"] = {"rate_setting": recorder.clock.rate, "vehicles": clocks}
    return out


def pymavlink_version() -> str:
    """The installed pymavlink version (``unknown`` if it cannot be told)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pymavlink")
    except PackageNotFoundError:
        return "unknown"
