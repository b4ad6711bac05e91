"""dronesense: ground-station toolkit for air-quality drones.

Passive MAVLink logging, pairing of sensor readings with the vehicle position at the reading's
own time, and CF-compliant 3D concentration grids.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dronesense")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
