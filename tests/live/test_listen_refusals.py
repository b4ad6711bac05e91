"""``listen --forward`` on the vehicle link's own address is refused in one line, before any
port or session file is opened."""

from __future__ import annotations

import pytest

from dronesense.cli.main import main as _main
from dronesense.errors import ParameterError
from dronesense.live.listener import Listener
from tests.support.paths import free_port


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


@pytest.mark.parametrize("forward", ["udpout:127.0.0.1:{p}", "udpout:localhost:{p}",
                                     "udpin:127.0.0.1:{p}", "tcpin:0.0.0.0:{p}"])
def test_forward_on_the_vehicle_port_is_refused(tmp_path, capsys, forward):
    port = free_port()
    fwd = forward.format(p=port)
    out = tmp_path / "s"
    assert main(["listen", f"udpin:127.0.0.1:{port}", "--out", str(out), "--forward", fwd,
                 "--quiet", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--forward" in err and fwd in err, err
    assert not out.exists()
    with pytest.raises(ParameterError) as exc:
        Listener(f"udpin:127.0.0.1:{port}", out=out, forward=fwd)
    assert exc.value.parameter == "forward"


def test_forward_on_another_port_is_fine(tmp_path):
    port = free_port()
    with Listener(f"udpin:127.0.0.1:{port}", out=tmp_path / "s",
                  forward=f"udpout:127.0.0.1:{port + 1 if port < 65535 else port - 1}"):
        pass
