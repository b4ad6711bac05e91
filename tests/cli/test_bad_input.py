"""Bad input through the real command lines: exit status 2 (1 for firmware-sim's files) and
one line on stderr naming the value and what is allowed, never a traceback."""

from __future__ import annotations

import json

import pytest

from dronesense.cli.main import main
from dronesense.samples.journal import JournalWriter
from dronesense.sources.dataflash import read_dataflash
from firmware_sim.cli import main as sim_main
from tests.support.dataflash import FMT_OF_FMT, fmt_record, record
from tests.support.paths import MISSIONS


def _run(capsys, func, argv) -> tuple[int, str]:
    try:
        code = func(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    return code, err


def _one_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def files(tmp_path):
    f = {}
    f["file"] = tmp_path / "afile"
    f["file"].write_text("x")
    plan = json.loads((MISSIONS / "pm-profile.plan").read_text())
    wp = next(i for i in plan["mission"]["items"]
              if i.get("type") == "SimpleItem" and i["command"] == 16)
    wp["params"][0] = float("inf")  # json writes Infinity, as the file had
    f["inf"] = tmp_path / "inf.plan"
    f["inf"].write_text(json.dumps(plan))
    f["plan"] = tmp_path / "p.plan"
    f["plan"].write_text((MISSIONS / "pm-profile.plan").read_text())
    (tmp_path / "p.toml").write_text((MISSIONS / "pm-profile.toml").read_text())
    f["badtoml"] = tmp_path / "bad.toml"
    f["badtoml"].write_bytes(b'x = "\xff\xfe"\n')
    f["badfmt"] = tmp_path / "badfmt.bin"
    f["badfmt"].write_bytes(FMT_OF_FMT + fmt_record(200, "XYZ", "QX", "TimeUS,V", 12)
                            + record(200, "QB", 5, 0))
    f["tlog"] = tmp_path / "x.tlog"
    f["tlog"].write_bytes(b"")
    f["out"] = tmp_path
    return f


def _cases(f):
    out = f["out"]
    return [
        (["pair", str(f["badfmt"]), "--out", str(out / "o.csv")], ["format char", "'X'",
                                                                     "allowed"]),
        (["pair", str(f["tlog"]), "--out", str(out / "o.csv"), "--lag", "ch4=nan"],
         ["ch4=nan", "finite"]),
        (["pair", str(f["tlog"]), "--out", str(out / "o.csv"), "--lag", "ch4=1e300"],
         ["1e300", "3600"]),
        (["pair", str(f["tlog"]), "--out", str(out / "no" / "o.csv")], ["--out", "does not exist"]),
        (["pair", str(f["tlog"]), "--out", str(out / "o.csv"), "--max-gap", "-1"],
         ["--max-gap", "'-1'", "greater than 0"]),
        (["grid", str(f["tlog"]), "-q", "ch4", "--out", str(out / "no" / "g.nc")],
         ["--out", "does not exist"]),
        (["mission", "check", str(f["inf"])], ["inf", "finite"]),
        (["mission", "convert", str(f["inf"]), str(out / "x.waypoints")], ["inf", "finite"]),
        (["mission", "check", str(f["plan"]), "--max-height", "-1"], ["--max-height", "'-1'"]),
        (["mission", "check", str(f["plan"]), "--max-height", "nan"], ["--max-height", "'nan'"]),
        (["mission", "check", str(f["plan"]), "--min-spacing", "nan"], ["--min-spacing"]),
        (["listen", "--out", str(f["file"])], ["--out", "not a folder"]),
        (["listen", "--out", "/proc/x"], ["/proc/x", "cannot create"]),
        (["listen", "udpin:127.0.0.1:99999", "--out", str(out / "s")], ["99999", "65535"]),
        (["listen", "--out", str(out / "s"), "--duration", "nan"], ["--duration", "'nan'"]),
        (["listen", "--out", str(out / "s"), "--max-gap", "-1"], ["--max-gap", "'-1'"]),
        (["listen", "--out", str(out / "s"), "--lag", "ch4=nan"], ["ch4=nan"]),
    ]


def test_dronesense_bad_input_is_one_line(files, capsys):
    for argv, words in _cases(files):
        code, err = _run(capsys, main, argv)
        assert code == 2, (argv, code, err)
        _one_line(err, *words)
    assert not (files["out"] / "s").exists()  # refused before anything was made


def test_firmware_sim_bad_input_is_one_line(files, capsys):
    base = ["--mission", str(files["plan"]), "--connect", "none", "--tlog",
            str(files["out"] / "t.tlog")]
    for extra, words in [
        (["--fault", "clock=nan"], ["clock=nan", "finite"]),
        (["--fault", "clockjump=1:nan"], ["clockjump=1:nan", "finite"]),
        (["--fault", "reboot=nan"], ["reboot=nan", "finite"]),
        (["--fault", f"clock={2**31}"], ["clock", "must be in"]),
        (["--fault", "dup=1.5"], ["dup", "[0, 1]"]),
        (["--max-time", "nan"], ["--max-time", "'nan'"]),
        (["--gps-noise", "-1"], ["--gps-noise", "'-1'", ">= 0"]),
    ]:
        code, err = _run(capsys, sim_main, base + extra)
        assert code == 2, (extra, code, err)
        _one_line(err, *words)
    code, err = _run(capsys, sim_main, [*base, "--field", str(files["badtoml"])])
    assert code == 1
    _one_line(err, "bad.toml", "UTF-8")
    assert not (files["out"] / "t.tlog").exists()


def test_dataflash_records_without_columns_or_with_huge_times_are_skipped(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(
        FMT_OF_FMT + fmt_record(201, "PARM", "Qf", "TimeUS,Value")
        + fmt_record(202, "CH4S", "Qf", "TimeUS,Ppm")
        + record(201, "Qf", 5, 1.0)
        + record(202, "Qf", 2**64 - 1, 1.9) + record(202, "Qf", 1_000_000, 2.0))
    log = read_dataflash(path, {"CH4S": {"Ppm": "ch4"}})
    reasons = [s.reason for s in log.skipped]
    assert any("PARM" in r and "Name" in r for r in reasons), reasons
    assert any("TimeUS" in r and "allowed" in r for r in reasons), reasons
    assert [e.value for _, e in log.events] == [2.0]  # the good record is kept


def test_grid_on_a_journal_with_one_bad_time_keeps_the_rest(tmp_path, capsys):
    from dronesense.flight.rows import SampleRow

    rows = [SampleRow(f"2024-05-01T10:00:{i % 60:02d}.{i:06d}Z", 1000.0 * i, 0, 1,
                      51.0 + i * 1e-5, 7.0 + (i % 20) * 1e-5, 100.0 + i % 10, 20.0 + i % 10,
                      "ch4", "CH4", 1.9 + i * 0.001, "1e-6", 0.2, 0, "gps") for i in range(120)]
    path = tmp_path / "j.csv"
    with JournalWriter(path) as journal:
        journal.write(rows)
    text = path.read_text().replace("2024-05-01T10:00:03.000003Z", "2024-13-99Tbad")
    path.write_text(text)
    with pytest.warns(RuntimeWarning, match="1 rows with a time_utc"):
        code, _ = _run(capsys, main, ["grid", str(path), "-q", "ch4", "--spacing", "5",
                                      "--out", str(tmp_path / "g.nc")])
    assert code == 0 and (tmp_path / "g.nc").exists()


def test_validators_refuse_nan_inf_negative():
    import argparse

    from dronesense.cli.options import connection, non_negative, output_dir, port, positive

    for func, text in [(positive, "0"), (positive, "inf"), (non_negative, "-1e-9"),
                       (non_negative, "nan"), (port, "0"), (port, "65536"),
                       (connection, "tcp:localhost:70000"), (output_dir, "/no/such/dir/x")]:
        with pytest.raises(argparse.ArgumentTypeError):
            func(text)
