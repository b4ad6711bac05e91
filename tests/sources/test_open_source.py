"""One source dispatcher: ``open_source`` picks the reader for any input."""

from __future__ import annotations

import shutil

import pytest

from dronesense.errors import InputError, ParameterError
from dronesense.events import Fix, Reading, TimeSync
from dronesense.sources import open_source
from dronesense.sources.csvtrack import CsvMap
from dronesense.sources.framing import iter_packets, tlog_record
from dronesense.sources.kinds import detect_kind, is_connection
from dronesense.sources.link import Link
from dronesense.sources.logs import LogEvents, events_of
from tests.support.link import ScriptedVehicle
from tests.support.paths import free_port
from tests.support.postflight import BIN, needs_bin

T0 = 1_714_557_600_000_000


@pytest.fixture
def tlog(tmp_path):
    """A short flight's tlog: 3 s of positions, CH4 readings, SYSTEM_TIME and HEARTBEAT."""
    path = tmp_path / "flight-a.tlog"
    packets = ScriptedVehicle(duration_s=3.0).packets()
    path.write_bytes(b"".join(tlog_record(T0 + int(t * 1000), raw) for t, raw in packets))
    return path


def test_tlog(tlog):
    log = open_source(tlog)
    assert isinstance(log, LogEvents) and log.kind == "tlog" and log.path == tlog
    assert len(events_of(log, Fix)) == 31
    assert len(events_of(log, Reading)) > 15
    assert events_of(log, TimeSync)
    assert not log.skipped


def test_session_folder(tmp_path, tlog):
    folder = tmp_path / "session"
    folder.mkdir()
    shutil.copy(tlog, folder / "flight.tlog")
    log = open_source(folder)
    assert log.kind == "session" and log.path == folder / "flight.tlog"
    assert list(log.events) == list(open_source(tlog).events)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="not a session directory"):
        open_source(empty)


def test_tlog_without_suffix_is_told_by_its_bytes(tmp_path, tlog):
    plain = tmp_path / "recording"
    shutil.copy(tlog, plain)
    assert detect_kind(plain) == "tlog"
    assert list(open_source(plain).events) == list(open_source(tlog).events)


@needs_bin
def test_dataflash_bin():
    log = open_source(BIN)
    assert log.kind == "bin"
    assert len(events_of(log, Fix)) > 0
    assert log.skipped  # the file is cut mid-record


@needs_bin
def test_dataflash_has_no_packets():
    with pytest.raises(InputError, match="DataFlash log holds no MAVLink packets"):
        iter_packets(BIN)


def test_csv_track_with_map(tmp_path):
    path = tmp_path / "track.csv"
    path.write_text("time,lat,lon,alt,ch4\n"
                    "2024-05-01T10:00:00Z,52.0,5.0,40,1.9\n"
                    "2024-05-01T10:00:01Z,52.0,5.0001,40,2.1\n")
    cmap = tmp_path / "map.toml"
    cmap.write_text('[csv]\ntime = "time"\ntime_format = "iso"\nlat = "lat"\nlon = "lon"\n'
                    'alt = "alt"\n[csv.values]\nch4 = "CH4"\n')
    by_path = open_source(path, csv_map=cmap)
    assert by_path.kind == "csv"
    assert [e.value for e in events_of(by_path, Reading)] == [1.9, 2.1]
    by_map = open_source(path, csv_map=CsvMap(time_format="iso", values={"ch4": ("CH4", 1.0)}))
    assert repr(by_map.events) == repr(by_path.events)  # (heights are NaN)
    with pytest.raises(ParameterError, match="csv_map: a CSV track needs a column mapping"
                       ) as err:
        open_source(path)
    assert err.value.parameter == "csv_map" and "--" not in str(err.value)


def test_connection_string_opens_a_live_link():
    port = free_port()
    link = open_source(f"udpin:127.0.0.1:{port}")
    try:
        assert isinstance(link, Link)
        assert link.endpoint.kind == "udpin" and link.endpoint.port == port
    finally:
        link.close()
    with pytest.raises(TypeError, match="csv_map"):
        open_source(f"udpin:127.0.0.1:{port}", csv_map=CsvMap())
    with pytest.raises(InputError, match="expected udpin:HOST:PORT"):
        open_source("udpin:localhost")


def test_what_is_a_connection():
    assert is_connection("udpout:10.0.0.2:14550") and is_connection("tcpin:0.0.0.0:5760")
    assert is_connection("/dev/ttyUSB0") and is_connection("/dev/ttyUSB0,921600")
    assert is_connection("COM3")
    assert not is_connection("flights/a") and not is_connection("udp.tlog")


def test_unknown_input_is_one_line(tmp_path, tlog):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a flight log at all\n")
    for bad, match in ((notes, "unknown log type"),
                       (tmp_path / "missing.tlog", "no such file")):
        with pytest.raises(InputError, match=match) as err:
            open_source(bad)
        assert "\n" not in str(err.value) and str(bad) in str(err.value)
    with pytest.raises(TypeError, match="baud"):
        open_source(tlog, baud=57600)
