"""A tlog scanned in slices gives exactly the whole-file scan: records cut by slice edges,
corruption, garbage longer than a slice, a cut last record, duplicates, empty files."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

import dronesense
import dronesense.sources.tlogchunks as tlogchunks
import dronesense.sources.tlogslices as tlogslices
from dronesense.errors import ParameterError
from dronesense.sources.framing import tlog_record
from dronesense.sources.logs import load_events
from dronesense.sources.tlogchunks import (
    MAX_RECORD,
    load_tlog_chunked,
    scan_tlog_chunked,
    tlog_event_columns,
)
from dronesense.sources.tlogevents import EVENT_FIELDS, event_columns
from dronesense.sources.tlogrecords import NUMBA
from dronesense.sources.tlogscan import PAIRING_TYPES, scan_tlog
from tests.sources.scans import damage, same_scan
from tests.support.postflight import VTOL, needs_vtol

CURTAIN = Path(dronesense.__file__).parent / "datasets" / "data" / "plume-curtain.tlog"
WALKS = [False, True] if NUMBA is not None else [False]


def _damaged(seed: int, tmp: Path) -> Path:
    """The curtain flight with bit errors, inserted junk, a stretch of random bytes longer
    than the slices, a repeated run of records and a cut last record."""
    data = bytearray(CURTAIN.read_bytes())
    rng = random.Random(seed)
    damage(data, rng, 40, 10, 60)
    i = rng.randrange(len(data))
    data[i:i] = rng.randbytes(9000)
    scan = scan_tlog(bytes(data))
    a = int(scan.messages["GLOBAL_POSITION_INT"]["_offset"][100])
    data[a:a] = data[a:a + 600]  # the records from there again: copies the rule drops
    path = tmp / f"damaged-{seed}.tlog"
    path.write_bytes(bytes(data[:-5]))  # shorter than any record: a cut one
    return path


@pytest.mark.parametrize("seed", [None, 1, 2])
@pytest.mark.parametrize("compiled", WALKS)
def test_slices_give_the_whole_file_scan(seed, compiled, tmp_path):
    path = CURTAIN if seed is None else _damaged(seed, tmp_path)
    whole = scan_tlog(path, compiled=compiled)
    if seed is not None:
        reasons = {r.reason for r in whole.skipped}
        assert {"corrupt packet", "not MAVLink", "truncated record"} <= reasons
    for chunk in (4096, 65_536, 10**9):
        same_scan(scan_tlog_chunked(path, chunk_bytes=chunk, compiled=compiled), whole)
    same_scan(scan_tlog_chunked(path, chunk_bytes=4096, fields=EVENT_FIELDS, compiled=compiled),
          whole, EVENT_FIELDS)


def test_records_straddle_the_slice_edges(tmp_path, monkeypatch):
    """The slices are short and cut where records begin, never where a slice ends."""
    path = _damaged(3, tmp_path)
    seen = []
    real = tlogslices._slice

    def spy(*args):
        buf, scan, cut = real(*args)
        seen.append((args[1], buf.size, cut))
        return buf, scan, cut

    monkeypatch.setattr(tlogslices, "_slice", spy)
    whole = scan_tlog(path)
    same_scan(scan_tlog_chunked(path, chunk_bytes=4096), whole)
    starts = set(np.concatenate([c["_offset"] for c in whole.messages.values()]).tolist())
    assert len(seen) > 50
    for pos, size, cut in seen[:-1]:
        assert pos + cut in starts and cut < size  # the walk of the whole file is there
    assert max(size for _, size, _ in seen) > 9000  # the junk stretch was read in one slice


@pytest.mark.parametrize("types", [PAIRING_TYPES, (), ("WIND",), ("ATTITUDE", "HEARTBEAT")])
def test_types_and_files_without_records(types, tmp_path):
    head = CURTAIN.read_bytes()[:5000]
    cases = {"empty": b"", "junk": bytes(range(256)) * 40,
             "junk inside": head + bytes(range(256)) * 40 + head,
             "flight": CURTAIN.read_bytes()[:60_000]}
    for name, data in cases.items():
        path = tmp_path / f"{name}.tlog"
        path.write_bytes(data)
        for chunk in (MAX_RECORD, 4096):
            same_scan(scan_tlog_chunked(path, types, chunk_bytes=chunk), scan_tlog(path, types))


def test_event_columns_and_events_of_slices(tmp_path):
    path = _damaged(4, tmp_path)
    whole = event_columns(scan_tlog(path))
    cols = tlog_event_columns(path, chunk_bytes=4096)
    assert whole.duplicates > 0 and cols.duplicates == whole.duplicates
    assert cols.events() == whole.events()
    assert cols.names == whole.names and cols.bad_positions == whole.bad_positions
    log = load_tlog_chunked(path, chunk_bytes=4096)
    ref = load_events(path)
    assert (log.kind, log.path, log.size, log.messages, log.skipped) == (
        ref.kind, ref.path, ref.size, ref.messages, ref.skipped)
    assert list(log.events) == list(ref.events)


def test_a_ground_station_heartbeat_takes_the_adapter(tmp_path):
    gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
    raw = bytes(mavlink.MAVLink_heartbeat_message(mavlink.MAV_TYPE_GCS,
                                                  mavlink.MAV_AUTOPILOT_INVALID, 0, 0, 0,
                                                  3).pack(gcs))
    data = CURTAIN.read_bytes()
    path = tmp_path / "with-gcs.tlog"
    path.write_bytes(data[:20000] + tlog_record(int.from_bytes(data[:8], "big"), raw)
                     + data[20000:])
    log = load_tlog_chunked(path, chunk_bytes=4096)
    assert log.columns is None  # the message-by-message adapter, on the slimmed scan
    assert list(log.events) == list(load_events(path).events)


def test_small_files_sessions_with_payload_and_others_are_left_to_load_events(tmp_path):
    assert load_tlog_chunked(CURTAIN) is None  # smaller than one slice
    assert load_tlog_chunked(tmp_path / "missing.tlog", chunk_bytes=4096) is None
    (tmp_path / "track.csv").write_text("t,lat,lon\n")
    assert load_tlog_chunked(tmp_path / "track.csv", chunk_bytes=4096) is None
    session = tmp_path / "session"
    session.mkdir()
    (session / "flight.tlog").write_bytes(CURTAIN.read_bytes())
    log = load_tlog_chunked(session, chunk_bytes=4096)
    assert log is not None and log.kind == "session" and log.path == session / "flight.tlog"
    (session / "payload.csv").write_text("")
    assert load_tlog_chunked(session, chunk_bytes=4096) is None


def test_a_slice_shorter_than_a_record_is_refused():
    with pytest.raises(ParameterError, match="chunk_bytes"):
        scan_tlog_chunked(CURTAIN, chunk_bytes=100)


def test_load_events_and_open_source_read_a_big_tlog_in_slices(tmp_path, monkeypatch):
    """Over one slice, `load_events` (and so `open_source`) reads slices: the same log."""
    from dronesense.sources.dispatch import open_source

    path = _damaged(5, tmp_path)
    session = tmp_path / "session"
    session.mkdir()
    (session / "flight.tlog").write_bytes(path.read_bytes())
    whole = {p: load_events(p) for p in (path, session)}
    scans = []
    real = tlogchunks.scan_tlog_chunked

    def counted(*args, **kwargs):
        scans.append(kwargs["chunk_bytes"])
        return real(*args, **kwargs)

    monkeypatch.setattr(tlogchunks, "scan_tlog_chunked", counted)
    monkeypatch.setattr(tlogchunks, "CHUNK_BYTES", 4096)
    for p, ref in whole.items():
        for log in (load_events(p), open_source(p)):
            assert (log.kind, log.path, log.size, log.messages, log.skipped, log.notes) == (
                ref.kind, ref.path, ref.size, ref.messages, ref.skipped, ref.notes)
            assert log.columns is not None and len(log.events) == len(ref.events)
            assert list(log.events) == list(ref.events)
    assert scans == [4096] * 4


def test_load_events_reads_whole_a_session_with_payload_or_a_signed_read(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(tlogchunks, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(tlogchunks, "scan_tlog_chunked", None)  # any slicing would fail
    monkeypatch.setattr(tlogchunks, "chunked_event_columns", None)
    session = tmp_path / "session"
    session.mkdir()
    (session / "flight.tlog").write_bytes(CURTAIN.read_bytes())
    (session / "payload.csv").write_text(
        "after_packet,recv_us,sysid,time_boot_ms,name,value,source\n")
    assert load_events(session).messages == scan_tlog(CURTAIN).records
    assert load_events(CURTAIN, key=bytes(32)).messages == scan_tlog(CURTAIN).records


@needs_vtol
@pytest.mark.parametrize("chunk", [4096, 65536])
def test_a_real_ardupilot_log_in_slices_equals_the_whole_file(chunk):
    """ArduPilot SITL's own tlog (written by a ground station, not by firmware-sim)."""
    from dronesense.sources.tlogscan import PAIRING_TYPES, scan_tlog

    same_scan(tlogchunks.scan_tlog_chunked(VTOL, PAIRING_TYPES, chunk_bytes=chunk),
          scan_tlog(VTOL, PAIRING_TYPES))



