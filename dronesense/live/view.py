"""Operator view of a live recording: rich panel refreshed in place, or plain status lines.

:func:`snapshot` gathers what an operator needs from a :class:`~dronesense.live.recorder.Recorder`
(link up/down, message rate, loss, armed/mode, position, latest values, samples recorded,
serial payloads: port, frames, bad frames, receive clock);
With a :class:`~dronesense.live.web.watch.VehicleWatch` it adds the listening address and
output folder, elapsed time, battery, mission progress, value ages and peaks, every warning and,
after a few seconds with nothing received, a hint with the usual causes.
:class:`LiveView` draws it with rich, :class:`LineView` prints a short line when something
changed (and a reminder every minute while nothing does; for logs and non-terminals),
:class:`NullView` prints nothing.

Examples
--------
>>> status_line({"link": "up", "rate": 50.0, "loss": 0.01, "samples": 12, "vehicles": []})
'link up | 50 msg/s | loss 1.0% | samples 12'
"""

from __future__ import annotations

import sys
import time

import numpy as np

from dronesense.live.web.watch import (
    HINT_AFTER_S,
    STALE_S,
    VehicleWatch,
    no_data_hint,
    warnings,
)
from dronesense.quantities import display_units
from dronesense.sources.messages import float32_decimal, mode_name

__all__ = ["LineView", "LiveView", "NullView", "make_view", "render", "snapshot", "status_line"]

#: Seconds without a packet after which the link is shown as down.
LINK_TIMEOUT_S = 3.0


def snapshot(recorder, link=None, watch: VehicleWatch | None = None) -> dict:
    """A plain dict of what the view shows (also handy for tests).

    With a :class:`~dronesense.live.web.watch.VehicleWatch` (fed by the listener) it also holds
    battery, mission progress, value ages and peaks; ``alerts`` lists every warning
    (``warnings`` only those of the pairing, as ``session.json`` records them).
    """
    st = recorder.stats
    now = time.monotonic()
    last = st.last_packet_mono
    up = last is not None and now - last < LINK_TIMEOUT_S
    if watch is not None:
        watch.note_values(recorder.latest, now)
    vehicles = []
    values = []
    for sysid, fs in sorted(recorder.pairer.states.items()):
        fix = fs.track.last_fix()
        status = fs.status
        vals = {
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
            "values": vals,
            "battery": None if watch is None else watch.battery.get(sysid),
            "mission": None if watch is None else watch.mission.get(sysid),
        })
        for q, (value, units, name) in vals.items():
            key = (sysid, q)
            values.append({
                "sysid": sysid, "quantity": q, "name": name, "value": _as_journal(value),
                "units": display_units(units, q),
                "age_s": None if watch is None else watch.age(key, now),
                "peak": None if watch is None else watch.peak.get(key),
            })
    started = watch.started if watch is not None else None
    silent = None
    if started is not None:
        silent = now - (last if last is not None else started)
    where = getattr(link, "conn", None)
    snap = {
        "link": "up" if up else ("down" if link is None or link.connected else "reconnecting"),
        "where": where,
        "out": str(recorder.dir),
        "elapsed_s": None if started is None else now - started,
        "rate": st.rate(),
        "packets": st.packets,
        "loss": st.total_loss(),
        "bad_bytes": st.bad_bytes,
        "crc_errors": st.crc_errors,
        "signing": signing_status(st),
        "samples": recorder.journal.rows,
        "pending": recorder.pairer.pending,
        "flags": dict(recorder.flags),
        "vehicles": vehicles,
        "values": values,
        "warnings": [w for _, fs in sorted(recorder.pairer.states.items())
                     for w in fs.warnings()],
        "hint": (no_data_hint(where or "the link", silent)
                 if silent is not None and silent >= HINT_AFTER_S else None),
        "payloads": payload_status(recorder),
        "gcs": gcs_status(recorder),
    }
    snap["pairing_warnings"] = snap["warnings"]
    snap["alerts"] = warnings(snap)
    return snap


def _as_journal(value: float) -> float:
    """A float32 reading as the journal writes it (its shortest decimal); others unchanged."""
    v = float(value)
    return float32_decimal(v) if v != v or float(np.float32(v)) == v else v


