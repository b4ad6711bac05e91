"""The installed version of dronesense (provenance in every file it writes)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dronesense")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
