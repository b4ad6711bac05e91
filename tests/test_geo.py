"""Local east/north/up frame."""

import numpy as np
import pyproj
import pytest

from dronesense.errors import InputError
from dronesense.geo import LocalFrame


def test_round_trip_vectorised():
    frame = LocalFrame(52.0, 5.0, 12.0)
    rng = np.random.default_rng(1)
    lat = 52.0 + rng.uniform(-0.02, 0.02, 1000)
    lon = 5.0 + rng.uniform(-0.03, 0.03, 1000)
    alt = rng.uniform(0, 120, 1000)
    x, y, z = frame.forward(lat, lon, alt)
    assert x.shape == (1000,)
    lat2, lon2, alt2 = frame.inverse(x, y, z)
    np.testing.assert_allclose(lat2, lat, atol=1e-10)
    np.testing.assert_allclose(lon2, lon, atol=1e-10)
    np.testing.assert_allclose(alt2, alt)
    np.testing.assert_allclose(z, alt - 12.0)


def test_distances_match_geodesic():
    frame = LocalFrame(-33.9, 151.2)
    geod = pyproj.Geod(ellps="WGS84")
    lon2, lat2, _ = geod.fwd(151.2, -33.9, 60.0, 1500.0)
    x, y, _ = frame.forward(lat2, lon2)
    assert np.hypot(x, y) == pytest.approx(1500.0, abs=1e-3)
    assert np.degrees(np.arctan2(x, y)) == pytest.approx(60.0, abs=1e-6)


def test_origin_is_zero_and_axes_point_east_north():
    frame = LocalFrame(45.0, 7.0)
    x, y, _ = frame.forward(45.0, 7.0)
    assert abs(x) < 1e-9 and abs(y) < 1e-9
    x, y, _ = frame.forward(45.0, 7.001)
    assert x > 70 and abs(y) < 0.01
    x, y, _ = frame.forward(45.001, 7.0)
    assert y > 110 and abs(x) < 1e-6


def test_cf_grid_mapping_round_trip():
    frame = LocalFrame(52.1, 5.2, 3.0)
    attrs = frame.cf_attrs()
    assert attrs["grid_mapping_name"] == "azimuthal_equidistant"
    assert pyproj.CRS.from_cf(attrs) == frame.crs
    assert LocalFrame.from_cf(attrs) == frame


@pytest.mark.parametrize("bad", [(91.0, 0.0), (np.nan, 0.0), (0.0, 400.0)])
def test_bad_origin(bad):
    with pytest.raises(InputError):
        LocalFrame(*bad)
