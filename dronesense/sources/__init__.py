"""Sources: anything a flight leaves -> flight events.

Live links (:mod:`~dronesense.sources.link`), tlogs (:mod:`~dronesense.sources.framing`,
:mod:`~dronesense.sources.tlogscan`), DataFlash logs (:mod:`~dronesense.sources.dataflash`),
CSV tracks (:mod:`~dronesense.sources.csvtrack`), session folders
(:mod:`~dronesense.sources.session_folder`) and serial payloads
(:mod:`~dronesense.sources.payload`). :func:`open_source` picks the reader for any of them
(:mod:`~dronesense.sources.dispatch`); it is imported on first use, so that importing one
light module of this package (a live link) does not load the log readers.

Examples
--------
>>> from dronesense.sources import open_source
>>> open_source.__module__
'dronesense.sources.dispatch'
"""

from __future__ import annotations

__all__ = ["open_source"]


def __getattr__(name: str):
    if name == "open_source":
        from dronesense.sources.dispatch import open_source

        return open_source
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
