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

from dronesense.cli.options import add_pairing_options, parse_lags
from dronesense.errors import InputError

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
    g.add_argument("--payload-latency", type=float, dest="payload_latency_s", metavar="S",
                   help="seconds to subtract from a frame's receive time (default: the time "
                   "the line took to carry it at the baud; 0 for a pty)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Record until stopped, print the summary; returns the exit code."""
    from dronesense.live.listener import Listener
    from dronesense.live.view import make_view

    if args.forward_control and not args.forward:
        raise InputError("--forward-control needs --forward CONN2")
    lags = parse_lags(args.lag, allow_auto=False) or {}
    listener = Listener(
        args.conn, out=args.out, names=args.names, max_gap_s=args.max_gap, lags=lags,
        forward=args.forward, forward_control=args.forward_control,
        payloads=args.payloads or (), payload_prefixes=args.payload_prefixes,
        payload_sysid=args.payload_sysid, payload_rate=args.payload_rate,
        payload_latency_s=args.payload_latency_s, request_streams=args.request_streams,
        baud=args.baud, meta={"command_line": list(sys.argv)})
    view = make_view(args.quiet)
    old_term = signal.signal(signal.SIGTERM, lambda signum, frame: listener.stop("SIGTERM"))
    try:
        with listener, view:
            summary = listener.run(
                duration=args.duration, until_landed=args.until_landed,
                on_status=lambda live: view.update(live.recorder, live.link))
    finally:
        signal.signal(signal.SIGTERM, old_term)
    print(summary_lines(args.out, summary))
    return 0


def summary_lines(out, summary: dict) -> str:
    """What ``listen`` prints at the end: packets, samples, loss, why it stopped, forwarding.

    Examples
    --------
    >>> doc = {"packets": 10, "samples": {"total": 4, "by_flag": {"0": 3, "2": 1}},
    ...        "loss_total": 0.0, "bad_bytes": 0, "stop_reason": "duration", "forward": None}
    >>> print(summary_lines("s1", doc))
    s1: 10 packets, 4 samples (75% paired), loss 0.0%, 0 bad bytes; stopped: duration
    """
    flags = summary["samples"]["by_flag"]
    total = summary["samples"]["total"]
    paired = flags.get("0", 0)
    text = (f"{out}: {summary['packets']} packets, {total} samples "
            f"({paired / total:.0%} paired), " if total else
            f"{out}: {summary['packets']} packets, no samples, ")
    text += (f"loss {summary['loss_total']:.1%}, {summary['bad_bytes']} bad bytes; "
             f"stopped: {summary['stop_reason']}")
    fwd = summary.get("forward")
    if fwd and fwd.get("uplink"):
        text += (f"\nforward {fwd['conn']}: {fwd['sent']} sent, {fwd['dropped']} dropped; "
                 f"{fwd['uplink']['note']}")
    return text
