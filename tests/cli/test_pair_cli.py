"""The ``dronesense pair`` command."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

from dronesense.cli.main import main
from tests.support.paths import free_port
from tests.support.postflight import BIN, needs_bin, run_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return run_sim(tmp_path_factory.mktemp("cli"), "garbage=0.005", seed=5)


@pytest.mark.parametrize("suffix", [".nc", ".csv", ".parquet"])
def test_pair_writes_each_format(sim, tmp_path, capsys, suffix):
    out = tmp_path / f"samples{suffix}"
    rc = main(["pair", str(sim["tlog"]), "--out", str(out), "--quantity", "ch4",
               "--lag", "ch4=1.0", "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "ch4:" in text and "skipped" in text and "lag ch4: 1.00 s" in text
    if suffix == ".nc":
        ds = xr.open_dataset(out)
        assert ds.attrs["featureType"] == "trajectory"
        assert ds["ch4"].attrs["units"] == "1e-6"
        assert "flag_meanings" in ds["flag"].attrs
        assert "dronesense pair" in ds.attrs["history"]
        n = ds.sizes["obs"]
    elif suffix == ".csv":
        n = len(pd.read_csv(out))
    else:
        n = len(pd.read_parquet(out))
    assert n > 1000


def test_nothing_usable_exits_non_zero_with_a_reason(tmp_path, capsys):
    junk = tmp_path / "junk.tlog"
    junk.write_bytes(bytes(range(256)) * 10)
    rc = main(["pair", str(junk), "--out", str(tmp_path / "s.nc"), "--quiet"])
    assert rc == 2
    assert "nothing usable" in capsys.readouterr().err


def test_csv_track_without_map_names_the_option(tmp_path, capsys):
    track = tmp_path / "track.csv"
    track.write_text("time,lat,lon,alt,ch4\n2024-05-01T10:00:00Z,52.0,5.0,40,1.9\n")
    rc = main(["pair", str(track), "--out", str(tmp_path / "s.nc"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("dronesense pair: error: ")
    assert "--csv-map: a CSV track needs a column mapping" in err


@needs_bin
def test_pair_dataflash_without_readings_says_why(tmp_path, capsys):
    rc = main(["pair", str(BIN), "--out", str(tmp_path / "s.csv"), "--quiet"])
    assert rc == 2
    assert "no sensor readings" in capsys.readouterr().err


@needs_bin
def test_pair_dataflash_custom_record(tmp_path, capsys):
    records = tmp_path / "records.toml"
    records.write_text('[records.BARO]\nPress = "BaroPa"\n')
    names = tmp_path / "names.toml"  # BARO.Press is in pascals; the pressure quantity in hPa
    names.write_text('[names]\nBaroPa = { quantity = "pressure", units = "Pa" }\n')
    out = tmp_path / "s.csv"
    rc = main(["pair", str(BIN), "--records", str(records), "--names", str(names),
               "--out", str(out), "--quiet"])
    assert rc == 0
    df = pd.read_csv(out)
    assert set(df["quantity"]) == {"pressure"} and (df["flag"] == 0).any()
    good = df[df["flag"] == 0]["value"]
    assert good.between(900.0, 1100.0).all()  # hPa at a ground-level site


def _pair_rows(session, tmp_path, *extra):
    from dronesense.samples.journal import read_journal

    out = tmp_path / "paired.csv"
    assert main(["pair", str(session), "--out", str(out), "--quiet", *extra]) == 0
    return read_journal(out)


def test_pair_session_includes_serial_payload_readings(tmp_path, capsys):
    """A session with a serial payload (payload.csv): `pair SESSION` gives the live journal,
    serial readings (``pms5003.PM2.5``, quantity pm2p5) included, through the same merge as
    replay."""
    from dronesense.events import Reading
    from dronesense.live.recorder import Recorder
    from dronesense.samples.journal import format_row, read_journal
    from dronesense.sources.link import Chunk
    from tests.support.link import ScriptedVehicle

    session = tmp_path / "s"
    rec = Recorder(session, sensors=["pms5003"])
    base = 1_714_557_600_000_000
    for k, (_, raw) in enumerate(ScriptedVehicle(duration_s=3.0).packets()):
        rec.feed(Chunk(raw, base + k, ("127.0.0.1", 1), True))
        fs = rec.pairer.states.get(1)
        if k % 7 == 3 and fs is not None and fs.last_time_ms is not None:
            rec.feed_readings([(Reading(1, fs.last_time_ms - 35.5, "pms5003.PM2.5", float(k)),
                                base + k)], source="pms5003:test")
    rec.close()
    live = read_journal(session)
    serial = [r for r in live if r.name == "pms5003.PM2.5"]
    assert serial and {r.quantity for r in serial} == {"pm2p5"}
    paired = _pair_rows(session, tmp_path)
    assert [format_row(r) for r in paired] == [format_row(r) for r in live]
    # the tlog alone (no payload.csv beside it) has no serial readings
    (session / "payload.csv").rename(session / "moved.csv")
    assert len(_pair_rows(session, tmp_path)) == len(live) - len(serial)


@pytest.mark.slow
def test_pair_session_recorded_with_simulated_serial_payload(start_sim, tmp_path, capsys):
    """firmware-sim with a PMS5003 on a pty, recorded by `dronesense listen --payload`:
    `dronesense pair SESSION` equals the live journal, row for row (no lag declared)."""
    from dronesense.samples.journal import format_row, read_journal
    from tests.support.link import start_listener, stop
    from tests.support.sim import write_mission

    plan = write_mission(tmp_path)
    port = free_port()
    sim = start_sim("--mission", plan, "--connect", f"udpout:127.0.0.1:{port}",
                    "--speedup", "8", "--seed", "3", "--serial-payload", "pms5003:pty",
                    "--quiet")
    line = sim.stderr.readline()
    assert line.startswith("firmware-sim: serial payload pms5003 on "), line
    session = tmp_path / "session"
    listener = start_listener(session, port, "--payload",
                              f"pms5003:{line.split(' on ')[1].strip()}",
                              "--payload-rate", "auto", "--payload-latency", "0")
    sim.wait(timeout=120)
    assert sim.returncode == 0
    code, _, err = stop(listener)
    assert code == 0, err
    live = read_journal(session)
    assert any(r.name == "pms5003.PM2.5" and r.quantity == "pm2p5" for r in live)
    paired = _pair_rows(session, tmp_path)
    assert [format_row(r) for r in paired] == [format_row(r) for r in live]


def test_pair_geo_output_notes_unpaired(tmp_path, capsys):
    """A reading with no position ever: written to KML as nothing drawn, and said so."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    from dronesense.live.recorder import Recorder
    from dronesense.sources.link import Chunk

    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    raw = bytes(mavlink.MAVLink_named_value_float_message(1000, b"CH4", 1.9).pack(mav))
    rec = Recorder(tmp_path / "s")
    rec.feed(Chunk(raw, 1_714_557_600_000_000, ("127.0.0.1", 5000), True))
    rec.close()
    out = tmp_path / "s.kml"
    assert main(["pair", str(tmp_path / "s"), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "note: 1 unpaired sample(s) have no position and are not drawn (before_track 1)" \
        in text
    assert f"wrote 0 samples to {out}" in text and out.exists()


def test_pair_out_metavar_lists_every_format(capsys):
    with pytest.raises(SystemExit):
        main(["pair", "--help"])
    assert "samples.nc|.csv|.parquet|.geojson|.kml|.kmz" in capsys.readouterr().out


def test_quantity_short_option_selects_like_the_other_commands(sim, tmp_path):
    """``-q`` works for pair as for grid, flux, campaign and export."""
    from dronesense.samples.files import read_rows

    out = tmp_path / "s.csv"
    assert main(["pair", str(sim["tlog"]), "--out", str(out), "-q", "ch4", "--quiet"]) == 0
    rows = read_rows(out)
    assert rows and {r.quantity for r in rows} == {"ch4"}


def test_replay_and_pair_of_a_log_without_readings_both_exit_2(tmp_path, capsys):
    """A log with positions but no sensor readings is nothing usable for either command."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    log = tmp_path / "positions-only.tlog"
    with open(log, "wb") as f:
        for i in range(20):
            msg = mavlink.MAVLink_global_position_int_message(
                1000 * i, 509934000, 69877000, 62000, 20000, 0, 0, 0, 0)
            f.write((10**15 + i * 10**6).to_bytes(8, "big") + bytes(msg.pack(mav)))
    for command in ("pair", "replay"):
        capsys.readouterr()
        assert main([command, str(log), "--out", str(tmp_path / f"{command}.csv")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no sensor readings" in err[0]
        assert not (tmp_path / f"{command}.csv").exists()
