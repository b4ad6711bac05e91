"""The ``dronesense`` command itself: sub-commands, one-line errors, pipes."""

import subprocess
import sys

from dronesense.cli.main import COMMANDS, build_parser, main


def test_every_command_is_registered():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    # one module per command; a module name spells the command's hyphens as underscores
    assert sorted(sub.choices) == sorted(c.replace("_", "-") for c in COMMANDS)


def test_user_error_is_one_line_without_traceback(tmp_path, capsys):
    assert main(["grid", str(tmp_path / "missing"), "-q", "ch4", "--spacing", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dronesense grid: error:")


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """``dronesense ... | head -1``: the reader goes away; no BrokenPipeError traceback."""
    cmd = [sys.executable, "-m", "dronesense", "mission", "profile", "--home", "50.99,6.98,42",
           "--levels", "10,20,30", "--out", str(tmp_path / "p.plan")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # nobody reads: the first print hits a broken pipe
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "p.plan").exists()
