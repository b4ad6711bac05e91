"""`Listener` driven from Python over real loopback UDP: a scripted vehicle and the simulator.

The samples a program iterates are the rows written to ``samples.csv``, the positions are
the known truth, and ``summary`` counts what was sent. The parameter errors name the
parameter for a program and the option on the command line.
"""

from __future__ import annotations

import math
import socket
import subprocess
import threading

import pandas as pd
import pytest

from dronesense.errors import InputError, ParameterError
from dronesense.flight.pipeline import replay
from dronesense.flight.rows import Flag
from dronesense.live.listener import Listener
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from tests.support.link import BIN, ScriptedVehicle, send_udp, truth_position
from tests.support.paths import MISSIONS

R_EARTH = 6_371_000.0


def test_samples_are_the_journal_and_the_truth(tmp_path):
    out = tmp_path / "s"
    vehicle = ScriptedVehicle(duration_s=3.0)
    packets = vehicle.packets()
    with Listener("udpin:127.0.0.1:0", out=out, meta={"command_line": ["test"]}) as live:
        host, port = live.link.address
        assert host == "127.0.0.1"  # bound exactly where asked
        send_udp(port, packets, per_datagram=2)
        samples = list(live.samples(timeout=1.0))
    summary = live.summary
    journal = read_journal(out)
    assert [format_row(r) for r in samples] == [format_row(r) for r in journal]
    assert [(r.time_boot_ms, r.name, r.value) for r in samples] == vehicle.readings
    paired = [r for r in samples if r.flag == Flag.PAIRED]
    assert len(paired) >= len(samples) - 1  # the last reading may come after the last fix
    for r in paired:
        lat, lon, alt, height = truth_position(r.time_boot_ms)
        assert r.lat == pytest.approx(lat, abs=1e-6) and r.lon == pytest.approx(lon, abs=1e-6)
        assert r.alt_amsl == pytest.approx(alt, abs=1e-3)
        assert r.height == pytest.approx(height, abs=1e-3)
    assert summary["packets"] == len(packets) == len(list(TlogReader(out / "flight.tlog")))
    assert summary["samples"]["total"] == len(samples)
    assert summary["loss_total"] == 0.0 and summary["bad_bytes"] == 0
    assert summary["stop_reason"] == "timeout" and summary["end_utc"]
    assert summary["command_line"] == ["test"] and summary["connection"] == "udpin:127.0.0.1:0"
    assert [format_row(r) for r in replay(out)] == [format_row(r) for r in journal]
    assert live.close() is summary  # closing again changes nothing


