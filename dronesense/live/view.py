"""Operator view of a live recording: rich panel refreshed in place, or plain status lines.

:func:`snapshot` gathers what an operator needs from a :class:`~dronesense.live.recorder.Recorder`
(link up/down, message rate, loss, armed/mode, position, latest values, samples recorded,
serial payloads: port, frames, bad frames, receive clock);
:class:`LiveView` draws it with rich, :class:`LineView` prints one short line every few
seconds (for logs and non-terminals), :class:`NullView` prints nothing.

Examples
--------
>>> status_line({"link": "up", "rate": 50.0, "loss": 0.01, "samples": 12, "vehicles": []})
'link up | 50 msg/s | loss 1.0% | samples 12'
"""

from __future__ import annotations

import sys
import time

from dronesense.quantities import display_units
from dronesense.sources.messages import mode_name

__all__ = ["LineView", "LiveView", "NullView", "make_view", "render", "snapshot", "status_line"]

#: Seconds without a packet after which the link is shown as down.
LINK_TIMEOUT_S = 3.0


def snapshot(recorder, link=None) -> dict:
    """A plain dict of what the view shows (also handy for tests)."""
    st = recorder.stats
    last = st.last_packet_mono
    up = last is not None and time.monotonic() - last < LINK_TIMEOUT_S
    vehicles = []
    for sysid, fs in sorted(recorder.pairer.states.items()):
        fix = fs.track.last_fix()
        status = fs.status
        values = {
            q: v for (s, q), v in sorted(recorder.latest.items()) if s == sysid
        }
        vehicles.append({
            "sysid": sysid,
            "boot": fs.boot,
            "armed": None if status is None else status.armed,
            "mode": mode_name(status),
            "fix_ok": None if fix is None else fix[1],
            "lat": None if fix is None else float(fix[2][0]),
            "lon": None if fix is None else float(fix[2][1]),
            "alt_amsl": None if fix is None else float(fix[2][2]),
            "height": None if fix is None else float(fix[2][3]),
            "values": values,
        })
    return {
        "link": "up" if up else ("down" if link is None or link.connected else "reconnecting"),
        "rate": st.rate(),
        "packets": st.packets,
        "loss": st.total_loss(),
        "bad_bytes": st.bad_bytes,
        "crc_errors": st.crc_errors,
        "samples": recorder.journal.rows,
        "pending": recorder.pairer.pending,
        "vehicles": vehicles,
        "warnings": [w for _, fs in sorted(recorder.pairer.states.items())
                     for w in fs.warnings()],
        "payloads": payload_status(recorder),
        "gcs": gcs_status(recorder),
    }


def gcs_status(recorder) -> dict | None:
    """The ``--forward`` ground station: connected, packets sent to it, what it sent back."""
    fwd = getattr(recorder, "forward", None)
    up = getattr(recorder, "uplink", None)
    if fwd is None:
        return None
    return {
        "conn": getattr(fwd, "conn", ""),
        "connected": getattr(fwd, "connected", None),
        "sent": fwd.sent,
        "dropped": fwd.dropped,
        "control": bool(up is not None and up.control),
        "note": "GCS sent nothing" if up is None else up.note(),
    }


def payload_status(recorder) -> list[dict]:
    """Per serial payload: port up, frames, bad frames, readings, receive clock state."""
    out = []
    payloads = getattr(recorder, "payloads", None) or {}
    clock = getattr(recorder, "clock", None)
    for source, entry in payloads.items():
        sp, conv = entry.get("payload"), entry.get("readings")
        frames = bad = 0
        error = entry.get("last_error")
        connected = None
        if sp is not None:
            dec = sp.decoder
            frames = int(dec.frames.get("data", 0))
            bad = int(sum(dec.bad.values()))
            connected = sp.connected
            error = sp.last_error or error
        sysid = None if conv is None else conv.sysid
        if sysid is None and clock is not None and clock.sysids:
            sysid = clock.sysids[0]
        est = None if clock is None or sysid is None else clock.estimate(sysid)
        out.append({
            "source": source,
            "connected": connected,
            "frames": frames,
            "bad_frames": bad,
            "readings": 0 if conv is None else conv.readings,
            "waiting": 0 if conv is None else conv.pending,
            "dropped": 0 if conv is None else conv.dropped,
            "sysid": sysid,
            "clock_ready": bool(est is not None and clock.ready(sysid)),
            "uncertainty_ms": None if est is None else est.uncertainty_ms,
            "error": error,
        })
    return out


