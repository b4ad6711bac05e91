"""The numpy Gaussian smoothing gives scipy.ndimage's values to the last bit."""

import numpy as np
import pytest
from scipy import ndimage

from dronesense.gridding.gaussian import gaussian_filter, gaussian_filter1d


@pytest.mark.parametrize("seed", range(40))
def test_gaussian_filter_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 25, 3))
    arr = np.floor(rng.random(shape) * 4) if seed % 2 else rng.random(shape) * 1e3
    sigma = tuple(float(s) for s in rng.choice([0.0, 0.1, 0.5, 1.0, 2.0, 3.7, 12.0], 3))
    truncate = float(rng.choice([3.0, 4.0]))
    expected = ndimage.gaussian_filter(arr, sigma, mode="constant", truncate=truncate)
    np.testing.assert_array_equal(gaussian_filter(arr, sigma, truncate=truncate), expected)


@pytest.mark.parametrize("size", [1, 3, 12, 25, 400])
def test_gaussian_filter1d_equals_scipy(size):
    counts = np.random.default_rng(size).integers(0, 60, size).astype(float)
    expected = ndimage.gaussian_filter1d(counts, 3.0, mode="constant")
    np.testing.assert_array_equal(gaussian_filter1d(counts, 3.0), expected)


def test_gaussian_filter1d_along_an_axis():
    arr = np.random.default_rng(0).random((4, 9, 5))
    expected = ndimage.gaussian_filter1d(arr, 1.5, axis=1, mode="constant")
    np.testing.assert_array_equal(gaussian_filter1d(arr, 1.5, axis=1), expected)
