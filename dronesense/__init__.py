"""dronesense: ground-station toolkit for air-quality drones.

Passive MAVLink logging, pairing of sensor readings with the vehicle position at the reading's
own time, and CF-compliant 3D concentration grids.
"""

from dronesense._version import __version__

__all__ = ["__version__"]