def status_line(snap: dict) -> str:
    """One short line for logs."""
    parts = [f"link {snap['link']}", f"{snap['rate']:.0f} msg/s", f"loss {snap['loss']:.1%}",
             f"samples {snap['samples']}"]
    for v in snap["vehicles"]:
        armed = {True: "ARMED", False: "disarmed", None: "?"}[v["armed"]]
        pos = "no position" if v["lat"] is None else (
            f"{v['lat']:.6f},{v['lon']:.6f} h={v['height']:.1f}m")
        parts.append(f"sys{v['sysid']} {armed} {pos}")
    for p in snap.get("payloads", ()):
        port = {True: "up", False: "DOWN", None: "?"}[p["connected"]]
        clock = (f"clock ±{p['uncertainty_ms']:.0f}ms" if p["clock_ready"]
                 else "clock waiting")
        parts.append(f"{p['source']} {port} {p['frames']} frames {p['bad_frames']} bad {clock}")
    gcs = snap.get("gcs")
    if gcs:
        mode = "CONTROL" if gcs["control"] else "monitor"
        parts.append(f"forward {gcs['conn']} ({mode}) {gcs['note']}")
    parts += [f"WARNING {w}" for w in snap.get("warnings", ())]
    return " | ".join(parts)


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def render(snap: dict, title: str = "dronesense listen"):
    """The rich renderable of a :func:`snapshot` (what :class:`LiveView` draws)."""
    return _render(snap, title)


def _render(snap: dict, title: str):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    head = Table.grid(padding=(0, 2))
    colour = "green" if snap["link"] == "up" else "red"
    head.add_row(
        f"link [bold {colour}]{snap['link'].upper()}[/]",
        f"{snap['rate']:.0f} msg/s",
        f"{snap['packets']} packets",
        f"loss {snap['loss']:.2%}",
        f"bad bytes {snap['bad_bytes']}",
        f"samples [bold]{snap['samples']}[/] (+{snap['pending']} waiting)",
    )
    parts = [head]
    parts += [f"[bold red]warning:[/] {w}" for w in snap.get("warnings", ())]
    for v in snap["vehicles"]:
        t = Table(title=f"vehicle {v['sysid']} (boot {v['boot']})", expand=False)
        for col in ("armed", "mode", "GNSS", "lat", "lon", "alt AMSL", "height"):
            t.add_column(col)
        armed = {True: "[bold red]ARMED[/]", False: "disarmed", None: "?"}[v["armed"]]
        fix = {True: "ok", False: "[red]no fix[/]", None: "-"}[v["fix_ok"]]
        t.add_row(armed, v["mode"] or "-", fix, _fmt(v["lat"], ".6f"), _fmt(v["lon"], ".6f"),
                  _fmt(v["alt_amsl"], ".1f"), _fmt(v["height"], ".1f"))
        parts.append(t)
        if v["values"]:
            q = Table(show_header=True, expand=False)
            q.add_column("quantity")
            q.add_column("latest", justify="right")
            q.add_column("units")
            for key, (value, units, _name) in v["values"].items():
                q.add_row(key, f"{value:.4g}", display_units(units, key))
            parts.append(q)
    if snap.get("payloads"):
        t = Table(title="serial payloads", expand=False)
        for col in ("payload", "port", "frames", "bad", "readings", "waiting", "clock", "±ms"):
            t.add_column(col)
        for p in snap["payloads"]:
            port = {True: "[green]up[/]", False: "[bold red]DOWN[/]", None: "?"}[p["connected"]]
            if p["connected"] is False and p["error"]:
                port += f" ({p['error'][:40]})"
            clock = "[green]ready[/]" if p["clock_ready"] else "[yellow]waiting[/]"
            t.add_row(p["source"], port, str(p["frames"]), str(p["bad_frames"]),
                      str(p["readings"]), str(p["waiting"]), clock,
                      _fmt(p["uncertainty_ms"], ".1f"))
        parts.append(t)
    gcs = snap.get("gcs")
    if gcs:
        mode = ("[bold yellow]CONTROL[/] (GCS commands reach the vehicle)" if gcs["control"]
                else "monitor only")
        up = {True: "[green]connected[/]", False: "[yellow]not connected[/]",
              None: "?"}[gcs["connected"]]
        parts.append(f"forward {gcs['conn']} {up}, {mode}: {gcs['sent']} sent, "
                     f"{gcs['dropped']} dropped; {gcs['note']}")
    return Panel(Group(*parts), title=title, expand=False)


class NullView:
    """Shows nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, recorder, link=None) -> None:
        """Nothing to do."""


class LineView(NullView):
    """Prints :func:`status_line` every ``interval_s`` seconds to ``stream``."""

    def __init__(self, interval_s: float = 5.0, stream=None):
        self.interval_s = interval_s
        self.stream = stream or sys.stdout
        self._next = time.monotonic() + interval_s

    def update(self, recorder, link=None) -> None:
        """Print a line if it is time."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval_s
            print(status_line(snapshot(recorder, link)), file=self.stream, flush=True)


class LiveView(NullView):
    """A rich panel redrawn in place at most ``fps`` times a second."""

    def __init__(self, title: str = "dronesense listen", fps: float = 4.0, console=None):
        from rich.live import Live

        self.title = title
        self._interval = 1.0 / fps
        self._next = 0.0
        self._live = Live(auto_refresh=False, transient=False, console=console)

    def __enter__(self):
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._live.__exit__(*exc)

    def update(self, recorder, link=None) -> None:
        """Redraw if it is time."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._interval
            self._live.update(_render(snapshot(recorder, link), self.title), refresh=True)


def make_view(quiet: bool, stream=None):
    """The view for the situation: none if ``quiet``, rich on a terminal, lines otherwise."""
    stream = stream or sys.stdout
    if quiet:
        return NullView()
    if stream.isatty():
        return LiveView()
    return LineView(stream=stream)
