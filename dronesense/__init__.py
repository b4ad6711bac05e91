"""dronesense: ground-station toolkit for air-quality drones.

Passive MAVLink logging, pairing of sensor readings with the vehicle position at the reading's
own time, CF-compliant 3D concentration grids and mass-balance emission estimates.

The public API (``docs/api.md``), loaded on first use so that ``import dronesense`` and the
command line start fast:

- :func:`read_samples`: any input (log, session folder, samples file) -> the CF samples
  Dataset
- :func:`grid`: samples -> 3D CF grid, the method chosen by cross-validation
- :func:`estimate_flux`: curtain samples -> emission rate (g/s) with its uncertainty
- :class:`Listener`: live capture from a MAVLink connection, scripted
- :func:`open_grid`: read a grid written before
- :func:`plot_slices`, :func:`plot_profile`, :func:`plot_section`: figures of a grid
- :func:`write_report`: samples, grids and flux results -> one offline HTML report
- :class:`GridSpec`, :class:`WindProfile`: grid definition, wind profile
- :mod:`datasets`: a sample flight and the truth behind it
- the agencies' programs (``docs/programs.md``): :func:`city_profile` (:func:`vertical_profile`,
  :func:`read_stations`), :func:`stack_emission_factors` (:func:`emission_factors`,
  :func:`read_cems`), :func:`voc_samples` (:func:`read_sampling_events`,
  :func:`read_lab_results`, :func:`write_voc_samples`), :func:`campaign_features`
- :class:`DronesenseError` (:class:`InputError`, :class:`NoUsableDataError`,
  :class:`ParameterError`): errors meant for the user

Datasets get a ``.dronesense`` accessor (:mod:`dronesense.accessors`):
``samples.dronesense.grid("ch4", spacing=(10, 10, 5))``, ``grid.dronesense.plot_slices()``.

Examples
--------
>>> import dronesense as ds
>>> samples = ds.read_samples(ds.datasets.sample_flight())
>>> grid = samples.dronesense.grid("ch4", spacing=(20, 20, 10), method="idw")
>>> grid["ch4"].dims
('z', 'y', 'x')
>>> "read_samples" in ds.__all__ and "grid" in dir(ds)
True
"""

from __future__ import annotations

import importlib

#: public name -> "module:attribute" (or "module" for a submodule), imported on first use
_LAZY = {
    "__version__": "dronesense._version:__version__",
    "read_samples": "dronesense.api:read_samples",
    "estimate_flux": "dronesense.api:estimate_flux",
    "grid": "dronesense.gridding.grid:grid",
    "Listener": "dronesense.live.listener:Listener",
    "open_grid": "dronesense.gridding.dataset:open_grid",
    "plot_slices": "dronesense.products.plot:plot_slices",
    "plot_profile": "dronesense.products.plot:plot_profile",
    "plot_section": "dronesense.products.plot:plot_section",
    "write_report": "dronesense.products.report:write_report",
    "GridSpec": "dronesense.gridding.spec:GridSpec",
    "WindProfile": "dronesense.products.flux.wind:WindProfile",
    "read_wind": "dronesense.api:read_wind",
    "estimate_box_flux": "dronesense.products.flux.box:estimate_box_flux",
    "DronesenseError": "dronesense.errors:DronesenseError",
    "InputError": "dronesense.errors:InputError",
    "NoUsableDataError": "dronesense.errors:NoUsableDataError",
    "ParameterError": "dronesense.errors:ParameterError",
    "datasets": "dronesense.datasets",
    "city_profile": "dronesense.programs:city_profile",
    "vertical_profile": "dronesense.products.profile:vertical_profile",
    "read_stations": "dronesense.sources.stations:read_stations",
    "stack_emission_factors": "dronesense.programs:stack_emission_factors",
    "emission_factors": "dronesense.products.emission_factors:emission_factors",
    "read_cems": "dronesense.sources.cems:read_cems",
    "voc_samples": "dronesense.programs:voc_samples",
    "read_sampling_events": "dronesense.sources.sampling_events:read_sampling_events",
    "read_lab_results": "dronesense.sources.lab_results:read_lab_results",
    "write_voc_samples": "dronesense.products.voc_samples:write_voc_samples",
    "campaign_features": "dronesense.programs:campaign_features",
    "accessors": "dronesense.accessors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'dronesense' has no attribute {name!r}")
    if name != "__version__":  # reading package metadata alone needs no accessors
        importlib.import_module("dronesense.accessors")  # registers Dataset.dronesense
    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
