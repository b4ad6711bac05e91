"""The library entry point ``grid()``: method chosen by blocked cross-validation against a known
plume, same numbers as ``grid_samples``, one grid definition builder, parameter-named errors."""

import math

import numpy as np
import pytest

from dronesense.errors import InputError, ParameterError
from dronesense.gridding.campaign import campaign, campaign_grid, campaign_spec, typical_value
from dronesense.gridding.grid import MODEL_ESTIMATE, grid, grid_samples
from dronesense.gridding.methods import make_method
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.spec import GridSpec, make_spec
from tests.support.grids import ORIGIN, flight, samples_dataset, truth_grid

NOISE = 0.02


@pytest.fixture(scope="module")
def plume_samples():
    coords, values, _, _ = flight(layers=(10, 25, 40), extent=(-100, 200, -80, 80),
                                  line_spacing=40, step=2.0, noise=NOISE)
    return samples_dataset(coords, values)


@pytest.fixture(scope="module")
def auto(plume_samples):
    return grid(plume_samples, "ch4", spacing=(10, 10, 5), origin=ORIGIN)


def _candidates(ds):
    out = []
    for part in ds.attrs["cross_validation_candidates"].split("; "):
        name, _, scores = part.rpartition(": ")
        rmse = float(scores.split("rmse=")[1].split()[0])
        coverage = float(scores.split("coverage=")[1])
        out.append((name, rmse, coverage))
    return out


def test_auto_picks_the_lowest_cv_rmse_and_records_every_candidate(auto):
    cands = _candidates(auto)
    assert len(cands) == 9  # block, 4 IDW, 3 DM+V, kriging
    assert {n.split("(")[0] for n, _, _ in cands} == {"BlockReduce", "IDW", "KernelDMV",
                                                       "Kriging"}
    covered = [(n, r) for n, r, c in cands if c >= 0.5]
    best = min(covered, key=lambda nr: nr[1])
    assert auto.attrs["made_by"] == best[0]
    assert auto.attrs["cross_validation_rmse"] == pytest.approx(best[1], rel=1e-3)
    assert auto["ch4"].attrs["cross_validation_rmse"] == auto.attrs["cross_validation_rmse"]
    assert "blocked 5-fold" in auto.attrs["cross_validation_method"]
    assert auto.attrs["cross_validation_coverage"] >= 0.5


def test_auto_estimate_is_close_to_the_truth_where_supported(auto):
    spec = GridSpec.from_attrs(auto.attrs)
    assert spec.origin == pytest.approx(ORIGIN)
    est = auto["ch4"].values
    truth = truth_grid(spec)
    ok = np.isfinite(est)
    assert ok.mean() > 0.2  # the flown layers and the gaps between them
    rmse = float(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2)))
    assert rmse < 0.35 * float(truth[ok].std()), rmse
    # the stored CV RMSE is an honest estimate of that error (held-out samples carry noise)
    expected = math.hypot(rmse, NOISE)
    assert 0.5 * expected < auto.attrs["cross_validation_rmse"] < 2.5 * expected


def _true_rmse(ds):
    """RMSE of a grid's estimate against the plume at its voxel centres (the truth)."""
    est = ds["ch4"].values
    truth = truth_grid(GridSpec.from_attrs(ds.attrs))
    ok = np.isfinite(est)
    return float(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2)))


def test_reported_error_is_the_model_estimate_near_the_true_error(auto, plume_samples):
    """By default the grid's ``estimated_grid_rmse`` is the estimation variance under the
    fitted variogram: within a factor 1.5 (block means: 1.6) of the true RMSE on this known
    plume, and nearer to it than the cross-validation's figure, which stays as
    ``cross_validation_grid_rmse`` (auto: IDW k=4, model 1.13 / CV 0.72 of the truth; block
    means 1.42 / 1.83)."""
    block = grid(plume_samples, "ch4", spacing=(10, 10, 5), origin=ORIGIN, method="block")
    for ds, factor in ((auto, 1.5), (block, 1.6)):
        true = _true_rmse(ds)
        a = ds.attrs
        assert a["estimated_grid_rmse_method"] == MODEL_ESTIMATE
        assert a["estimated_grid_rmse"] == a["model_grid_rmse"]
        assert "variogram" in a["model_grid_rmse_method"]
        assert true / factor < a["estimated_grid_rmse"] < factor * true
        cv = a["cross_validation_grid_rmse"]
        assert abs(math.log(a["estimated_grid_rmse"] / true)) < abs(math.log(cv / true))
        assert cv < a["cross_validation_rmse"]  # the noise taken off
        var = ds["ch4"].attrs
        assert var["estimated_grid_rmse"] == a["estimated_grid_rmse"]
        assert var["estimated_grid_rmse_method"] == MODEL_ESTIMATE
        assert var["cross_validation_grid_rmse"] == cv


