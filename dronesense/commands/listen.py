"""``dronesense listen``: record a live MAVLink link and pair readings as they arrive.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> args = p.parse_args(["listen", "--out", "s1"])
>>> args.conn, args.max_gap, args.request_streams
('udpin:127.0.0.1:14550', 1.0, False)
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from dronesense.errors import InputError

DEFAULT_CONN = "udpin:127.0.0.1:14550"
#: Seconds between re-writes of session.json while recording.
SUMMARY_INTERVAL_S = 5.0
#: Seconds ``--until-landed`` keeps recording after the disarm.
LANDED_GRACE_S = 2.0


def parse_lags(items: list[str] | None) -> dict[str, float]:
    """``["ch4=2.5", "pm2p5=0.8"]`` -> ``{"ch4": 2.5, "pm2p5": 0.8}``.

    Examples
    --------
    >>> parse_lags(["ch4=2.5"])
    {'ch4': 2.5}
    """
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise InputError(f"--lag expects QUANTITY=SECONDS, got {item!r}")
    return out


def add_pairing_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Options shared by ``listen`` and ``replay``: names, max gap, lags."""
    parser.add_argument("--names", metavar="MAP.toml",
                        help="name mapping file: wire names -> quantities (extends defaults)")
    parser.add_argument("--max-gap", type=float, default=1.0 if defaults else None,
                        metavar="S", help="longest time between two fixes that still gives "
                        "an interpolated position (default 1 s)")
    parser.add_argument("--lag", action="append", metavar="QUANTITY=S",
                        help="sensor lag to subtract from the reading time (repeatable)")


def load_names(path: str | None):
    """The name table: defaults, extended by a mapping file if given."""
    from dronesense.quantities import NameTable

    return NameTable.from_file(path) if path else NameTable.default()


def register(subparsers) -> None:
    """Add the ``listen`` sub-command."""
    p = subparsers.add_parser(
        "listen", help="record a live MAVLink link and pair readings with positions",
        description="Passively record a MAVLink link (every packet to SESSION_DIR/flight.tlog), "
        "pair each NAMED_VALUE_FLOAT/INT reading with the position at its own vehicle time, "
        "and append the samples to SESSION_DIR/samples.csv. Never sends anything to the "
        "vehicle unless --request-streams is given.",
    )
    p.add_argument("conn", nargs="?", default=DEFAULT_CONN, metavar="CONN",
                   help=f"udpin:HOST:PORT, udpout:, tcp:, tcpin: or a serial device (default "
                   f"{DEFAULT_CONN}; use udpin:0.0.0.0:14550 to hear other machines)")
    p.add_argument("--out", required=True, metavar="SESSION_DIR", help="session directory")
    p.add_argument("--baud", type=int, default=57600, help="serial speed (default 57600)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--until-landed", action="store_true",
                   help="stop when a vehicle that has flown disarms")
    p.add_argument("--forward", metavar="CONN2",
                   help="re-send every received packet to udpout:HOST:PORT or tcp:HOST:PORT")
    add_pairing_options(p)
    p.add_argument("--request-streams", action="store_true",
                   help="ask the vehicle for position, time and named-value streams "
                   "(the only case where listen transmits)")
    p.add_argument("--quiet", action="store_true", help="no operator view")
    p.set_defaults(func=run)


