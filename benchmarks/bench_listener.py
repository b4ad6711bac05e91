"""How many messages per second `dronesense listen` sustains on loopback UDP without loss.

Compares the full listener path (receive, frame, write flight.tlog, pair, journal) with a
plain pymavlink receive loop (``mavutil.mavlink_connection`` + ``recv_match``) that does
nothing with the messages. Each receiver runs in its own process; the sender paces one
MAVLink packet per datagram (as vehicles send) at rising rates. Reported per receiver: the
highest rate received with no loss, and CPU time per 1000 messages at a moderate rate.

Run::

    python benchmarks/bench_listener.py            # about a minute
    python benchmarks/bench_listener.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

RATES = (2_000, 5_000, 10_000, 20_000, 30_000, 45_000, 60_000)
CPU_RATE = 2_000


def make_packets(n: int) -> list[bytes]:
    """A telemetry-like mix: positions, readings, attitude, heartbeats, system time."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    out = []
    for k in range(n):
        t = k * 10
        kind = k % 10
        if kind in (0, 5):
            msg = mavlink.MAVLink_global_position_int_message(
                t, 520000000 + k, 50000000 + k, 40000, 30000, 0, 0, 0, 0)
        elif kind in (1, 2, 6, 7):
            msg = mavlink.MAVLink_named_value_float_message(t, b"PM2.5", float(k % 50))
        elif kind == 3:
            msg = mavlink.MAVLink_attitude_message(t, 0.1, 0.2, 0.3, 0, 0, 0)
        elif kind == 4:
            msg = mavlink.MAVLink_system_time_message(1_714_557_600_000_000 + t * 1000, t)
        elif kind == 8:
            msg = mavlink.MAVLink_vfr_hud_message(5.0, 5.0, 90, 50, 30.0, 0.0)
        else:
            msg = mavlink.MAVLink_heartbeat_message(2, 3, 129, 4, 4, 3)
        out.append(bytes(msg.pack(mav)))
        mav.seq = (mav.seq + 1) % 256
    return out


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def receiver(kind: str, port: int, count: int) -> dict:
    """Receive until ``count`` messages or 1 s of silence; print counts and CPU."""
    got = 0
    start_cpu = start_wall = None
    if kind == "pymavlink":
        from pymavlink import mavutil

        conn = mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}")
        conn.port.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        print("ready", flush=True)
        while got < count:
            msg = conn.recv_match(blocking=True, timeout=1.0)
            if msg is None:
                if got:
                    break
                continue
            if start_cpu is None:
                start_cpu, start_wall = cpu_s(), time.monotonic()
            got += 1
    else:
        from dronesense.live.recorder import Recorder
        from dronesense.sources.link import Link

        link = Link(f"udpin:127.0.0.1:{port}")
        rec = Recorder(tempfile.mkdtemp(prefix="bench-listener-"))
        print("ready", flush=True)
        idle = 0.0
        while rec.stats.packets < count:
            chunks = link.recv(0.1)
            if not chunks:
                idle += 0.1
                if rec.stats.packets and idle >= 1.0:
                    break
                continue
            idle = 0.0
            if start_cpu is None:
                start_cpu, start_wall = cpu_s(), time.monotonic()
            for chunk in chunks:
                rec.feed(chunk)
            rec.maybe_flush()
        rec.close()
        got = rec.stats.packets
    return {"received": got, "cpu_s": cpu_s() - (start_cpu or 0.0),
            "wall_s": time.monotonic() - (start_wall or time.monotonic())}


def run_one(kind: str, rate: int, seconds: float, packets: list[bytes]) -> dict:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    n = int(rate * seconds)
    proc = subprocess.Popen([sys.executable, __file__, "--receiver", kind, "--port", str(port),
                             "--count", str(n)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.perf_counter()
    batch = max(1, rate // 1000)
    for k in range(0, n, batch):
        for j in range(k, min(n, k + batch)):
            sock.sendto(packets[j % len(packets)], ("127.0.0.1", port))
        due = t0 + (k + batch) / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    sent_s = time.perf_counter() - t0
    sock.close()
    out, _ = proc.communicate(timeout=120)
    res = json.loads(out.strip().splitlines()[-1])
    res.update(kind=kind, rate=rate, sent=n, achieved_rate=n / sent_s)
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receiver", choices=("pymavlink", "listener"))
    p.add_argument("--port", type=int)
    p.add_argument("--count", type=int)
    p.add_argument("--quick", action="store_true", help="shorter runs")
    args = p.parse_args()
    if args.receiver:
        print(json.dumps(receiver(args.receiver, args.port, args.count)))
        return
    seconds = 1.0 if args.quick else 2.0
    packets = make_packets(10_000)
    results = {}
    for kind in ("pymavlink", "listener"):
        cpu = run_one(kind, CPU_RATE, 2 * seconds, packets)
        best = 0
        for rate in RATES:
            r = run_one(kind, rate, seconds, packets)
            lossless = r["received"] == r["sent"]
            print(f"{kind:9s} {rate:6d} msg/s asked ({r['achieved_rate']:7.0f} sent): "
                  f"{r['received']}/{r['sent']} received{'' if lossless else '  LOSS'}",
                  flush=True)
            if not lossless or r["achieved_rate"] < 0.9 * rate:
                break
            best = rate
        results[kind] = {"max_lossless_rate": best,
                         "cpu_ms_per_1000_msgs": 1e6 * cpu["cpu_s"] / max(cpu["received"], 1),
                         "cpu_percent_at_2k": 100 * cpu["cpu_s"] / max(cpu["wall_s"], 1e-9)}
    a, b = results["listener"], results["pymavlink"]
    print()
    print(f"{'':24s}{'listener':>12s}{'pymavlink':>12s}{'ratio':>8s}")
    print(f"{'max lossless msg/s':24s}{a['max_lossless_rate']:12d}{b['max_lossless_rate']:12d}"
          f"{a['max_lossless_rate'] / max(b['max_lossless_rate'], 1):8.2f}")
    print(f"{'CPU ms per 1000 msgs':24s}{a['cpu_ms_per_1000_msgs']:12.1f}"
          f"{b['cpu_ms_per_1000_msgs']:12.1f}"
          f"{a['cpu_ms_per_1000_msgs'] / max(b['cpu_ms_per_1000_msgs'], 1e-9):8.2f}")
    print(f"{'CPU % at 2000 msg/s':24s}{a['cpu_percent_at_2k']:12.1f}"
          f"{b['cpu_percent_at_2k']:12.1f}")
    print(f"(rates are the highest of {RATES} reached without loss; one packet per datagram)")


if __name__ == "__main__":
    os.environ.setdefault("MAVLINK20", "1")
    main()
