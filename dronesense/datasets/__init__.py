"""Sample data shipped with dronesense, and the truth behind it.

:func:`sample_flight` is a telemetry log (``.tlog``, about 300 KB) of a simulated downwind
curtain flight: twelve crosswind passes from 5 to 60 m, 150 m downwind of a wastewater
digester stack that emits methane at 5 g/s (and PM2.5 at 0.1 g/s) into a 3 m/s wind from
240°. The log holds what a ground station records: positions (GLOBAL_POSITION_INT, 5 Hz),
clock syncs (SYSTEM_TIME), the autopilot's wind estimate (WIND) and the payload's readings
(NAMED_VALUE_FLOAT ``CH4``, ``PM2.5``, ``TEMP``, ``RH``). The simulator made it
(:mod:`dronesense.datasets.make_sample` regenerates it byte for byte), so the true field is
known: :func:`sample_truth` gives it, :func:`sample_emission` the true emission rate.

Examples
--------
>>> path = sample_flight()
>>> path.suffix, path.stat().st_size < 400_000
('.tlog', True)
>>> sample_emission("ch4")
5.0
>>> float(sample_truth().evaluate("ch4", 50.9934, 6.9877, 42.0 + 500.0))  # far above: background
1.95
"""

from __future__ import annotations

from pathlib import Path

#: The package's data folder.
DATA = Path(__file__).resolve().parent / "data"
#: File names in :data:`DATA`: the flight log and the mission it flew (field file beside it).
SAMPLE_TLOG = "plume-curtain.tlog"
SAMPLE_PLAN = "plume-curtain.plan"

__all__ = ["DATA", "sample_emission", "sample_flight", "sample_mission", "sample_truth"]


def sample_flight() -> Path:
    """The path of the packaged sample flight (a MAVLink ``.tlog``; read it, do not write).

    Examples
    --------
    >>> sample_flight().name
    'plume-curtain.tlog'
    """
    return DATA / SAMPLE_TLOG


def sample_mission() -> Path:
    """The QGroundControl ``.plan`` the sample flight flew (its field file beside it).

    Examples
    --------
    >>> sample_mission().with_suffix(".toml").is_file()
    True
    """
    return DATA / SAMPLE_PLAN


def sample_truth(like=None, quantity: str = "ch4"):
    """The simulator's true field behind :func:`sample_flight`.

    Parameters
    ----------
    like
        ``None``: the field itself (a :class:`firmware_sim.Field`; ``.evaluate(quantity,
        lat, lon, alt_amsl)``, ``.wind``, ``.quantities``). A grid Dataset (dims
        ``(z, y, x)``, as :func:`dronesense.grid` makes): the true values at its voxel
        centres. A samples Dataset (dim ``obs``): the true values at the samples' positions.
    quantity
        Quantity key (``ch4``, ``pm2p5``, ``temperature``, ``humidity``).

    Returns
    -------
    firmware_sim.Field or xarray.DataArray
        The DataArray is named ``true_<quantity>``, in the field's units (``ppm`` for
        methane, the samples' ``1e-6``).

    Examples
    --------
    >>> sorted(sample_truth().quantities)
    ['ch4', 'humidity', 'pm2p5', 'temperature']
    """
    import numpy as np
    import xarray as xr

    from firmware_sim import load_field

    field = load_field(sample_mission().with_suffix(".toml"))
    if like is None:
        return field
    if not isinstance(like, xr.Dataset):
        raise TypeError(f"like must be None or an xarray.Dataset, not {type(like).__name__}")
    if "obs" in like.dims:
        values = field.evaluate(quantity, like["lat"].values, like["lon"].values,
                                like["altitude"].values)
        ok = np.isfinite(like["lat"].values) & np.isfinite(like["altitude"].values)
        out = xr.DataArray(np.where(ok, values, np.nan), dims="obs", coords=like["lat"].coords)
    elif {"z", "y", "x"} <= set(like.dims):
        from dronesense.gridding.spec import GridSpec

        spec = GridSpec.from_attrs(like.attrs)
        alt = spec.altitude_of(like["z"].values)
        lat2, lon2 = like["lat"].values, like["lon"].values
        shape = (alt.size, *lat2.shape)
        values = field.evaluate(quantity, np.broadcast_to(lat2, shape),
                                np.broadcast_to(lon2, shape),
                                np.broadcast_to(alt[:, None, None], shape))
        out = xr.DataArray(values, dims=("z", "y", "x"),
                           coords={"z": like["z"], "y": like["y"], "x": like["x"]})
    else:
        raise ValueError("like must be a samples Dataset (dim obs) or a grid (dims z, y, x)")
    out.name = f"true_{quantity}"
    out.attrs = {"long_name": f"true {quantity} (simulator field)",
                 "units": field.units[quantity]}
    return out


def sample_emission(quantity: str = "ch4") -> float:
    """The true emission rate (g/s) of ``quantity`` from the sources of the sample field.

    Examples
    --------
    >>> sample_emission("pm2p5")
    0.1
    """
    field = sample_truth()
    return float(sum(getattr(c, "emission", 0.0) for c in field.components.get(quantity, ())))
