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

from dronesense.cli.options import (
    add_pairing_options,
    add_signing_options,
    connection,
    non_negative,
    output_dir,
    parse_lags,
    positive,
    positive_int,
    signing_key,
)
from dronesense.errors import InputError

__all__ = ["DEFAULT_CONN", "UNPAIRED_REASONS", "add_signing_options", "register", "run",
           "signing_key", "summary_lines"]

#: The default vehicle link (the same as :data:`dronesense.live.listener.DEFAULT_CONN`).
DEFAULT_CONN = "udpin:127.0.0.1:14550"


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
    p.add_argument("conn", nargs="?", default=DEFAULT_CONN, metavar="CONN", type=connection,
                   help=f"udpin:HOST:PORT, udpout:, tcp:, tcpin: or a serial device (default "
                   f"{DEFAULT_CONN}; use udpin:0.0.0.0:14550 to hear other machines)")
    p.add_argument("--out", required=True, type=output_dir,
                   metavar="SESSION_DIR", help="session directory")
    p.add_argument("--baud", type=positive_int, default=57600, help="serial speed (default 57600)")
    p.add_argument("--duration", type=positive, metavar="S", help="stop after S seconds")
    p.add_argument("--until-landed", action="store_true",
                   help="stop when a vehicle that has flown disarms")
    p.add_argument("--forward", type=connection, metavar="CONN2",
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
    p.add_argument("--gcs", metavar="HOST[:PORT]",
                   help="the only ground station heard on --forward (default: the first one "
                   "to speak or connect, then locked); packets from anyone else are dropped "
                   "and warned about")
    add_signing_options(p)
    add_pairing_options(p)
    p.add_argument("--request-streams", action="store_true",
                   help="ask the vehicle for position, time and named-value streams "
                   "(the only case where listen transmits)")
    p.add_argument("--quiet", action="store_true", help="no operator view")
    p.add_argument("--web", nargs="?", const="", metavar="ADDR",
                   help="also serve a read-only live page (map, values, warnings, field) on "
                   "127.0.0.1:8765, or on ADDR (HOST:PORT or PORT); only the address named "
                   "is used. --web-source LAT,LON marks a source, --web-tiles URL adds a base "
                   "map ({z}/{x}/{y} tiles; without it the page loads nothing from outside)")
    p.add_argument("--web-source", metavar="LAT,LON", help="source marked on the web page")
    p.add_argument("--web-tiles", metavar="URL", help="base-map tile URL for the web page")
    g = p.add_argument_group("serial payloads (a particle sensor on its own serial line)")
    g.add_argument("--payload", action="append", dest="payloads", metavar="FORMAT:DEVICE[:BAUD]",
                   help="read a pms5003, sds011 or sps30 on DEVICE and pair its readings "
                   "(repeatable)")
    g.add_argument("--payload-sysid", type=int, metavar="N",
                   help="system id of the vehicle carrying the payloads (default: the first "
                   "vehicle heard)")
    g.add_argument("--payload-prefix", action="append", dest="payload_prefixes",
                   metavar="NAME",
                   help="wire-name prefix of the i-th payload's readings, NAME.PM2.5 "
                   "(default: the format, e.g. pms5003.PM2.5; '' for plain names)")
    g.add_argument("--payload-rate", default="1", metavar="R|auto",
                   help="vehicle clock seconds per ground second for the receive clock: 1 "
                   "for a real vehicle (default), 'auto' to estimate it (a simulator run "
                   "faster than real time)")
    g.add_argument("--payload-latency", type=non_negative, dest="payload_latency_s", metavar="S",
                   help="seconds to subtract from a frame's receive time (default: the time "
                   "the line took to carry it at the baud; 0 for a pty)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Record until stopped, print the summary; returns the exit code."""
    from dronesense.live.listener import Listener
    from dronesense.live.view import make_view
    from dronesense.live.web.server import start_web
    from dronesense.live.web.watch import VehicleWatch
    from dronesense.sources.signing import redact_argv

    if args.forward_control and not args.forward:
        raise InputError("--forward-control needs --forward CONN2")
    if args.gcs and not args.forward:
        raise InputError("--gcs names the ground station of --forward; give --forward CONN2")
    key = signing_key(args)
    lags = parse_lags(args.lag, allow_auto=False) or {}
    watch = VehicleWatch()
    web = start_web(args, watch)  # first: a bad or busy address leaves no session behind
    try:
        listener = Listener(
            args.conn, out=args.out, names=args.names, max_gap_s=args.max_gap, lags=lags,
            forward=args.forward, forward_control=args.forward_control,
            payloads=args.payloads or (), payload_prefixes=args.payload_prefixes,
            payload_sysid=args.payload_sysid, payload_rate=args.payload_rate,
            payload_latency_s=args.payload_latency_s, request_streams=args.request_streams,
            baud=args.baud, gcs=args.gcs, key=key,
            meta={"command_line": redact_argv(list(sys.argv))})
    except BaseException:
        if web is not None:
            web.close()
        raise
    del key
    watch.lookup = listener.recorder.pairer.lookup
    listener.observers.append(watch)
    view = make_view(args.quiet, watch=watch)
    old_term = signal.signal(signal.SIGTERM, lambda signum, frame: listener.stop("SIGTERM"))
    try:
        with listener, view:
            summary = listener.run(
                duration=args.duration, until_landed=args.until_landed,
                on_status=lambda live: [v.update(live.recorder, live.link) for v in (view, web)
                                        if v is not None])
    finally:
        signal.signal(signal.SIGTERM, old_term)
        if web is not None:
            web.update(listener.recorder, final=listener.stop_reason or "stopped")
            web.close()
    print(summary_lines(args.out, summary))
    return 0


#: Why a sample was not paired, by flag (:data:`dronesense.flight.rows.FLAG_MEANINGS`).
UNPAIRED_REASONS = {"1": "gap between fixes", "2": "before the first fix",
                    "3": "after the last fix", "4": "no GPS fix", "5": "across a reboot",
                    "6": "value out of range (placed, not gridded)"}


def summary_lines(out, summary: dict) -> str:
    """What ``listen`` prints at the end: packets, samples and why some were not paired,
    loss, why it stopped, the session's alerts, forwarding.

    Examples
    --------
    >>> doc = {"packets": 10, "samples": {"total": 6, "by_flag": {"0": 3, "2": 1, "4": 2}},
    ...        "loss_total": 0.0, "bad_bytes": 0, "stop_reason": "duration", "forward": None,
    ...        "alerts": ["GPS loss: 2 reading(s) without GPS fix (flag 4): kept, not placed"]}
    >>> print(summary_lines("s1", doc))
    s1: 10 packets, 6 samples (50% paired), loss 0.0%, 0 bad bytes; stopped: duration
    not paired: 2 no GPS fix, 1 before the first fix
    warning: GPS loss: 2 reading(s) without GPS fix (flag 4): kept, not placed
    """
    flags = summary["samples"]["by_flag"]
    total = summary["samples"]["total"]
    paired = flags.get("0", 0)
    why = sorted(((n, UNPAIRED_REASONS.get(f, f"flag {f}")) for f, n in flags.items()
                  if f != "0" and n), key=lambda x: -x[0])
    text = (f"{out}: {summary['packets']} packets, {total} samples "
            f"({paired / total:.0%} paired), " if total else
            f"{out}: {summary['packets']} packets, no samples, ")
    text += (f"loss {summary['loss_total']:.1%}, {summary['bad_bytes']} bad bytes; "
             f"stopped: {summary['stop_reason']}")
    if why:
        text += "\nnot paired: " + ", ".join(f"{n} {reason}" for n, reason in why)
    alerts = summary.get("alerts")
    if alerts is None:
        alerts = (summary.get("security") or {}).get("warnings", ())
    for line in alerts[:8]:
        text += f"\nwarning: {line}"
    if len(alerts) > 8:
        text += f"\n({len(alerts) - 8} more warnings in session.json)"
    fwd = summary.get("forward")
    if fwd and fwd.get("uplink"):
        text += (f"\nforward {fwd['conn']}: {fwd['sent']} sent, {fwd['dropped']} dropped; "
                 f"{fwd['uplink']['note']}")
    return text
