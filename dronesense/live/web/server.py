"""The live web view: a read-only page of a recording, pushed to the browser as it happens.

:class:`LiveWeb` serves one page (plain JavaScript and SVG written for it, no CDN, nothing
from the internet unless a tile URL is given) and a server-sent-events stream on
``127.0.0.1`` by default: only an address the user names is used otherwise. The socket is
bound exclusively (no ``SO_REUSEADDR``): a port in use is an error, never shared.

The page shows the track coloured by the chosen quantity, the latest value of every quantity
with units, age and peak, link health, vehicle state (armed, mode, battery, mission item),
every warning, the source if given, and horizontal slices of block means per flown layer.

Examples
--------
A server on a free port, fed from a recorder (``update`` is what a listener loop calls):

>>> import tempfile, urllib.request
>>> from dronesense.live.recorder import Recorder
>>> rec = Recorder(tempfile.mkdtemp())
>>> with LiveWeb("127.0.0.1:0", session=rec.dir) as web:
...     web.update(rec)
...     page = urllib.request.urlopen(web.url).read().decode()
...     state = urllib.request.urlopen(web.url + "state.json").read()
>>> "dronesense live" in page, web.host
(True, '127.0.0.1')
>>> _ = rec.close()
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path

from dronesense.errors import InputError, ParameterError
from dronesense.geoformats import json_safe
from dronesense.live.view import snapshot
from dronesense.live.web.state import JournalTail, layer_slices
from dronesense.live.web.watch import VehicleWatch

__all__ = ["DEFAULT_WEB", "LiveWeb", "parse_address"]

#: Where ``--web`` serves when no address is named.
DEFAULT_WEB = "127.0.0.1:8765"
#: Seconds between two pushes of the state to the page.
PUSH_INTERVAL_S = 0.5
#: Seconds between two computations of the layer slices.
FIELD_INTERVAL_S = 2.0


def parse_address(text: str | None) -> tuple[str, int]:
    """``HOST:PORT``, ``PORT`` or ``HOST`` -> (host, port); default :data:`DEFAULT_WEB`.

    >>> parse_address(None), parse_address("8080"), parse_address("0.0.0.0:80")
    (('127.0.0.1', 8765), ('127.0.0.1', 8080), ('0.0.0.0', 80))
    """
    text = (text or DEFAULT_WEB).strip()
    if text.startswith(("udp", "tcp", "/", "COM")):
        raise ParameterError("web", f"{text!r} is a vehicle connection, not a web address: "
                             "put CONN before --web, or give --web HOST:PORT")
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = (text, "8765") if not text.isdigit() else ("127.0.0.1", text)
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise ParameterError("web", f"{text!r}: expected HOST:PORT, PORT or HOST") from None
    if not 0 <= number <= 65535:
        raise ParameterError("web", f"{text!r}: port {number} out of range")
    return host, number


class _Server(ThreadingHTTPServer):
    allow_reuse_address = False  # exclusive: a port in use is refused, never shared
    daemon_threads = True


class LiveWeb:
    """Serve the live page of a recording.

    Parameters
    ----------
    address
        ``HOST:PORT`` (``127.0.0.1:8765`` by default; port 0 takes a free port) or a
        ``(host, port)`` pair.
    session
        The session folder being recorded (its ``samples.csv`` journal gives the track).
    quantity
        Quantity the track is coloured by at first (the page offers every quantity).
    source
        ``(lat, lon)`` of a known source, drawn on the map.
    tiles
        A tile URL template (``https://tile.example/{z}/{x}/{y}.png``) for a base map; without
        one the page loads nothing from anywhere but this server.
    watch
        The :class:`~dronesense.live.web.watch.VehicleWatch` the listener feeds (battery,
        mission progress); one is made if not given (add it to ``listener.observers``).

    Raises
    ------
    InputError
        The address cannot be bound (in use, not an address of this machine).
    """

    def __init__(self, address: str | tuple[str, int] | None = None, *, session: str | Path,
                 quantity: str | None = None, source: tuple[float, float] | None = None,
                 tiles: str | None = None, watch: VehicleWatch | None = None,
                 title: str = "dronesense live"):
        host, port = address if isinstance(address, tuple) else parse_address(address)
        self.session = Path(session)
        self.watch = watch if watch is not None else VehicleWatch()
        self.config = {"title": title, "quantity": quantity, "tiles": tiles,
                       "source": None if source is None else [float(source[0]),
                                                               float(source[1])]}
        self._tail = JournalTail(self.session / "samples.csv")
        self._points: list[list] = []
        self._quantities: list[str] = []
        self._units: dict[str, str] = {}
        self._state: dict = {}
        self._field: dict = {}
        self._version = 0
        self._cond = threading.Condition()
        self._closed = False
        self._next_push = 0.0
        self._next_field = 0.0
        try:
            self._server = _Server((host, port), _handler(self))
        except OSError as err:
            raise InputError(f"cannot serve the web view on {host}:{port}: {err.strerror or err}"
                             "; name another address with --web HOST:PORT") from None
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True,
                                        name="dronesense-web")
        self._thread.start()

    @property
    def url(self) -> str:
        """The page's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # -- fed by the listener loop ----------------------------------------------------------
    def __call__(self, chunk) -> None:
        """The listener's observer hook: every received chunk goes to the watch."""
        self.watch(chunk)

    def update(self, recorder, link=None, *, force: bool = False, final: str | None = None
               ) -> None:
        """Take the recorder's state and push it to the page (at most every 0.5 s)."""
        now = time.monotonic()
        if not force and final is None and now < self._next_push:
            return
        self._next_push = now + PUSH_INTERVAL_S
        if self.watch.lookup is None:
            self.watch.lookup = recorder.pairer.lookup
        self._take_rows()
        snap = snapshot(recorder, link, self.watch)
        if force or final is not None or now >= self._next_field:
            self._next_field = now + FIELD_INTERVAL_S
            self._field = self._slices()
        self.publish(snap, final)

    def publish(self, snap: dict, final: str | None = None) -> None:
        """Push a :func:`~dronesense.live.view.snapshot` (and the journal rows so far)."""
        state = {k: v for k, v in snap.items() if k not in ("vehicles",)}
        state["vehicles"] = [{k: v for k, v in veh.items() if k != "values"}
                             for veh in snap["vehicles"]]
        state.update(positioned=len(self._points), quantities=list(self._quantities),
                     units=dict(self._units), field=self._field, stopped=final,
                     flags={str(k): v for k, v in snap.get("flags", {}).items()})
        state = json_safe(state)
        with self._cond:
            self._state = state
            self._version += 1
            self._cond.notify_all()

    def _take_rows(self) -> None:
        for r in self._tail.read():
            if r.lat is None or r.lon is None:
                continue
            if r.quantity not in self._units:
                self._quantities.append(r.quantity)
                self._units[r.quantity] = r.units or ""
            self._points.append([r.lat, r.lon, r.height, self._quantities.index(r.quantity),
                                 r.value, r.time_utc or "", r.flag, r.sysid])

    def _slices(self) -> dict:
        out = {}
        pts = self._points
        for qi, q in enumerate(self._quantities):
            sel = [p for p in pts if p[3] == qi and p[6] == 0 and p[2] is not None]
            if sel:
                out[q] = layer_slices([p[0] for p in sel], [p[1] for p in sel],
                                      [p[2] for p in sel], [p[4] for p in sel])
        return out

    def message(self, start: int) -> tuple[bytes, int, int]:
        """The event for a page that has the first ``start`` points: (data, points, version)."""
        with self._cond:
            state, version = self._state, self._version
            points = self._points[start:]
        doc = {"config": self.config, "state": state, "from": start, "points": points}
        return json.dumps(doc, separators=(",", ":"), allow_nan=False,
                          default=str).encode(), start + len(points), version

    def wait(self, version: int, timeout: float) -> int | None:
        """Block until the state is newer than ``version``; the new version or None."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != version or self._closed, timeout)
            if self._closed:
                return None
            return self._version

    def close(self) -> None:
        """Stop serving (the page keeps what it has)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LiveWeb:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _asset(name: str) -> bytes:
    if name == "svgkit.js":  # the helpers the live page shares with the report
        return files("dronesense").joinpath("static", name).read_bytes()
    return files("dronesense.live.web").joinpath("static", name).read_bytes()


def _handler(web: LiveWeb):
    tiles = web.config["tiles"]
    img = "'self' data:"
    if tiles:
        from urllib.parse import urlsplit

        parts = urlsplit(tiles)
        img += f" {parts.scheme}://{parts.netloc.split('{')[0] or parts.netloc}"
        if "{s}" in parts.netloc:
            img += f" {parts.scheme}://*.{parts.netloc.split('.', 1)[-1]}"
    csp = (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; "
           "connect-src 'self'")

    class Handler(BaseHTTPRequestHandler):
        server_version = "dronesense-web"

        def log_message(self, *args) -> None:  # the operator view is the log
            pass

        def _send(self, body: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self._send(_asset("live.html"), "text/html; charset=utf-8")
            elif path in ("/live.js", "/svgkit.js", "/live.css"):
                kind = "text/javascript" if path.endswith(".js") else "text/css"
                self._send(_asset(path[1:]), kind + "; charset=utf-8")
            elif path == "/state.json":
                self._send(web.message(0)[0], "application/json")
            elif path == "/events":
                self._events()
            else:
                self.send_error(404)

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            have, version = 0, -1
            try:
                while True:
                    data, have, version = web.message(have)
                    self.wfile.write(b"data: " + data + b"\n\n")
                    self.wfile.flush()
                    while True:
                        new = web.wait(version, 15.0)
                        if new is None:
                            return
                        if new != version:
                            break
                        self.wfile.write(b": keep-alive\n\n")
                        self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

        def do_POST(self) -> None:  # read-only
            self.send_error(405)

        do_PUT = do_DELETE = do_POST

    return Handler


def start_web(args, watch: VehicleWatch) -> LiveWeb | None:
    """The ``listen --web`` page for parsed command-line ``args`` (``None`` without
    ``--web``), serving ``args.out``; prints its address. Make it before the listener: an
    unusable address then leaves no session folder behind."""
    if getattr(args, "web", None) is None:
        return None
    source = None
    if getattr(args, "web_source", None):
        try:
            lat, lon = (float(x) for x in args.web_source.split(","))
        except ValueError:
            raise ParameterError("web_source", f"{args.web_source!r}: expected LAT,LON in "
                                 "decimal degrees") from None
        source = (lat, lon)
    web = LiveWeb(args.web or None, session=args.out, source=source,
                  tiles=getattr(args, "web_tiles", None), watch=watch)
    print(f"web view (read-only): {web.url}", flush=True)
    return web