class _StreamRequester:
    """Asks each autopilot for the streams pairing needs (only with --request-streams)."""

    def __init__(self, link):
        from pymavlink.dialects.v20 import ardupilotmega as mavlink

        self.mavlink = mavlink
        self.link = link
        self.mav = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
        self._next: dict[int, float] = {}

    def poll(self, recorder) -> None:
        ml = self.mavlink
        now = time.monotonic()
        for sysid, fs in recorder.pairer.states.items():
            if fs.status is None or len(fs.track) > 0 or now < self._next.get(sysid, 0.0):
                continue
            self._next[sysid] = now + 5.0
            msgs = [ml.MAVLink_request_data_stream_message(sysid, 1, ml.MAV_DATA_STREAM_ALL, 4, 1)]
            for msg_id, period_us in ((ml.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, 100_000),
                                      (ml.MAVLINK_MSG_ID_SYSTEM_TIME, 1_000_000),
                                      (ml.MAVLINK_MSG_ID_GPS_RAW_INT, 200_000)):
                msgs.append(ml.MAVLink_command_long_message(
                    sysid, 1, ml.MAV_CMD_SET_MESSAGE_INTERVAL, 0, msg_id, period_us,
                    0, 0, 0, 0, 0))
            for m in msgs:
                self.link.send(bytes(m.pack(self.mav)))
                self.mav.seq = (self.mav.seq + 1) % 256


def _landed(recorder) -> bool:
    states = recorder.pairer.states.values()
    flown = [fs for fs in states if fs.has_flown]
    return bool(flown) and all(fs.status is not None and not fs.status.armed for fs in flown)


def _drain(link, recorder, limit_s: float = 1.0) -> None:
    """Record what already arrived before the stop (at most ``limit_s`` seconds of work)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        chunks = link.recv(0.0)
        if not chunks:
            return
        for chunk in chunks:
            recorder.feed(chunk)


def run(args) -> int:
    """Record until stopped; returns the exit code."""
    from dronesense.link import Forwarder, Link
    from dronesense.session import Recorder
    from dronesense.view import make_view

    names = load_names(args.names)
    lags = parse_lags(args.lag)
    out = Path(args.out)
    link = Link(args.conn, baud=args.baud)
    forward = Forwarder(args.forward) if args.forward else None
    meta = {
        "command_line": list(sys.argv),
        "connection": args.conn,
        "forward": args.forward,
        "names_file": str(Path(args.names).resolve()) if args.names else None,
        "udp_rcvbuf": link.rcvbuf,
    }
    recorder = Recorder(out, names=names, max_gap_s=args.max_gap, lags=lags, forward=forward,
                        meta=meta)
    reason = {"why": None}

    def on_term(signum, frame):
        reason["why"] = "SIGTERM"

    old_term = signal.signal(signal.SIGTERM, on_term)
    requester = _StreamRequester(link) if args.request_streams else None
    deadline = None if args.duration is None else time.monotonic() + args.duration
    next_summary = time.monotonic() + SUMMARY_INTERVAL_S
    landed_at = None
    view = make_view(args.quiet)
    try:
        with view:
            while reason["why"] is None:
                for chunk in link.recv(0.1):
                    recorder.feed(chunk)
                recorder.maybe_flush()
                view.update(recorder, link)
                now = time.monotonic()
                if requester is not None:
                    requester.poll(recorder)
                if now >= next_summary:
                    recorder.write_summary()
                    next_summary = now + SUMMARY_INTERVAL_S
                if deadline is not None and now >= deadline:
                    reason["why"] = "duration"
                elif args.until_landed and _landed(recorder):
                    # keep listening briefly for the readings still on their way
                    landed_at = landed_at or now
                    if now - landed_at >= LANDED_GRACE_S:
                        reason["why"] = "landed"
                else:
                    landed_at = None
        _drain(link, recorder)
    except KeyboardInterrupt:
        reason["why"] = "interrupted"
    finally:
        summary = recorder.close(reason["why"] or "error")
        link.close()
        if forward is not None:
            forward.close()
        signal.signal(signal.SIGTERM, old_term)
    flags = summary["samples"]["by_flag"]
    total = summary["samples"]["total"]
    paired = flags.get("0", 0)
    print(f"{out}: {summary['packets']} packets, {total} samples "
          f"({paired / total:.0%} paired), " if total else
          f"{out}: {summary['packets']} packets, no samples, ", end="")
    print(f"loss {summary['loss_total']:.1%}, {summary['bad_bytes']} bad bytes; "
          f"stopped: {summary['stop_reason']}")
    return 0
