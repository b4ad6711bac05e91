"""``grid(..., levels=)`` and ``dronesense grid --levels``: vertical levels on the flown
layers (default) or on multiples of the vertical spacing, against the layers flown."""

from __future__ import annotations

import numpy as np
import pytest

from dronesense.errors import ParameterError
from dronesense.gridding.grid import grid
from dronesense.gridding.spec import GridSpec
from tests.support.grids import flight, samples_dataset

LAYERS = (20.0, 35.0, 50.0)  # flown; a 15 m vertical spacing


@pytest.fixture(scope="module")
def samples():
    coords, values, _, _ = flight(layers=LAYERS, extent=(-60, 60, -40, 40), step=3.0)
    return samples_dataset(coords, values)


def test_levels_on_the_layers_by_default(samples):
    ds = grid(samples, "ch4", spacing=(20, 20, 15), method="block")
    assert ds["z"].values.tolist() == list(LAYERS)
    assert GridSpec.from_attrs(ds.attrs).levels == "layers"


def test_regular_levels_on_request(samples):
    ds = grid(samples, "ch4", spacing=(20, 20, 15), method="block", levels="regular")
    z = ds["z"].values
    np.testing.assert_array_equal(z % 15.0, 0.0)  # centres on multiples of the spacing
    assert z.tolist() == [15.0, 30.0, 45.0]  # which split the layers between them
    assert GridSpec.from_attrs(ds.attrs).levels == "regular"
    # a reused spec keeps its levels unless they are given
    again = grid(samples, "ch4", spec=GridSpec.from_attrs(ds.attrs), method="block")
    assert again["z"].values.tolist() == z.tolist()
    with pytest.raises(ParameterError, match="levels"):
        grid(samples, "ch4", spacing=(20, 20, 15), method="block", levels="even")


def test_cli_levels(samples, tmp_path, capsys):
    import xarray as xr

    from dronesense.cli.main import main

    src = tmp_path / "samples.nc"
    samples.to_netcdf(src)
    for levels, want in (("layers", list(LAYERS)), ("regular", [15.0, 30.0, 45.0])):
        out = tmp_path / f"{levels}.nc"
        assert main(["grid", str(src), "-q", "ch4", "--spacing", "20,15", "--levels", levels,
                     "--out", str(out)]) == 0
        with xr.open_dataset(out) as g:
            assert g["z"].values.tolist() == want
    assert main(["grid", str(src), "-q", "ch4", "--spacing", "20,15", "--levels", "even"]) == 2
    assert "--levels" in capsys.readouterr().err
