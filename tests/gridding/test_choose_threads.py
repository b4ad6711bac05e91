"""Scoring the candidates on threads changes nothing: same scores, same choice, same
order, and the choice still reproduces the simulated field."""

import numpy as np

from dronesense.gridding.spec import GridSpec
from dronesense.gridding.validation import candidates, choose_method
from tests.support.grids import ORIGIN, flight, truth_grid


def _fields(choice):
    return [(repr(m), s.rmse, s.bias, s.coverage, s.fold_rmse, s.grid_rmse, s.noise_std)
            for m, s in choice.scored]


def test_threads_give_the_serial_scores():
    coords, values, _, _ = flight(layers=(10, 25, 40), extent=(-100, 200, -80, 80),
                                  line_spacing=40, step=4.0, noise=0.02)
    spec = GridSpec((10, 10, 5), ORIGIN).fit(*coords)
    methods = candidates(spec)
    serial = choose_method(coords, values, spec=spec, methods=methods, folds=4, workers=1)
    threaded = choose_method(coords, values, spec=spec, methods=methods, folds=4, workers=3)
    assert _fields(threaded) == _fields(serial)
    assert [m for m, _ in threaded.scored] == methods  # reported in the order given
    assert repr(threaded.method) == repr(serial.method)
    # the chosen method's grid is close to the true field where it has an estimate
    truth = truth_grid(spec)
    est = threaded.method.clone().fit(coords, values, spec=spec).grid(spec)
    values_grid = next(v.values for v in est.data_vars.values()
                       if "ancillary_variables" in v.attrs)
    ok = np.isfinite(values_grid)
    assert ok.mean() > 0.3
    assert np.sqrt(np.mean((values_grid[ok] - truth[ok]) ** 2)) < 3 * serial.score.rmse
