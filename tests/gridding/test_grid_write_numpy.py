"""Grids are written through xarray's netCDF4 store with the dask checks answered without
importing dask: the files are those ``Dataset.to_netcdf`` writes, byte for byte in what
netCDF-C reports (variables, attributes, values, storage and filters)."""

import subprocess
import sys
from importlib.util import find_spec

import netCDF4
import numpy as np
import pytest

from dronesense.gridding.dataset import netcdf_encoding, write_grid
from dronesense.gridding.grid import grid
from tests.support.grids import flight, samples_dataset


def _contents(path):
    """Everything netCDF-C reports of a file but the data's bytes: dimensions, variables
    (type, dims, attributes, storage, filters, endianness) and values, global attributes."""
    with netCDF4.Dataset(path) as nc:
        out = {"dims": {k: len(d) for k, d in nc.dimensions.items()},
               "attrs": {k: str(nc.getncattr(k)) for k in nc.ncattrs()}}
        for name, var in nc.variables.items():
            var.set_auto_mask(False)
            out[name] = (var.dtype.str, var.dimensions, var.chunking(), var.filters(),
                         var.endian(), {k: str(var.getncattr(k)) for k in var.ncattrs()},
                         np.asarray(var[...]).tobytes())
        return out


@pytest.fixture(scope="module")
def samples():
    coords, values, _, _ = flight(layers=(10, 25), extent=(-60, 60, -40, 40),
                                  line_spacing=20, step=3.0, noise=0.02)
    return samples_dataset(coords, values)


@pytest.mark.parametrize("method", ["block", "idw", "kriging", "dmv"])
def test_write_grid_writes_what_to_netcdf_writes(samples, tmp_path, method):
    ds = grid(samples, "ch4", spacing=(10, 10, 5), method=method)
    ours = write_grid(ds, tmp_path / "ours.nc")
    ds.to_netcdf(tmp_path / "xarray.nc", encoding=netcdf_encoding(ds), engine="netcdf4")
    assert _contents(ours) == _contents(tmp_path / "xarray.nc")


@pytest.mark.skipif(find_spec("dask") is None, reason="dask is not installed")
def test_grid_and_write_without_importing_dask(tmp_path):
    """The samples file read, the grid made and written: dask is installed and not
    imported (xarray would import it to look for dask arrays)."""
    from dronesense.datasets import sample_flight
    from dronesense.samples.files import load_dataset

    load_dataset(sample_flight()).to_netcdf(tmp_path / "s.nc")
    code = f"""
import sys
from dronesense.gridding.dataset import write_grid
from dronesense.gridding.grid import grid
from dronesense.samples.files import load_dataset
ds = grid(load_dataset({str(tmp_path / "s.nc")!r}), "ch4", spacing=(10, 10, 5), method="idw")
write_grid(ds, {str(tmp_path / "g.nc")!r})
print(sorted(m for m in sys.modules if m == "dask" or m.startswith("dask.")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
