"""Vertical levels on the flown layers and cross-validation blocks from the spacing between
passes, checked on synthetic flights whose layers and lines are known."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dronesense.errors import ParameterError
from dronesense.gridding.levels import detect_layers, fit_levels
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.spec import GridSpec, make_spec
from dronesense.gridding.validation import cross_validate, line_spacing


def layered_flight(layers, *, seed=0, per_layer=600, climb_rate_samples=4, noise=0.3):
    """Lawnmower legs at each layer, climbs between them and from the ground (samples
    every metre of climb / ``climb_rate_samples``), altitude noise ``noise`` m."""
    rng = np.random.default_rng(seed)
    xs, ys, zs = [], [], []
    last = 0.0
    for h in layers:
        climb = np.linspace(last, h, max(2, int(abs(h - last) * climb_rate_samples)))
        xs.append(np.zeros(climb.size)), ys.append(np.zeros(climb.size)), zs.append(climb)
        s = np.linspace(0.0, 300.0, per_layer)
        xs.append(s), ys.append(np.repeat([0.0, 20.0, 40.0], per_layer // 3)[:s.size])
        zs.append(np.full(s.size, h) + rng.normal(0, noise, s.size))
        last = h
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(zs)


def test_layers_are_found_and_a_climb_is_none():
    _, _, z = layered_flight([20.0, 35.0, 50.0])
    np.testing.assert_allclose(detect_layers(z, ground=1.0), [20.0, 35.0, 50.0], atol=0.1)
    profile = np.linspace(0.0, 100.0, 3000) + np.random.default_rng(1).normal(0, 0.3, 3000)
    assert detect_layers(profile, ground=1.0).size == 0
    assert fit_levels(profile, 5.0) is None


@pytest.mark.parametrize("dz", [15.0, 5.0, 10.0])
def test_levels_are_centred_on_the_layers(dz):
    x, y, z = layered_flight([20.0, 35.0, 50.0])
    spec = GridSpec((10.0, 10.0, dz), (52.0, 5.0, 0.0)).fit(x, y, z)
    centres = spec.z
    for layer in (20.0, 35.0, 50.0):
        nearest = np.min(np.abs(centres - layer))
        # on a centre when the spacing allows it, never near a face
        assert nearest <= (2.5 if dz == 10.0 else 1e-9)
        assert dz / 2 - nearest >= 2.5 - 1e-9
    # no near-empty level below the lowest layer (only the take-off climb reaches it)
    assert abs(centres[0] - 20.0) <= (0.0 if dz != 10.0 else 2.5) + 1e-9
    idx = spec.locate(x, y, z)
    level = idx[idx >= 0] // (spec.shape[1] * spec.shape[2])
    counts = np.bincount(level, minlength=spec.shape[0])
    assert counts[0] > 100


def test_a_layer_on_a_face_is_not_split():
    """Regular levels of 10 m put a layer at 25 m on the face between the 20 and 30 m
    levels (its samples fall in both); the default levels keep it in one."""
    x, y, z = layered_flight([25.0, 45.0])
    regular = make_spec(spacing=(10, 10, 10), origin=(52.0, 5.0, 0.0), levels="regular")
    for spec, split in ((regular.fit(x, y, z), True), (GridSpec((10, 10, 10), (52, 5, 0)).fit(
            x, y, z), False)):
        layer = np.abs(z - 25.0) < 1.0
        levels = np.unique(spec.locate(x[layer], y[layer], z[layer]) // (
            spec.shape[1] * spec.shape[2]))
        assert (levels.size > 1) is split
    assert regular.fit(x, y, z).z[0] == 0.0
    with pytest.raises(ParameterError, match="levels"):
        GridSpec((10, 10, 10), (52, 5, 0), levels="stairs")


def test_line_spacing_and_cv_blocks():
    rng = np.random.default_rng(2)
    x = np.tile(np.arange(0.0, 400.0, 0.5), 6) + rng.normal(0, 0.4, 4800)
    y = np.repeat(np.arange(0.0, 150.0, 25.0), 800) + rng.normal(0, 0.4, 4800)
    z = np.full(x.size, 30.0)
    assert line_spacing((x, y, z)) == pytest.approx(25.0, abs=1.5)
    spec = GridSpec((10, 10, 5), (52, 5, 0)).fit(x, y, z)
    v = 1.9 + 0.001 * x
    scores = cross_validate(IDW(k=4), (x, y, z), v, spec=spec, folds=3, blocks="passes",
                            at="voxels")
    assert cross_validate(IDW(k=4), (x, y, z), v, spec=spec, folds=3).blocking == (
        "track pieces of 40 m")  # the default: four horizontal voxel sizes
    m = re.fullmatch(r"track pieces of ([\d.]+) m \(twice the ([\d.]+) m between passes\)",
                     scores.blocking)
    assert m and float(m[2]) == pytest.approx(25.0, abs=1.5)
    points = cross_validate(IDW(k=4), (x, y, z), v, spec=spec, folds=3, blocks="passes")
    assert points.coverage == scores.coverage
    assert points.groups == scores.groups  # the same held-out pieces, scored two ways
    # both errors are set by the field's change over a held-out piece (0.001 per m)
    piece = float(m[1])
    for s in (points, scores):
        assert 0.1 * 0.001 * piece < s.rmse < 0.001 * piece
