"""The agencies' programs, each one call from files to its product.

- :func:`city_profile`: a profile flight's samples (and hourly ground-station readings) ->
  the vertical profile product with the station comparison;
- :func:`stack_emission_factors`: a flight through a stack plume (and the stack's CEMS/TMS
  readings) -> carbon-balance emission factors per pass and per flight;
- :func:`voc_samples`: a flight's telemetry log and the laboratory's results -> each sample's
  results where and when it was taken;
- :func:`campaign_features`: many profile flights (and station readings) -> one table of
  forecasting features, one row per flight, with blocked folds by day.

Products never read files; these functions read them (``dronesense.sources``) and hand the
products Datasets. A Dataset can be given wherever a path is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

__all__ = ["campaign_features", "city_profile", "stack_emission_factors", "voc_samples"]


def _samples(samples_or_path):
    if isinstance(samples_or_path, xr.Dataset):
        return samples_or_path
    from dronesense.api import read_samples

    return read_samples(samples_or_path)


def _stations(stations, positions=None, utc_offset=None):
    if stations is None or isinstance(stations, xr.Dataset):
        return stations
    from dronesense.sources.stations import read_stations

    return read_stations(stations, positions=positions, utc_offset=utc_offset)


def city_profile(samples_or_path, *, stations=None, station_positions=None,
                 station_utc_offset: float | None = None, lowest: float = 20.0,
                 max_distance: float | None = None, **profile_options) -> xr.Dataset:
    """The vertical profile product of one flight, compared with the nearest station.

    Parameters
    ----------
    samples_or_path
        A samples Dataset or anything :func:`dronesense.read_samples` reads.
    stations
        Hourly station readings: a Dataset (:func:`dronesense.read_stations`) or a CSV path.
    station_positions, station_utc_offset
        ``positions=`` and ``utc_offset=`` of :func:`dronesense.read_stations`.
    lowest, max_distance
        Depth (m) of the lowest levels compared and farthest station (m).
    **profile_options
        Options of :func:`dronesense.products.profile.vertical_profile` (``bin_height``,
        ``rh_limit``, ``hygroscopic``, ``kappa``, ...).
    """
    from dronesense.products.profile import vertical_profile
    from dronesense.products.profile_station import compare_with_station

    profile = vertical_profile(_samples(samples_or_path), **profile_options)
    st = _stations(stations, station_positions, station_utc_offset)
    if st is not None:
        profile = compare_with_station(profile, st, lowest=lowest, max_distance=max_distance)
    return profile


def stack_emission_factors(samples_or_path, gases: Sequence[str] | None = None, *,
                           cems=None, cems_utc_offset: float = 0.0,
                           **options) -> xr.Dataset:
    """Emission factors of a stack plume flight, beside the stack's own readings.

    ``cems`` is a Dataset (:func:`dronesense.read_cems`) or a CSV path; ``options`` are
    those of :func:`dronesense.products.emission_factors.emission_factors`.
    """
    from dronesense.products.emission_factors import compare_with_cems, emission_factors

    result = emission_factors(_samples(samples_or_path), gases, **options)
    if cems is not None:
        if not isinstance(cems, xr.Dataset):
            from dronesense.sources.cems import read_cems

            cems = read_cems(cems, utc_offset=cems_utc_offset)
        result = compare_with_cems(result, cems)
    return result


def voc_samples(tlog: str | Path, lab, *, ids: Sequence[str] | None = None,
                **event_options) -> xr.Dataset:
    """The laboratory's results of each sample, joined to where and when it was taken.

    ``lab`` is a Dataset (:func:`dronesense.read_lab_results`) or a CSV path;
    ``event_options`` are those of :func:`dronesense.read_sampling_events` (``names``,
    ``servo_pwm``, ``sysid``).
    """
    from dronesense.products.voc_samples import join_lab_results
    from dronesense.sources.lab_results import read_lab_results
    from dronesense.sources.sampling_events import read_sampling_events

    events = read_sampling_events(tlog, ids=ids, **event_options)
    if not isinstance(lab, xr.Dataset):
        lab = read_lab_results(lab)
    return join_lab_results(events, lab)


def campaign_features(inputs: Sequence, *, stations=None, station_positions=None,
                      station_utc_offset: float | None = None,
                      quantities: Sequence[str] | None = None, n_folds: int = 5,
                      lowest: float = 20.0, max_distance: float | None = None,
                      history: str = "", **profile_options) -> xr.Dataset:
    """Forecasting features of many profile flights, one row per flight.

    Each input (a samples Dataset or a path :func:`dronesense.read_samples` reads) is one
    flight; its profile is compared with the nearest station when ``stations`` are given.
    """
    from dronesense.products.features import profile_features

    st = _stations(stations, station_positions, station_utc_offset)
    profiles = [city_profile(i, stations=st, lowest=lowest, max_distance=max_distance,
                             **profile_options) for i in inputs]
    return profile_features(profiles, quantities=quantities, n_folds=n_folds, history=history)
