"""The live web view of ``dronesense listen --web``: :class:`LiveWeb` serves a read-only page
of a recording (server-sent events, plain JavaScript and SVG, nothing from the internet);
:class:`VehicleWatch` keeps battery, mission, ages and peaks for it and the terminal view."""

from __future__ import annotations

__all__ = ["DEFAULT_WEB", "LiveWeb", "VehicleWatch", "parse_address"]


def __getattr__(name: str):
    # loaded on first use: the terminal view imports the watch without the server
    if name in ("DEFAULT_WEB", "LiveWeb", "parse_address"):
        from dronesense.live.web import server

        return getattr(server, name)
    if name == "VehicleWatch":
        from dronesense.live.web.watch import VehicleWatch

        return VehicleWatch
    raise AttributeError(name)
