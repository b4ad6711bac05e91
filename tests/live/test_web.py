"""`listen --web` in a real headless browser while firmware-sim flies over loopback UDP."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from dronesense.errors import InputError, ParameterError
from dronesense.samples.journal import read_journal
from dronesense.sources.link import Chunk
from tests.support.browser import console_errors, screenshot, start_browser, wait_for
from tests.support.link import ScriptedVehicle, start_listener, stop
from tests.support.paths import MISSIONS, free_port

SIM = Path(sys.executable).with_name("firmware-sim")


PAGE = """
const row = document.querySelector("#values tr[data-quantity='ch4']");
return {count: Number(document.getElementById("count").dataset.count),
        circles: document.querySelectorAll("#track circle").length,
        ch4: row ? row.dataset.value : null,
        warnings: [...document.querySelectorAll("#warnings li")].map(li => li.textContent),
        source: document.getElementById("sourcemark") !== null,
        layers: document.querySelectorAll("#field figure").length,
        vehicles: document.getElementById("vehicles").textContent};
"""


def _positioned(out: Path) -> list:
    try:
        return [r for r in read_journal(out) if r.lat is not None]
    except Exception:  # the journal's last line may still be being written
        return []


def test_live_page_follows_a_simulated_flight(tmp_path):
    port, web_port = free_port(), free_port(socket.SOCK_STREAM)
    out = tmp_path / "session"
    driver = start_browser(tmp_path / "profile")
    proc = start_listener(out, port, "--web", f"127.0.0.1:{web_port}",
                          "--web-source", "50.9941,6.9901")
    try:
        sim = subprocess.Popen(
            [str(SIM), "--mission", str(MISSIONS / "plume-box.plan"), "--connect",
             f"udpout:127.0.0.1:{port}", "--speedup", "25", "--seed", "1", "--max-time",
             "100", "--fault", "gpsloss=40:55", "--quiet", "--truth", str(tmp_path / "t.csv")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        driver.get(f"http://127.0.0.1:{web_port}/")
        wait_for(lambda: driver.execute_script("return document.body.dataset.ready"),
                 what="first state", driver=driver)
        _, err = sim.communicate(timeout=60)
        assert sim.returncode == 0, err

        # every positioned journal row is a track point on the page, no more, no less; the
        # latest CH4 on the page is the last one the vehicle sent (the truth file's). The page
        # is read in one script (it redraws twice a second: elements do not stay)
        sent = [r for r in csv.DictReader(open(tmp_path / "t.csv")) if r["name"] == "CH4"]
        last_sent = float(str(np.float32(sent[-1]["reported_value"])))

        def settled():
            page = driver.execute_script(PAGE)
            n = page["count"]
            return (n > 0 and n == len(_positioned(out)) and page["ch4"] is not None
                    and float(page["ch4"]) == last_sent and page)
        page = wait_for(settled, what="page track = journal, latest CH4 = last sent",
                        driver=driver)
        assert page["circles"] == page["count"]
        page_ch4 = float(page["ch4"])
        assert any(w.startswith("GPS loss") for w in page["warnings"]), page["warnings"]
        assert page["source"] and page["layers"] >= 1        # source marker, a flown layer
        assert "AUTO" in page["vehicles"] and "%" in page["vehicles"]  # mode, battery
        screenshot(driver, tmp_path / "live.png")
        field = driver.find_element("id", "fieldbox")
        driver.execute_script("arguments[0].scrollIntoView()", field)
        screenshot(field, tmp_path / "live-field.png")
        assert console_errors(driver) == []
    finally:
        code, stdout, err = stop(proc)
        driver.quit()
    assert code == 0, err
    assert f"web view (read-only): http://127.0.0.1:{web_port}/" in stdout
    ch4 = [r for r in read_journal(out) if r.quantity == "ch4"]
    assert page_ch4 == ch4[-1].value


def test_web_address_is_exclusive_and_local_by_default(tmp_path):
    from dronesense.live.recorder import Recorder
    from dronesense.live.web import LiveWeb, parse_address

    assert parse_address(None)[0] == "127.0.0.1"
    with pytest.raises(ParameterError, match="vehicle connection"):
        parse_address("udpin:127.0.0.1:14550")   # `listen --web CONN`: CONN taken for ADDR
    rec = Recorder(tmp_path / "s")
    with LiveWeb("127.0.0.1:0", session=rec.dir) as web:
        assert web.host == "127.0.0.1"
        with pytest.raises(InputError, match="cannot serve the web view"):
            LiveWeb(f"127.0.0.1:{web.port}", session=rec.dir)
        req = urllib.request.Request(web.url, data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(req)
        # nothing from outside: the page may load only from this server
        csp = urllib.request.urlopen(web.url).headers["Content-Security-Policy"]
        assert "://" not in csp and "default-src 'none'" in csp
        for k, (_, raw) in enumerate(ScriptedVehicle(duration_s=1.0).packets()):
            rec.feed(Chunk(raw, 1_714_557_600_000_000 + k, ("127.0.0.1", 1), True))
        rec.latest[(1, "ch4")] = (float("nan"), "1e-6", "CH4")  # a sensor sending NaN
        web.update(rec, force=True)
        state = json.loads(urllib.request.urlopen(web.url + "state.json").read())
        assert state["state"]["values"][0]["value"] is None
    tiles = "https://tile.example.org/{z}/{x}/{y}.png"
    with LiveWeb("127.0.0.1:0", session=rec.dir, tiles=tiles) as web:
        csp = urllib.request.urlopen(web.url).headers["Content-Security-Policy"]
        assert "img-src 'self' data: https://tile.example.org" in csp
    rec.close()
