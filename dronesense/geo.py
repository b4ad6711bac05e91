"""Local east/north/up metric frame around an origin.

Grids live in metres around an origin (usually the home point): ``x`` east, ``y`` north, both
from an azimuthal-equidistant projection centred on the origin (distances from the origin are
true, distortion stays below 1e-6 within a few kilometres), and ``z`` up, the altitude above
the origin's altitude. The frame is a plain :class:`pyproj.CRS`, so it can be written as a CF
``grid_mapping`` variable (:meth:`LocalFrame.cf_attrs`) and read back from one
(:meth:`LocalFrame.from_cf`).

Examples
--------
>>> frame = LocalFrame(52.0, 5.0, 10.0)
>>> x, y, z = frame.forward(52.001, 5.0, 40.0)
>>> round(float(x), 3), round(float(y), 1), float(z)
(0.0, 111.3, 30.0)
>>> lat, lon, alt = frame.inverse(x, y, z)
>>> round(float(lat), 9), round(float(lon), 9), float(alt)
(52.001, 5.0, 40.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from dronesense.errors import InputError

__all__ = ["LocalFrame"]


@dataclass(frozen=True)
class LocalFrame:
    """East/north/up metres around an origin.

    Parameters
    ----------
    lat, lon
        Origin in degrees (WGS84).
    alt
        Origin altitude in metres; ``z`` is measured from it. Use 0 to keep ``z`` equal to the
        input altitude.

    Attributes
    ----------
    crs
        The horizontal CRS (azimuthal equidistant on WGS84, metres).
    """

    lat: float
    lon: float
    alt: float = 0.0
    crs: pyproj.CRS = field(init=False, repr=False, compare=False)
    _fwd: pyproj.Transformer = field(init=False, repr=False, compare=False)
    _inv: pyproj.Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        lat, lon, alt = float(self.lat), float(self.lon), float(self.alt)
        if not (np.isfinite(lat) and np.isfinite(lon) and np.isfinite(alt)):
            raise InputError(f"origin must be finite numbers, got {lat}, {lon}, {alt}")
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
            raise InputError(f"origin {lat}, {lon} is not a latitude/longitude in degrees")
        object.__setattr__(self, "lat", lat)
        object.__setattr__(self, "lon", lon)
        object.__setattr__(self, "alt", alt)
        crs = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +x_0=0 +y_0=0 "
            "+datum=WGS84 +units=m +no_defs"
        )
        object.__setattr__(self, "crs", crs)
        object.__setattr__(
            self, "_fwd", pyproj.Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
        )
        object.__setattr__(
            self, "_inv", pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        )

    def forward(
        self, lat: ArrayLike, lon: ArrayLike, alt: ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Geodetic -> local ``(x, y, z)`` metres (vectorised).

        ``z`` is ``alt - self.alt`` (zeros when ``alt`` is omitted).
        """
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        x, y = self._fwd.transform(lon, lat)
        z = np.zeros_like(lat) if alt is None else np.asarray(alt, dtype=float) - self.alt
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float), z

    def inverse(
        self, x: ArrayLike, y: ArrayLike, z: ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local ``(x, y, z)`` metres -> ``(lat, lon, alt)`` (vectorised)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        lon, lat = self._inv.transform(x, y)
        alt = np.full_like(x, self.alt) if z is None else np.asarray(z, dtype=float) + self.alt
        return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float), alt

    @property
    def wkt(self) -> str:
        """The horizontal CRS as WKT1 (GDAL flavour).

        WKT1 names the projection ``Azimuthal_Equidistant``, which every PROJ and GDAL
        reads; the WKT2 of PROJ 9.4 and later uses the method code EPSG 1125, which PROJ
        before 9.4 (GDAL 3.6, QGIS on Debian 12 / Ubuntu 22.04, pyproj before 3.7) does not
        know, so such readers cannot place the grid.

        Examples
        --------
        >>> LocalFrame(52.0, 5.0).wkt.startswith('PROJCS["unknown"')
        True
        """
        return self.crs.to_wkt("WKT1_GDAL")

    def cf_attrs(self) -> dict:
        """Attributes of a CF ``grid_mapping`` variable describing this frame: the CF
        parameters and ``crs_wkt`` (:attr:`wkt`)."""
        attrs = self.crs.to_cf()
        attrs["crs_wkt"] = self.wkt
        attrs["long_name"] = "local east/north frame (azimuthal equidistant around the origin)"
        attrs["origin_altitude"] = self.alt
        return attrs

    @classmethod
    def from_cf(cls, attrs: dict) -> LocalFrame:
        """Rebuild a frame from the attributes written by :meth:`cf_attrs`."""
        try:
            lat = float(attrs["latitude_of_projection_origin"])
            lon = float(attrs["longitude_of_projection_origin"])
        except (KeyError, TypeError, ValueError):
            raise InputError("grid_mapping is not a dronesense local frame") from None
        return cls(lat, lon, float(attrs.get("origin_altitude", 0.0)))