def test_ids_only_other_dialects_define_are_counted_in_the_scanner_order(tmp_path):
    from pymavlink.dialects.v20 import all as all_dialects

    mid = min(set(all_dialects.mavlink_map) - set(mavlink.mavlink_map))
    assert mid < mavlink.MAVLINK_MSG_ID_VFR_HUD  # the unknown id comes between the two known
    cls = all_dialects.mavlink_map[mid]
    mav = all_dialects.MAVLink(None, srcSystem=1, srcComponent=1)
    args = [b"x" if t == "char" else [0] * n if n else 0
            for t, n in zip(cls.fieldtypes, cls.array_lengths, strict=True)]
    packets = [bytes(mavlink.MAVLink_heartbeat_message(1, 2, 3, 4, 5, 3).pack(mav)),
               bytes(cls(*args).pack(mav)),
               bytes(mavlink.MAVLink_vfr_hud_message(1, 2, 3, 4, 5, 6).pack(mav))]
    t0 = 1_714_557_600_000_000
    path = tmp_path / "other.tlog"
    path.write_bytes(b"".join(tlog_record(t0 + k, p) for k, p in enumerate(packets * 20)))
    whole = scan_tlog(path)
    assert list(whole.counts) == ["HEARTBEAT", f"UNKNOWN_{mid}", "VFR_HUD"]
    for chunk in (MAX_RECORD, 512, 10**6):
        same_scan(scan_tlog_chunked(path, chunk_bytes=chunk), whole)
