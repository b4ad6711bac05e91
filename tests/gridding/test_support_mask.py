"""The voxels a method fills: the numpy dilation equals scipy's maximum filter rule."""

import numpy as np
import pytest
from scipy import ndimage

from dronesense.gridding.methods.base import supported


def _reference(has: np.ndarray, support: int) -> np.ndarray:
    near = ndimage.maximum_filter(has, size=(1, 2 * support + 1, 2 * support + 1),
                                  mode="constant")
    below, above = np.zeros_like(near), np.zeros_like(near)
    for d in range(1, min(support, near.shape[0] - 1) + 1):
        below[d:] |= near[:-d]
        above[:-d] |= near[d:]
    return near | (below & above)


@pytest.mark.parametrize("shape", [(4, 23, 20), (1, 5, 7), (3, 1, 9), (6, 30, 2)])
@pytest.mark.parametrize("support", [0, 1, 2, 5])
@pytest.mark.parametrize("density", [0.01, 0.1, 0.5])
def test_supported_equals_the_maximum_filter_rule(shape, support, density):
    has = np.random.default_rng(len(shape) + support).random(shape) < density
    assert (supported(has, support) == _reference(has, support)).all()


def test_no_level_invented_below_the_lowest_or_above_the_top():
    has = np.zeros((5, 3, 3), bool)
    has[1, 1, 1] = has[3, 1, 1] = True
    got = supported(has, 2)
    assert got[2].any() and not got[0].any() and not got[4].any()