def signing_status(stats) -> dict:
    """Whatever the link statistics expose about MAVLink signing (counts and verdicts)."""
    out: dict = {}
    for key, value in vars(stats).items():
        if "sign" in key and not key.startswith("_"):
            out[key] = dict(value) if isinstance(value, dict) else value
    return out


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
    if snap.get("elapsed_s") is not None:
        parts.insert(0, _clock(snap["elapsed_s"]))
    for v in snap["vehicles"]:
        armed = {True: "ARMED", False: "disarmed", None: "?"}[v["armed"]]
        pos = "no position" if v["lat"] is None else (
            f"{v['lat']:.6f},{v['lon']:.6f} h={v['height']:.1f}m")
        parts.append(f"sys{v['sysid']} {armed} {pos}")
        extra = _battery_mission(v)
        if extra:
            parts.append(extra)
    for p in snap.get("payloads", ()):
        port = {True: "up", False: "DOWN", None: "?"}[p["connected"]]
        clock = (f"clock ±{p['uncertainty_ms']:.0f}ms" if p["clock_ready"]
                 else "clock waiting")
        parts.append(f"{p['source']} {port} {p['frames']} frames {p['bad_frames']} bad {clock}")
    gcs = snap.get("gcs")
    if gcs:
        mode = "CONTROL" if gcs["control"] else "monitor"
        parts.append(f"forward {gcs['conn']} ({mode}) {gcs['note']}")
    alerts = snap.get("alerts", snap.get("warnings", ()))
    parts += [f"WARNING {w}" for w in alerts]
    return " | ".join(parts)


def _battery_mission(v: dict) -> str:
    bits = []
    bat = v.get("battery") or {}
    if bat.get("remaining") is not None:
        bits.append(f"battery {bat['remaining']:.0f}%")
    if bat.get("voltage") is not None:
        bits.append(f"{bat['voltage']:.1f} V")
    m = v.get("mission")
    if m:
        bits.append(f"mission item {m['seq']}" + (f"/{m['total']}" if m.get("total") else ""))
    return " ".join(bits)


def _essence(snap: dict) -> tuple:
    """What makes a status line worth printing again (rates and counters aside)."""
    return (snap["link"], snap["samples"],
            tuple((v["sysid"], v["armed"], v["mode"], v["fix_ok"], v["boot"])
                  for v in snap["vehicles"]),
            tuple(snap.get("alerts", snap.get("warnings", ()))),
            tuple(p["connected"] for p in snap.get("payloads", ())))


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


def render(snap: dict, title: str = "dronesense listen"):
    """The rich renderable of a :func:`snapshot` (what :class:`LiveView` draws)."""
    return _render(snap, title)