def test_passive_and_stopped_from_the_loop(tmp_path):
    """Nothing goes back to the sender; after stop() inside the loop, what already arrived is
    still recorded and iterated, then the iteration ends."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    sender.settimeout(0.3)
    vehicle = ScriptedVehicle(duration_s=2.0)
    packets = vehicle.packets()
    with Listener("udpin:127.0.0.1:0", out=tmp_path / "s") as live:
        for _, raw in packets:
            sender.sendto(raw, live.link.address)
        got = []
        for row in live.samples():
            got.append(row)
            if len(got) == 3:
                live.stop()
    with pytest.raises(TimeoutError):
        sender.recv(100)
    sender.close()
    assert live.stop_reason == "stopped"
    assert live.summary["packets"] == len(packets)
    rows = read_journal(tmp_path / "s")
    assert [format_row(r) for r in got] == [format_row(r) for r in rows]
    assert len(rows) == len(vehicle.readings)


@pytest.mark.slow
def test_simulated_flight_iterated_from_python(start_sim, udp_port, tmp_path):
    out = tmp_path / "session"
    truth = tmp_path / "truth.csv"
    with Listener(f"udpin:127.0.0.1:{udp_port}", out=out) as live:
        sim = start_sim("--mission", MISSIONS / "plume-box.plan", "--connect",
                        f"udpout:127.0.0.1:{udp_port}", "--speedup", "100", "--seed", "1",
                        "--truth", truth, "--tlog", tmp_path / "sim.tlog", "--max-time", "150",
                        "--quiet")
        # the simulator's datagrams are all in the socket once it has exited
        watcher = threading.Thread(target=lambda: (sim.wait(120), live.stop("sim done")))
        watcher.start()
        samples = list(live.samples(timeout=120))
        watcher.join()
    assert sim.returncode == 0, sim.stderr.read()
    assert live.summary["stop_reason"] == "sim done"
    journal = read_journal(out)
    assert [format_row(r) for r in samples] == [format_row(r) for r in journal]
    sent = list(TlogReader(tmp_path / "sim.tlog"))
    assert live.summary["packets"] == len(sent)
    assert [p.raw for p in TlogReader(out / "flight.tlog")] == [p.raw for p in sent]
    t = pd.read_csv(truth)
    s = pd.DataFrame([r._asdict() for r in samples])
    m = s.merge(t, on=["sysid", "time_boot_ms", "name"], suffixes=("", "_t"))
    assert len(m) == len(t) == len(samples)
    ok = m[m.flag == Flag.PAIRED]
    assert len(ok) > 0.99 * len(m)
    dn = (ok.lat - ok.lat_t).map(math.radians) * R_EARTH
    de = (ok.lon - ok.lon_t).map(math.radians) * R_EARTH * ok.lat_t.map(
        lambda x: math.cos(math.radians(x)))
    assert (dn.pow(2) + de.pow(2)).pow(0.5).max() < 1.0
    assert (ok.alt_amsl - ok.alt_amsl_t).abs().max() < 1.0


@pytest.mark.slow
def test_run_until_landed(start_sim, udp_port, tmp_path):
    statuses = []
    with Listener(f"udpin:127.0.0.1:{udp_port}", out=tmp_path / "s") as live:
        start_sim("--mission", MISSIONS / "pm-profile.plan", "--connect",
                  f"udpout:127.0.0.1:{udp_port}", "--speedup", "200", "--seed", "1",
                  "--max-time", "900", "--quiet")
        summary = live.run(duration=120, until_landed=True,
                           on_status=lambda lst: statuses.append(lst.summary["packets"]))
    assert summary["stop_reason"] == "landed"
    assert summary["vehicles"]["1"]["has_flown"] and not summary["vehicles"]["1"]["armed"]
    assert statuses and statuses == sorted(statuses)
    assert summary["samples"]["total"] == len(read_journal(tmp_path / "s")) > 0


def test_parameter_errors_name_the_parameter(tmp_path):
    cases = [({"payloads": ["pms5003"]}, "payloads"),
             ({"payloads": ["bme280:/dev/null"]}, "payloads"),
             ({"payloads": ["sds011:/dev/null"], "payload_prefixes": ["a", "b"]},
              "payload_prefixes"),
             ({"payloads": ["sds011:/dev/null"], "payload_prefixes": ["a.b"]},
              "payload_prefixes"),
             ({"payload_rate": "fast"}, "payload_rate"),
             ({"forward": "/dev/ttyUSB9"}, "forward"),
             ({"lags": {"ch4": "auto"}}, "lags")]
    for kwargs, parameter in cases:
        with pytest.raises(ParameterError) as err:
            Listener("udpin:127.0.0.1:0", out=tmp_path / "s", **kwargs)
        assert err.value.parameter == parameter and "--" not in str(err.value)
    with pytest.raises(ParameterError) as err:
        Listener("bogus", out=tmp_path / "s")
    assert err.value.parameter == "conn"
    with pytest.raises(ValueError, match="forward_control"):
        Listener(out=tmp_path / "s", forward_control=True)
    assert not (tmp_path / "s").exists()  # nothing was written
    with Listener("udpin:127.0.0.1:0", out=tmp_path / "s") as live:
        pass
    assert live.summary["stop_reason"] == "stopped"
    with pytest.raises(InputError, match="already holds a session"):
        Listener("udpin:127.0.0.1:0", out=tmp_path / "s")


@pytest.mark.parametrize("extra, text", [
    (["--payload", "pms5003"], "--payload: expected FORMAT:DEVICE[:BAUD], got 'pms5003'"),
    (["--payload", "sds011:/dev/null", "--payload-prefix", "a", "--payload-prefix", "b"],
     "--payload-prefix: 2 prefixes for 1 payloads"),
    (["--payload-rate", "0"], "--payload-rate: expected a positive number or 'auto'"),
    (["--forward", "/dev/ttyUSB9"], "--forward: a ground-station link is udpout:"),
])
def test_cli_names_the_option(tmp_path, extra, text):
    r = subprocess.run([str(BIN), "listen", "udpin:127.0.0.1:0", "--out", str(tmp_path / "s"),
                        "--quiet", "--duration", "0.1", *extra], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("dronesense listen: error: ") and text in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