def test_without_the_error_model_the_cv_figure_is_reported(plume_samples):
    ds = grid(plume_samples, "ch4", spacing=(10, 10, 5), origin=ORIGIN, method="idw",
              error_model=False)
    a = ds.attrs
    assert "model_grid_rmse" not in a and "model_grid_rmse_method" not in a
    assert a["estimated_grid_rmse"] == a["cross_validation_grid_rmse"]
    assert a["estimated_grid_rmse_method"] == "cross-validation, sample noise removed"
    assert ds["ch4"].attrs["estimated_grid_rmse"] == a["estimated_grid_rmse"]
    # nothing to report without either
    bare = grid(plume_samples, "ch4", spacing=(10, 10, 5), origin=ORIGIN, method="idw",
                error_model=False, cross_validate=False)
    assert not {"estimated_grid_rmse", "estimated_grid_rmse_method"} & set(bare.attrs)


def test_block_median_falls_back_to_cv_and_says_why(plume_samples):
    ds = grid(plume_samples, "ch4", spacing=(10, 10, 5), origin=ORIGIN, method="block",
              statistic="median")
    a = ds.attrs
    assert np.isfinite(ds["ch4"].values).any()  # the grid is made
    assert "model_grid_rmse" not in a
    assert a["model_grid_rmse_method"].startswith("not estimable: ")
    assert "a block median is not linear" in a["model_grid_rmse_method"]
    assert a["estimated_grid_rmse"] == a["cross_validation_grid_rmse"]
    assert a["estimated_grid_rmse_method"].startswith("cross-validation")


def test_auto_product_equals_the_cli_product(plume_samples, auto, tmp_path):
    from dronesense.cli.main import main
    from dronesense.gridding.dataset import open_grid

    plume_samples.to_netcdf(tmp_path / "s.nc")
    out = tmp_path / "g.nc"
    assert main(["grid", str(tmp_path / "s.nc"), "-q", "ch4", "--spacing", "10,10,5",
                 "--origin", ",".join(map(str, ORIGIN)), "--method", "auto",
                 "--out", str(out)]) == 0
    cli = open_grid(out)
    for key in ("made_by", "cross_validation_candidates", "cross_validation_rmse",
                "dronesense_grid_spec", "number_of_samples", "estimated_grid_rmse",
                "estimated_grid_rmse_method", "model_grid_rmse_method",
                "cross_validation_grid_rmse"):
        assert cli.attrs[key] == auto.attrs[key]
    np.testing.assert_allclose(cli["ch4"].values, auto["ch4"].values, rtol=1e-12,
                               equal_nan=True)


def test_named_method_equals_grid_samples_with_the_same_spec(plume_samples):
    ds = grid(plume_samples, "ch4", spacing=(20, 10), method="idw", k=12, error_model=False)
    spec = make_spec(plume_samples, spacing=(20, 20, 10))
    ref = grid_samples(plume_samples, "ch4", spec, method=IDW(k=12), cross_validate=True)
    assert ds.attrs["made_by"] == ref.attrs["made_by"] == repr(IDW(k=12))
    assert ds.attrs["dronesense_grid_spec"] == ref.attrs["dronesense_grid_spec"]
    np.testing.assert_array_equal(ds["ch4"].values, ref["ch4"].values)
    np.testing.assert_array_equal(ds["ch4_std"].values, ref["ch4_std"].values)
    assert ds.attrs["cross_validation_rmse"] == ref.attrs["cross_validation_rmse"]
    # grid_samples makes no error model unless asked: both report the CV's figure
    assert ds.attrs["estimated_grid_rmse"] == ref.attrs["cross_validation_grid_rmse"]
    assert "model_grid_rmse_method" not in ref.attrs
    # a method object and no cross-validation
    plain = grid(plume_samples, "ch4", spec=spec, method=IDW(k=12), cross_validate=False,
                 error_model=False)
    np.testing.assert_array_equal(plain["ch4"].values, ref["ch4"].values)
    assert "cross_validation_rmse" not in plain.attrs


def test_block_statistic_and_spec_reuse(plume_samples, tmp_path):
    spec = GridSpec((20, 20, 10), ORIGIN, region=(-120, 220, -100, 100, 0, 50))
    spec.save(tmp_path / "spec.json")
    ds = grid(plume_samples, "ch4", spec=tmp_path / "spec.json", method="block",
              statistic="median", cross_validate=False)
    assert GridSpec.from_attrs(ds.attrs) == spec
    assert ds["ch4"].attrs["cell_methods"].startswith("x: y: z: median")
    moved = grid(plume_samples, "ch4", spec=spec, method="block", vertical="amsl",
                 cross_validate=False, error_model=False)
    moved_spec = GridSpec.from_attrs(moved.attrs)
    assert moved_spec.vertical == "amsl" and moved_spec.region == spec.region


