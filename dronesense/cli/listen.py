"""``dronesense listen``: record a live MAVLink link and pair readings as they arrive.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> args = p.parse_args(["listen", "--out", "s1"])
>>> args.conn, args.max_gap, args.request_streams, args.forward_control
('udpin:127.0.0.1:14550', 1.0, False, False)
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from dronesense.cli.options import add_pairing_options, load_names, parse_lags
from dronesense.errors import InputError
from dronesense.sources.session_folder import SessionFolder

DEFAULT_CONN = "udpin:127.0.0.1:14550"
#: Seconds between re-writes of session.json while recording.
SUMMARY_INTERVAL_S = 5.0
#: Seconds ``--until-landed`` keeps recording after the disarm.
LANDED_GRACE_S = 2.0


def register(subparsers) -> None:
    """Add the ``listen`` sub-command."""
    p = subparsers.add_parser(
        "listen", help="record a live MAVLink link and pair readings with positions",
        description="Passively record a MAVLink link (every packet to SESSION_DIR/flight.tlog), "
        "pair each NAMED_VALUE_FLOAT/INT reading with the position at its own vehicle time, "
        "and append the samples to SESSION_DIR/samples.csv. Never sends anything to the "
        "vehicle unless --request-streams is given, or --forward-control lets the ground "
        "station behind --forward command it.",
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
                   help="re-send every received packet to another ground station: "
                   "udpout:HOST:PORT (e.g. udpout:127.0.0.1:14550 for QGroundControl), "
                   "udpin:HOST:PORT, tcp:HOST:PORT, or tcpin:127.0.0.1:5760 (a TCP server "
                   "the station connects to). Monitor only unless --forward-control: what "
                   "the station sends back is counted and dropped")
    p.add_argument("--forward-control", action="store_true",
                   help="let the --forward ground station control the vehicle: every whole "
                   "valid MAVLink packet it sends (commands, arming, mode changes, mission "
                   "upload/download, parameters) is relayed byte for byte to the vehicle and "
                   "recorded in flight.tlog. listen itself still originates nothing. Keep CONN2 on "
                   "127.0.0.1: whoever can send to it can command the vehicle")
    add_pairing_options(p)
    p.add_argument("--request-streams", action="store_true",
                   help="ask the vehicle for position, time and named-value streams "
                   "(the only case where listen transmits)")
    p.add_argument("--quiet", action="store_true", help="no operator view")
    g = p.add_argument_group("serial payloads (a particle sensor on its own serial line)")
    g.add_argument("--payload", action="append", metavar="FORMAT:DEVICE[:BAUD]",
                   help="read a pms5003, sds011 or sps30 on DEVICE and pair its readings "
                   "(repeatable)")
    g.add_argument("--payload-sysid", type=int, metavar="N",
                   help="system id of the vehicle carrying the payloads (default: the first "
                   "vehicle heard)")
    g.add_argument("--payload-prefix", action="append", metavar="NAME",
                   help="wire-name prefix of the i-th payload's readings, NAME.PM2.5 "
                   "(default: the format, e.g. pms5003.PM2.5; '' for plain names)")
    g.add_argument("--payload-rate", default="1", metavar="R|auto",
                   help="vehicle clock seconds per ground second for the receive clock: 1 "
                   "for a real vehicle (default), 'auto' to estimate it (a simulator run "
                   "faster than real time)")
    g.add_argument("--payload-latency", type=float, metavar="S",
                   help="seconds to subtract from a frame's receive time (default: the time "
                   "the line took to carry it at the baud; 0 for a pty)")
    p.set_defaults(func=run)


def parse_rate(text: str) -> float | None:
    """``--payload-rate``: a positive number, or ``auto`` (None: estimate the rate).

    Examples
    --------
    >>> parse_rate("1"), parse_rate("auto")
    (1.0, None)
    """
    if text.strip().lower() == "auto":
        return None
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not rate > 0:
        raise InputError(f"--payload-rate expects a positive number or 'auto', got {text!r}")
    return rate


def payload_plan(specs: list[str] | None, prefixes: list[str] | None
                 ) -> list[tuple[str, str, str, int, str]]:
    """(spec, format, device, baud, prefix) per ``--payload``; prefixes default to the
    format (``pms5003``), numbered when a format repeats (``pms5003_2``).

    Examples
    --------
    >>> plan = payload_plan(["pms5003:/dev/a", "pms5003:/dev/b:9600"], None)
    >>> [(fmt, dev, baud, prefix) for _, fmt, dev, baud, prefix in plan]
    [('pms5003', '/dev/a', 9600, 'pms5003'), ('pms5003', '/dev/b', 9600, 'pms5003_2')]
    >>> payload_plan(["sds011:/dev/a"], [""])[0][4]
    ''
    """
    from dronesense.sources.payload import parse_payload_spec

    specs = specs or []
    prefixes = list(prefixes or [])
    if len(prefixes) > len(specs):
        raise InputError("more --payload-prefix than --payload options")
    out = []
    seen: dict[str, int] = {}
    for k, spec in enumerate(specs):
        fmt, dev, baud = parse_payload_spec(spec)
        if k < len(prefixes):
            prefix = prefixes[k].strip()
            if any(c in prefix for c in ". ,"):
                raise InputError(f"--payload-prefix {prefix!r}: no dots, commas or spaces")
        else:
            seen[fmt] = seen.get(fmt, 0) + 1
            prefix = fmt if seen[fmt] == 1 else f"{fmt}_{seen[fmt]}"
        out.append((spec, fmt, dev, baud, prefix))
    used = [p[4] for p in out if p[4]]
    if len(set(used)) != len(used):
        raise InputError("two payloads with the same --payload-prefix")
    return out


def _check_port(device: str, baud: int) -> None:
    """Fail early (before the session directory is used) if a payload port cannot open."""
    import serial

    try:
        serial.Serial(device, baud, timeout=0).close()
    except (serial.SerialException, OSError, ValueError) as err:
        raise InputError(f"cannot open serial payload port ({err})", path=device) from None


def _poll_payloads(payloads, recorder) -> None:
    """Pair what the serial payloads sent since the last call; never raises."""
    for spec, sp, conv in payloads:
        try:
            recorder.feed_readings(conv.push(sp.poll()), source=spec)
        except Exception as err:  # a payload must never stop the MAVLink recording
            recorder.payload_error(spec, err)


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


def _poll_forward(forward, recorder) -> None:
    """Serve the --forward ground station: what it sent goes to the recorder (relayed to the
    vehicle only with --forward-control). Never raises: the recording comes first."""
    try:
        chunks = forward.poll()
    except Exception:  # a broken ground-station link must never stop the recording
        return
    for chunk in chunks:
        recorder.feed_uplink(chunk)


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


def _open_payloads(plan, recorder, clock, args) -> list:
    from dronesense.sources.payload.serial_source import PayloadReadings, SerialPayload

    out = []
    for spec, fmt, dev, baud, prefix in plan:
        sp = SerialPayload(dev, fmt, baud, latency_s=args.payload_latency,
                           record=recorder.dir / f"payload-{prefix or fmt}.bin")
        conv = PayloadReadings(clock, fmt, sysid=args.payload_sysid, prefix=prefix or None)
        recorder.add_payload(spec, sp, conv, prefix)
        out.append((spec, sp, conv))
    return out


def run(args) -> int:
    """Record until stopped; returns the exit code."""
    from dronesense.live.recorder import Recorder
    from dronesense.live.view import make_view
    from dronesense.sources.link import Forwarder, Link

    names = load_names(args.names)
    lags = parse_lags(args.lag, allow_auto=False) or {}
    out = Path(args.out)
    plan = payload_plan(args.payload, args.payload_prefix)
    rate = parse_rate(args.payload_rate)
    if SessionFolder(out).tlog.exists():  # before opening anything (the Recorder checks too)
        raise InputError("already holds a session (flight.tlog exists); choose a new "
                         "directory", path=out)
    for _, _, dev, baud, _ in plan:
        _check_port(dev, baud)
    if args.forward_control and not args.forward:
        raise InputError("--forward-control needs --forward CONN2")
    link = Link(args.conn, baud=args.baud)
    forward = Forwarder(args.forward) if args.forward else None
    meta = {
        "command_line": list(sys.argv),
        "connection": args.conn,
        "forward_control": bool(args.forward_control),
        "names_file": str(Path(args.names).resolve()) if args.names else None,
        "udp_rcvbuf": link.rcvbuf,
    }
    clock = None
    if plan:
        from dronesense.sources.payload.serial_source import ReceiveClock

        clock = ReceiveClock(rate=rate)
        meta["payload_settings"] = {
            "sysid": args.payload_sysid, "clock_rate": rate,
            "latency_s": args.payload_latency,
            "window_s": clock.window_ms / 1000.0, "bucket_s": clock.bucket_ms / 1000.0,
        }
    try:
        recorder = Recorder(out, names=names, max_gap_s=args.max_gap, lags=lags,
                            forward=forward, meta=meta, clock=clock,
                            sensors=[p[4] for p in plan if p[4]],
                            control=link if args.forward_control else None)
    except BaseException:
        link.close()
        if forward is not None:
            forward.close()
        raise
    payloads = []
    try:
        payloads = _open_payloads(plan, recorder, clock, args)
    except BaseException:
        for _, sp, _ in payloads:
            sp.close()
        recorder.close("error")
        link.close()
        raise
    reason = {"why": None}

    def on_term(signum, frame):
        reason["why"] = "SIGTERM"

    old_term = signal.signal(signal.SIGTERM, on_term)
    requester = _StreamRequester(link) if args.request_streams else None
    deadline = None if args.duration is None else time.monotonic() + args.duration
    next_summary = time.monotonic() + SUMMARY_INTERVAL_S
    landed_at = None
    view = make_view(args.quiet)

    def gcs_waitables() -> list:
        return [] if forward is None else forward.fileno_list()

    try:
        with view:
            while reason["why"] is None:
                for chunk in link.recv(0.1, also=gcs_waitables()):
                    recorder.feed(chunk)
                if forward is not None:
                    _poll_forward(forward, recorder)
                if payloads:
                    _poll_payloads(payloads, recorder)
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
        if payloads:
            _poll_payloads(payloads, recorder)
    except KeyboardInterrupt:
        reason["why"] = "interrupted"
    finally:
        for _, sp, _ in payloads:
            sp.close()
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
    fwd = summary.get("forward")
    if fwd and fwd.get("uplink"):
        print(f"forward {fwd['conn']}: {fwd['sent']} sent, {fwd['dropped']} dropped; "
              f"{fwd['uplink']['note']}")
    return 0
