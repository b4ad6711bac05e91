"""The example city profile (missions/city-profile.plan and .toml) against its field: a
mixing layer 80 m deep capped by a 2 K inversion, humid (88 % RH) below, 60 % above.
Measured (seeds 1-3): 79.5-79.9 ± 3.4 m, inversion 2.02-2.04 K."""

from __future__ import annotations

import pytest

from dronesense.api import read_samples
from dronesense.products.profile import vertical_profile
from tests.support.paths import MISSIONS
from tests.support.programs import fly


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    tlog = fly(tmp_path_factory.mktemp("city"), "city", MISSIONS / "city-profile.plan",
               MISSIONS / "city-profile.toml", seed=1)
    return vertical_profile(read_samples(tlog), rh_limit=80.0)


def test_mixing_layer_and_inversion(profile):
    mlh, sigma = float(profile["mixing_layer_height"]), \
        float(profile["mixing_layer_height_uncertainty"])
    assert abs(mlh - 80.0) < 2 * sigma and sigma < 5.0
    assert float(profile["inversion_strength"]) == pytest.approx(2.0, abs=0.15)
    assert float(profile["inversion_base"]) < 80.0 < float(profile["inversion_top"])


def test_humid_layer_flagged(profile):
    z = profile["z"].values
    frac = profile["pm2p5_humid_fraction"].values
    assert (frac[(z >= 10) & (z <= 60)] > 0.9).all()
    assert (frac[z >= 100] == 0).all()