def test_make_spec():
    spec = make_spec(spacing=(10, 5), origin=ORIGIN)
    assert spec == GridSpec((10, 10, 5), ORIGIN)
    assert make_spec(spec=spec, region=(0, 10, 0, 10, 0, 10)).shape == (2, 1, 1)
    with pytest.raises(ParameterError, match="spacing") as err:
        make_spec(origin=ORIGIN)
    assert err.value.parameter == "spacing"
    with pytest.raises(TypeError):
        make_spec(spacing="10,10,5", origin=ORIGIN)
    with pytest.raises(ValueError):
        make_spec(spacing=10)  # neither samples nor an origin


@pytest.mark.parametrize("call, parameter", [
    (lambda: GridSpec((5, 5, 5), ORIGIN, vertical="agl"), "terrain"),
    (lambda: GridSpec((5, 5, 5), ORIGIN, vertical="up"), "vertical"),
    (lambda: GridSpec((0, 5, 5), ORIGIN), "spacing"),
    (lambda: GridSpec((1e-3,) * 3, ORIGIN, region=(0, 100, 0, 100, 0, 100)), "spacing"),
    (lambda: GridSpec((5, 5, 5), ORIGIN, region=(10, 0, 0, 10, 0, 10)), "region"),
    (lambda: GridSpec((5, 5, 5), ORIGIN).shape, "region"),
    (lambda: make_method("auto"), "method"),
    (lambda: make_method("spline"), "method"),
    (lambda: campaign_grid([], "ch4", GridSpec((1, 1, 1), ORIGIN, region=(0, 1, 0, 1, 0, 1)),
                           shift=float("nan")), "shift"),
])
def test_library_errors_name_the_parameter(call, parameter):
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.parameter == parameter
    assert isinstance(err.value, ValueError) and isinstance(err.value, InputError)
    assert "--" not in str(err.value)


def test_auto_is_a_grid_choice_not_a_method(plume_samples):
    with pytest.raises(ParameterError, match=r'grid.*method="auto"'):
        make_method("auto")
    with pytest.raises(TypeError):
        grid(plume_samples, "ch4", spacing=10, method="auto", k=3)
    with pytest.raises(TypeError):
        grid(plume_samples, "ch4", spacing=10, method=IDW(), k=3)
    with pytest.raises(ParameterError) as err:
        grid(plume_samples, "ch4")
    assert err.value.parameter == "spacing"


def test_campaign_in_one_call_equals_gridding_all_samples():
    a = samples_dataset(*flight(seed=1, layers=(10, 20), extent=(-60, 60, -40, 40))[:2])
    b = samples_dataset(*flight(seed=2, layers=(30,), extent=(0, 120, -40, 40))[:2])
    spec = campaign_spec([a, b], "ch4", spacing=(20, 20, 10))
    assert spec.origin == pytest.approx(make_spec(a, spacing=20).origin)  # first flight's home
    assert typical_value([a, b], "ch4") == float(f"{np.median(a['ch4'].values):.4g}")
    ds = campaign([a, b], "ch4", spacing=(20, 20, 10))
    assert GridSpec.from_attrs(ds.attrs) == spec
    assert ds.attrs["number_of_samples"] == a.sizes["obs"] + b.sizes["obs"]
    with pytest.raises(ParameterError) as err:
        campaign([a, b], "ch4")
    assert err.value.parameter == "spec"


def test_auto_without_gstools_still_krigs(monkeypatch):
    """A runtime install without the kriging extra still tries kriging: its exponential
    variogram is fitted by dronesense itself, and gstools is never imported."""
    import sys

    from dronesense.gridding.methods import kriging

    monkeypatch.setitem(sys.modules, "gstools", None)  # import gstools -> ImportError
    assert kriging.kriging_available() and not kriging.kriging_available("Matern")
    coords, values = flight(noise=0.02, seed=3, layers=(10, 25, 40), extent=(-60, 60, -40, 40))[:2]
    samples = samples_dataset(coords, values)
    out = grid(samples, "ch4", spacing=(25, 25, 10), method="auto")
    assert "Kriging" in out.attrs["cross_validation_candidates"]
    assert "gstools" not in out.attrs.get("cross_validation_notes", "")
    assert np.isfinite(out["ch4"].values).any()
