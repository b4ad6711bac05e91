"""The result of a mass-balance estimate, with its uncertainty budget.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from dronesense.gridding.dataset import product_attributes, time_variables


# ----------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------
@dataclass
class FluxResult:
    """A mass-balance emission estimate and how it was made.

    Attributes
    ----------
    quantity
        Quantity key (``ch4``).
    emission, uncertainty
        Emission rate through the curtain and its standard uncertainty, g/s.
    components
        Uncertainty parts (g/s): ``background``, ``wind_speed``, ``wind_direction``,
        ``interpolation``.
    extrapolated_fraction
        Fraction of the emission from cells below the lowest pass (or extrapolated).
    grid
        The ``(z, s)`` CF Dataset: enhancement, mass enhancement, flux density, cell kind.
    notes
        Warnings a user must read (wind parallel to the curtain, no plume, plume not closed).
    info
        Everything else printed and stored: background, air density source, curtain
        geometry, passes, method, wind.
    """

    quantity: str
    emission: float
    uncertainty: float
    components: dict[str, float]
    extrapolated_fraction: float
    grid: xr.Dataset
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def emission_kg_h(self) -> float:
        """Emission rate in kg/h."""
        return self.emission * 3.6

    @property
    def uncertainty_kg_h(self) -> float:
        """Uncertainty in kg/h."""
        return self.uncertainty * 3.6

    def lines(self) -> list[str]:
        """The printed summary, one line each."""
        i = self.info
        units = i["display_units"]
        out = [
            f"emission {self.quantity}: {self.emission:.3g} g/s ± {self.uncertainty:.2g} g/s "
            f"({self.emission_kg_h:.3g} kg/h ± {self.uncertainty_kg_h:.2g} kg/h)",
            "  uncertainty parts (g/s): " + ", ".join(
                f"{k.replace('_', ' ')} {v:.2g}" for k, v in self.components.items()),
            f"curtain: {i['width_m']:.0f} m wide x {i['top_m']:.0f} m high, "
            f"centre {i['centre_lat']:.6f}, {i['centre_lon']:.6f}, along {i['azimuth_deg']:.0f}°; "
            f"{i['passes']} passes at {i['lowest_pass_m']:.1f}-{i['top_pass_m']:.1f} m, "
            f"{i['samples']} samples",
            f"wind: {i['wind']}; angle to the curtain normal {i['wind_angle_deg']:.0f}°",
            f"background: {i['background']:.4g} ± {i['background_error']:.2g} {units} "
            f"({i['background_method']}); peak enhancement {i['peak_enhancement']:.3g} {units}",
            f"air: {i['air']}",
            f"grid: {i['method']} on {i['spacing'][0]:g} m x {i['spacing'][1]:g} m cells; "
            f"below {i['lowest_pass_m']:.1f} m {i['ground']} "
            f"({100 * self.extrapolated_fraction:.0f}% of the flux extrapolated)",
        ]
        if "source_distance_m" in i:
            dist = i["source_distance_m"]
            side = "upwind" if dist >= 0 else "DOWNWIND"
            out.append(f"source: {abs(dist):.0f} m {side} of the curtain, "
                       f"{i['source_offset_m']:.0f} m along it from its centre")
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dataset(self) -> xr.Dataset:
        """The curtain as a CF-1.11 / ACDD-1.3 Dataset, dims ``(s, z)``:
        ``<quantity>_enhancement``, ``<quantity>_mass_enhancement``, ``flux_density``
        (g m-2 s-1, sums back to the emission with the cell areas), ``cell_kind``,
        ``number_of_observations``, per level ``wind_normal`` and ``conversion``; columns
        placed by ``lat``/``lon`` and ``x``/``y`` in the ``crs`` frame, ``time`` with its
        bounds; the summary in the global attributes.
        :func:`dronesense.products.flux.io.write_flux` writes it as netCDF.

        The along-curtain dimension ``s`` comes first: it is none of CF's T, Z, Y, X axes, and
        CF 2.4 puts such dimensions left of them (:attr:`grid` keeps ``(z, s)``, rows are
        heights, as the estimate and the figure use it)."""
        return self.grid.transpose("s", "z", ...)

    def to_dict(self) -> dict[str, Any]:
        """Summary numbers as plain JSON-able values (no grids)."""
        return {
            "quantity": self.quantity,
            "emission_g_s": self.emission,
            "uncertainty_g_s": self.uncertainty,
            "emission_kg_h": self.emission_kg_h,
            "uncertainty_kg_h": self.uncertainty_kg_h,
            "uncertainty_components_g_s": dict(self.components),
            "extrapolated_fraction": self.extrapolated_fraction,
            "notes": list(self.notes),
            **{k: v for k, v in self.info.items()},
        }


@dataclass(frozen=True)
class CurtainCells:
    """The grids of an estimate: cell edges and centres along ``s`` and in ``z``, positions of
    the columns, per cell ``(z, s)`` and per level ``z`` values."""

    s: np.ndarray
    z: np.ndarray
    s_edges: np.ndarray
    z_edges: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    enhancement: np.ndarray
    flux_density: np.ndarray
    conversion: np.ndarray
    normal_wind: np.ndarray
    air_molar_density: np.ndarray
    below: np.ndarray
    count: np.ndarray


#: ACDD ``coverage_content_type`` of the curtain's variables.
CONTENT_TYPES = {"enhancement": "physicalMeasurement", "mass_enhancement": "physicalMeasurement",
                 "flux_density": "physicalMeasurement", "cell_kind": "qualityInformation",
                 "number_of_observations": "qualityInformation",
                 "wind_normal": "auxiliaryInformation", "conversion": "auxiliaryInformation",
                 "air_molar_density": "auxiliaryInformation"}

#: The ``comment`` end of the curtain variables CF has no standard name for (ACDD reports
#: them; ``docs/interop.md``).
NO_CF_NAME = "CF (standard name table v93) has no standard name for it"

#: Curtain coordinates and bounds written without a ``_FillValue`` (CF 2.5.1, 7.1).
NO_FILL = ("s", "s_bounds", "z", "z_bounds", "lat", "lon", "x", "y", "time", "time_bounds")


def curtain_dataset(quantity: str, units: str, kind: str, cells: CurtainCells, *, frame,
                    samples: xr.Dataset, emission: float, uncertainty: float,
                    components: dict[str, float], extrapolated_fraction: float,
                    info: dict[str, Any], notes: list[str], history: str) -> xr.Dataset:
    """The curtain of a flux estimate as a CF-1.11 / ACDD-1.3 Dataset
    (:meth:`FluxResult.to_dataset`).

    ``kind`` is ``mole_fraction`` (the molar density of air is stored too) or
    ``mass_concentration``; ``frame`` the local frame: its CRS is the ``crs`` grid mapping of
    the cell variables, whose columns are placed by ``lat``/``lon`` and by ``x``/``y``
    (metres east/north of the frame's origin).
    """
    from dronesense.quantities import QUANTITIES

    q = QUANTITIES.get(quantity)
    long = q.long_name if q else quantity
    data = _cell_variables(quantity, units, long, cells)
    if kind == "mole_fraction":
        data["air_molar_density"] = ("z", cells.air_molar_density, {
            "long_name": "molar density of air", "units": "mol m-3",
            "comment": "p / (R T) at the level, the moles of air per cubic metre that turn the "
                       f"mole fraction into a mass concentration; {NO_CF_NAME}"})
    for name, (dims, _, attrs) in data.items():
        if len(dims) == 2 and dims[1] != "nv":
            attrs["grid_mapping"] = "crs"
        kind_key = name.removeprefix(f"{quantity}_")
        if kind_key in CONTENT_TYPES:
            attrs["coverage_content_type"] = CONTENT_TYPES[kind_key]
    data["crs"] = ((), np.int32(0), frame.cf_attrs())
    time_coords, time_encoding = time_variables(
        samples["time"].values if "time" in samples else None)
    if "time_bounds" in time_coords:
        data["time_bounds"] = time_coords.pop("time_bounds")
    coords = {**_coordinates(cells, frame), **time_coords}
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    vertical_crs = (f"height above home (take-off point), metres (origin altitude "
                    f"{frame.alt:g} m above mean sea level)")
    attrs = product_attributes(
        title=f"dronesense mass-balance emission estimate of {long} from a downwind curtain",
        summary=(f"Emission rate of {long} through a vertical curtain flown downwind of a "
                 f"source by an unmanned aircraft: {emission:.4g} g/s with a standard "
                 f"uncertainty of {uncertainty:.2g} g/s (mass balance: enhancement above "
                 "background times the wind normal to the curtain, summed over the cells "
                 "of the curtain)."),
        keywords=[q.standard_name or long if q else long, "emission rate", "mass balance",
                  "flux", "unmanned aerial vehicle", "air quality"],
        history=f"{now}: {history}" if history else now, lat=cells.lat, lon=cells.lon,
        vertical=cells.z, vertical_crs=vertical_crs, times=samples["time"].values
        if "time" in samples else None)
    attrs.update(_global_attrs(quantity, emission, uncertainty, extrapolated_fraction, notes,
                               info))
    for k, val in components.items():
        attrs[f"uncertainty_{k}"] = val
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    set_encoding(ds, time_encoding)
    return ds


def set_encoding(ds: xr.Dataset, time_encoding: dict[str, str] | None = None) -> xr.Dataset:
    """Mark a curtain Dataset's coordinates and bounds to be written without a
    ``_FillValue``, ``time`` and its bounds in ``time_encoding`` (in place; returns ``ds``)."""
    for name in NO_FILL:
        if name in ds.variables:
            ds[name].encoding["_FillValue"] = None
            if name.startswith("time") and time_encoding:
                ds[name].encoding.update(time_encoding)
    return ds


def _coordinates(cells: CurtainCells, frame) -> dict[str, tuple]:
    x, y, _ = frame.forward(cells.lat, cells.lon)
    return {
        "s": ("s", cells.s, {"long_name": "distance along the curtain from its centre",
                             "units": "m", "bounds": "s_bounds"}),
        "z": ("z", cells.z, {"standard_name": "height", "long_name": "height above home (ground)",
                             "units": "m", "positive": "up", "axis": "Z", "bounds": "z_bounds"}),
        "lat": ("s", cells.lat, {"standard_name": "latitude", "units": "degrees_north",
                                 "long_name": "latitude of the column centre"}),
        "lon": ("s", cells.lon, {"standard_name": "longitude", "units": "degrees_east",
                                 "long_name": "longitude of the column centre"}),
        "x": ("s", x, {"standard_name": "projection_x_coordinate", "units": "m",
                       "long_name": "column centre, distance east of the origin"}),
        "y": ("s", y, {"standard_name": "projection_y_coordinate", "units": "m",
                       "long_name": "column centre, distance north of the origin"}),
    }


def _cell_variables(key: str, units: str, long: str, c: CurtainCells) -> dict[str, tuple]:
    cell = ("z", "s")
    kind_arr = np.where(c.below[:, None], 1, 0) * np.ones((1, c.s.size), dtype=np.int8)
    return {
        "s_bounds": (("s", "nv"), np.column_stack([c.s_edges[:-1], c.s_edges[1:]]), {}),
        "z_bounds": (("z", "nv"), np.column_stack([c.z_edges[:-1], c.z_edges[1:]]), {}),
        f"{key}_enhancement": (cell, c.enhancement, {
            "long_name": f"{long} above background", "units": units,
            "cell_methods": "s: z: point (interpolated)",
            "comment": f"the {long} minus the background (global attribute flux_summary); "
                       f"not the {long} itself, so not its standard name: {NO_CF_NAME}",
            "ancillary_variables": "cell_kind number_of_observations"}),
        f"{key}_mass_enhancement": (cell, c.enhancement * c.conversion[:, None], {
            "long_name": f"{long} above background as mass concentration",
            "units": "g m-3", "comment": f"{key}_enhancement times conversion; {NO_CF_NAME}"}),
        "flux_density": (cell, c.flux_density, {
            "long_name": f"{long} flux density normal to the curtain",
            "units": "g m-2 s-1",
            "comment": f"{key}_mass_enhancement times wind_normal: the mass of the enhancement "
                       "through a square metre of the vertical curtain each second; "
                       f"{NO_CF_NAME}"}),
        "cell_kind": (cell, kind_arr.astype(np.int8), {
            "long_name": "how the cell's value was made",
            "flag_values": np.array([0, 1], np.int8),
            "flag_meanings": "interpolated extrapolated_below_lowest_pass"}),
        "number_of_observations": (cell, c.count, {
            "standard_name": "number_of_observations", "units": "1",
            "long_name": "number of samples in the cell"}),
        "wind_normal": ("z", c.normal_wind, {
            "long_name": "wind component normal to the curtain", "units": "m s-1",
            "comment": "the component of the wind at the level normal to the curtain; CF's "
                       "x_wind and y_wind are components along grid axes, and the curtain "
                       f"normal is none; {NO_CF_NAME}"}),
        "conversion": ("z", c.conversion, {
            "long_name": "mass concentration per unit of the quantity",
            "units": f"g m-3 ({units})-1",
            "comment": "a unit conversion factor (molar mass times air_molar_density for a mole "
                       f"fraction), not a quantity of the air; {NO_CF_NAME}"}),
    }


def _global_attrs(key: str, emission: float, unc: float, extrap_frac: float,
                  notes: list[str], info: dict[str, Any]) -> dict[str, Any]:
    return {
        "quantity": key,
        "emission_rate": emission,
        "emission_rate_uncertainty": unc,
        "emission_rate_units": "g s-1",
        "emission_rate_kg_h": emission * 3.6,
        "extrapolated_fraction": extrap_frac,
        "notes": "; ".join(notes),
        "flux_summary": json.dumps({k: v for k, v in info.items()}, default=float),
    }