def _render(snap: dict, title: str):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    parts = []
    if snap.get("where") or snap.get("elapsed_s") is not None:
        parts.append(f"listening on [bold]{snap.get('where') or '-'}[/]  ->  "
                     f"{snap.get('out', '-')}   elapsed {_clock(snap.get('elapsed_s'))}")
    head = Table.grid(padding=(0, 2))
    colour = "green" if snap["link"] == "up" else "red"
    loss = snap["loss"]
    loss_colour = "red" if loss > 0.05 else ("yellow" if loss > 0.01 else "green")
    head.add_row(
        f"link [bold {colour}]{snap['link'].upper()}[/]",
        f"{snap['rate']:.0f} msg/s",
        f"{snap['packets']} packets",
        f"loss [{loss_colour}]{loss:.2%}[/]",
        f"bad bytes {snap['bad_bytes']}",
        f"samples [bold]{snap['samples']}[/] (+{snap['pending']} waiting)",
    )
    parts.append(head)
    alerts = snap.get("alerts", snap.get("warnings", ()))
    if alerts:
        parts.append(Panel("\n".join(f"[bold red]![/] {w}" for w in alerts),
                           title="[bold red]warnings[/]", expand=False))
    for v in snap["vehicles"]:
        t = Table(title=f"vehicle {v['sysid']} (boot {v['boot']})", expand=False)
        for col in ("armed", "mode", "GNSS", "lat", "lon", "alt AMSL", "height", "battery",
                    "mission"):
            t.add_column(col)
        armed = {True: "[bold red]ARMED[/]", False: "disarmed", None: "?"}[v["armed"]]
        fix = {True: "ok", False: "[red]no fix[/]", None: "-"}[v["fix_ok"]]
        stale = snap["link"] != "up"
        pos = [_fmt(v["lat"], ".6f"), _fmt(v["lon"], ".6f"), _fmt(v["alt_amsl"], ".1f"),
               _fmt(v["height"], ".1f")]
        if stale:
            pos = [f"[dim]{x}[/]" for x in pos]
        bat = v.get("battery") or {}
        battery = "-" if bat.get("remaining") is None else f"{bat['remaining']:.0f}%"
        if bat.get("voltage") is not None:
            battery += f" {bat['voltage']:.1f} V"
        m = v.get("mission")
        mission = "-" if not m else (f"{m['seq']}/{m['total']}" if m.get("total")
                                     else str(m["seq"]))
        t.add_row(armed, v["mode"] or "-", fix, *pos, battery, mission)
        parts.append(t)
        mine = [q for q in snap.get("values", ()) if q["sysid"] == v["sysid"]]
        if mine:
            q = Table(show_header=True, expand=False)
            for col, just in (("quantity", "left"), ("latest", "right"), ("peak", "right"),
                              ("units", "left"), ("age", "right")):
                q.add_column(col, justify=just)
            for e in mine:
                age = e["age_s"]
                age_text = "-" if age is None else f"{age:.0f} s"
                if age is not None and age > STALE_S:
                    age_text = f"[bold yellow]{age_text} stale[/]"
                q.add_row(e["quantity"], f"{e['value']:.4g}", _fmt(e["peak"], ".4g"),
                          e["units"], age_text)
            parts.append(q)
        elif v["values"]:
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
    """Prints :func:`status_line` when something changed (checked every ``interval_s``
    seconds); while nothing changes, one line every ``quiet_s`` seconds says so."""

    def __init__(self, interval_s: float = 5.0, stream=None, watch: VehicleWatch | None = None,
                 quiet_s: float = 60.0):
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self.stream = stream or sys.stdout
        self.watch = watch
        self._next = time.monotonic() + interval_s
        self._last: tuple | None = None
        self._last_print = self._last_change = 0.0
        self._started = False

    def update(self, recorder, link=None) -> None:
        """Print a line if it is time and something changed (or it has been quiet long)."""
        now = time.monotonic()
        if not self._started:
            self._started = True
            where = getattr(link, "conn", None) or "the link"
            print(f"listening on {where}, recording to {recorder.dir}", file=self.stream,
                  flush=True)
        if now < self._next:
            return
        self._next = now + self.interval_s
        snap = snapshot(recorder, link, self.watch)
        key = _essence(snap)
        if key != self._last:
            self._last, self._last_print = key, now
            self._last_change = now
            print(status_line(snap), file=self.stream, flush=True)
        elif now - self._last_print >= self.quiet_s:
            self._last_print = now
            print(f"unchanged for {now - self._last_change:.0f} s: {status_line(snap)}",
                  file=self.stream, flush=True)


class LiveView(NullView):
    """A rich panel redrawn in place at most ``fps`` times a second."""

    def __init__(self, title: str = "dronesense listen", fps: float = 4.0, console=None,
                 watch: VehicleWatch | None = None):
        from rich.live import Live

        self.title = title
        self.watch = watch
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
            self._live.update(_render(snapshot(recorder, link, self.watch), self.title),
                              refresh=True)


def make_view(quiet: bool, stream=None, watch: VehicleWatch | None = None):
    """The view for the situation: none if ``quiet``, rich on a terminal, lines otherwise.

    ``watch`` (fed by the listener's ``observers``) adds battery, mission, ages and peaks.
    """
    stream = stream or sys.stdout
    if quiet:
        return NullView()
    if stream.isatty():
        return LiveView(watch=watch)
    return LineView(stream=stream, watch=watch)
