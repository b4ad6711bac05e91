"""DataFlash .bin logs: the real truncated ArduCopter log against pymavlink's DFReader."""

from __future__ import annotations

import math

import pytest
from pymavlink import DFReader

from dronesense.errors import InputError
from dronesense.events import Fix, Reading, TimeSync
from dronesense.sources.dataflash import gps_to_unix_us, load_record_map, read_dataflash
from tests.support.postflight import BIN, needs_bin


def _dfreader(kind):
    f = DFReader.DFReader_binary(str(BIN), zero_time_base=False)
    out = []
    while True:
        m = f.recv_match(type=kind)
        if m is None:
            return out
        out.append(m)


@needs_bin
def test_truncated_bin_read_to_the_cut_with_pos_positions():
    log = read_dataflash(BIN)
    fixes = [e for _, e in log.events if isinstance(e, Fix)]
    ref = _dfreader("POS")
    assert log.position_source == "POS"
    assert len(fixes) == len(ref) == 23
    for fix, m in zip(fixes, ref, strict=True):
        assert fix.time_boot_ms == m.TimeUS / 1000.0
        assert (fix.lat, fix.lon, fix.alt_amsl, fix.height) == (m.Lat, m.Lng, m.Alt,
                                                                 m.RelHomeAlt)
    assert log.skipped and log.skipped[-1].reason == "truncated record"
    assert log.skipped[-1].offset + log.skipped[-1].length == BIN.stat().st_size


@needs_bin
def test_gps_positions_and_clock():
    log = read_dataflash(BIN, position="GPS")
    fixes = [e for _, e in log.events if isinstance(e, Fix)]
    syncs = [e for _, e in log.events if isinstance(e, TimeSync)]
    ref = _dfreader("GPS")
    assert len(fixes) == len(ref) == 5
    assert [(f.lat, f.lon) for f in fixes] == [(m.Lat, m.Lng) for m in ref]
    assert all(math.isnan(f.height) for f in fixes)
    # DFReader's own GPS-based clock agrees with ours
    assert syncs[0].time_unix_usec / 1e6 == pytest.approx(ref[0]._timestamp, abs=1e-3)


@needs_bin
def test_custom_record_mapping(tmp_path):
    cfg = tmp_path / "records.toml"
    cfg.write_text('[records.BARO]\nPress = "pressure"\n')
    log = read_dataflash(BIN, load_record_map(cfg))
    readings = [e for _, e in log.events if isinstance(e, Reading)]
    ref = _dfreader("BARO")
    assert [r.value for r in readings] == [m.Press for m in ref]
    assert {r.name for r in readings} == {"pressure"}


def test_gps_time():
    assert gps_to_unix_us(1973, 6448000) == 1509241630000000


def test_not_a_dataflash_log(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"hello world")
    with pytest.raises(InputError, match="not an ArduPilot DataFlash"):
        read_dataflash(bad)
