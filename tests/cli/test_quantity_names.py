"""Quantity options take keys, wire names and common aliases; near misses say "did you mean"."""

from __future__ import annotations

import pytest

from dronesense.cli.main import main
from dronesense.errors import ParameterError
from dronesense.quantities import NameTable
from tests.support.grids import flight, samples_dataset


@pytest.mark.parametrize("name, key", [("CH4", "ch4"), ("methane", "ch4"), ("ch4", "ch4"),
                                       ("pm25", "pm2p5"), ("PM2.5", "pm2p5"),
                                       ("pm2p5", "pm2p5"), ("RH", "humidity")])
def test_names_resolve_to_keys(name, key):
    assert NameTable.default().resolve(name) == key


def test_unknown_names():
    table = NameTable.default()
    with pytest.raises(ParameterError, match="did you mean ch4") as info:
        table.resolve("metane")
    assert info.value.parameter == "quantity"
    with pytest.raises(ParameterError, match=r"known: .*pm2p5"):
        table.resolve("zzzz")
    assert table.resolve("nh3", available=["nh3"]) == "nh3"
    assert table.resolve("zzzz", strict=False) == "zzzz"


@pytest.fixture(scope="module")
def samples_file(tmp_path_factory):
    coords, values, _, _ = flight(layers=(10, 20), extent=(-40, 40, -20, 20), step=4.0)
    path = tmp_path_factory.mktemp("q") / "samples.nc"
    samples_dataset(coords, values).to_netcdf(path)
    return path


def test_grid_takes_an_alias_and_explains_a_typo(samples_file, tmp_path, capsys):
    out = tmp_path / "g.nc"
    assert main(["grid", str(samples_file), "-q", "Methane", "--method", "block",
                 "--spacing", "20,20,10", "--out", str(out)]) == 0
    assert "ch4" in capsys.readouterr().out and out.exists()
    assert main(["grid", str(samples_file), "-q", "metane", "--spacing", "20,20,10",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean ch4?" in err and "-q" in err
