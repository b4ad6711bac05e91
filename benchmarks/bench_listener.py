"""CPU per message of `dronesense listen` on loopback UDP, against a plain pymavlink loop.

Compares the full listener (:class:`dronesense.live.listener.Listener` and its own loop turn:
receive, frame, write flight.tlog, count loss, pair, journal, flushes, session.json) with a
plain pymavlink receive loop (``mavutil.mavlink_connection`` + ``recv_match``) that decodes
every message and does nothing with it (the issue's baseline). Each receiver runs in its own
process; the sender paces one MAVLink packet per datagram (as vehicles send). Reported: CPU
ms per 1000 messages at 2000 msg/s (several runs taken in turn, median, ratio against
pymavlink), also for the listener reading every datagram as soon as it is there
(``listener-nolinger``: ``Listener.linger_s = 0``), and the highest rate received with no
loss.

Run::

    python benchmarks/bench_listener.py                 # a few minutes
    python benchmarks/bench_listener.py --quick --cpu-only --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
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
    """Receive until ``count`` messages or 1 s of silence; print counts and CPU.

    The CPU clock starts once the first message is in; ``measured`` counts the messages
    received after that (what the CPU time is divided by)."""
    got = first = 0
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
            got += 1
            if start_cpu is None:
                start_cpu, start_wall, first = cpu_s(), time.monotonic(), got
    else:
        from dronesense.live.listener import Listener

        live = Listener(f"udpin:127.0.0.1:{port}",
                        out=tempfile.mkdtemp(prefix="bench-listener-") + "/session")
        if kind == "listener-nolinger":
            live.linger_s = 0.0
        rec = live.recorder
        print("ready", flush=True)
        last = time.monotonic()
        while rec.stats.packets < count:
            before = rec.stats.packets
            live.poll(0.1)  # the listener's own loop turn: link, recorder, flushes, summary
            if rec.stats.packets == before:
                if before and time.monotonic() - last >= 1.0:
                    break
                continue
            last = time.monotonic()
            if start_cpu is None:
                start_cpu, start_wall, first = cpu_s(), time.monotonic(), rec.stats.packets
        live.close()  # part of the work: pairing finished, files closed, session.json
        got = rec.stats.packets
    return {"received": got, "measured": got - first, "cpu_s": cpu_s() - (start_cpu or 0.0),
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


def cpu_per_1000(r: dict) -> float:
    """CPU milliseconds per 1,000 messages of one run."""
    return 1e6 * r["cpu_s"] / max(r["measured"], 1)


KINDS = ("pymavlink", "listener", "listener-nolinger")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receiver", choices=KINDS)
    p.add_argument("--port", type=int)
    p.add_argument("--count", type=int)
    p.add_argument("--quick", action="store_true", help="shorter runs")
    p.add_argument("--repeats", type=int, default=3,
                   help="CPU measurements per receiver, taken in turn (default 3)")
    p.add_argument("--cpu-only", action="store_true", help="skip the highest-rate search")
    args = p.parse_args()
    if args.receiver:
        print(json.dumps(receiver(args.receiver, args.port, args.count)))
        return
    seconds = 1.0 if args.quick else 2.0
    packets = make_packets(10_000)
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    for _ in range(args.repeats):  # in turn, so that a change of load hits every receiver
        for kind in KINDS:
            r = run_one(kind, CPU_RATE, 2 * seconds, packets)
            cpu[kind].append(cpu_per_1000(r))
    best = dict.fromkeys(KINDS, 0)
    for kind in () if args.cpu_only else ("pymavlink", "listener"):
        for rate in RATES:
            r = run_one(kind, rate, seconds, packets)
            lossless = r["received"] == r["sent"]
            print(f"{kind:9s} {rate:6d} msg/s asked ({r['achieved_rate']:7.0f} sent): "
                  f"{r['received']}/{r['sent']} received{'' if lossless else '  LOSS'}",
                  flush=True)
            if not lossless or r["achieved_rate"] < 0.9 * rate:
                break
            best[kind] = rate
    base = statistics.median(cpu["pymavlink"])
    print()
    print(f"CPU ms per 1000 msgs at {CPU_RATE} msg/s, one packet per datagram "
          f"({args.repeats} runs each, median; ratio against pymavlink)")
    for kind in KINDS:
        runs = " ".join(f"{v:.1f}" for v in cpu[kind])
        med = statistics.median(cpu[kind])
        print(f"  {kind:20s}{med:8.1f}  x{med / base:5.2f}   runs: {runs}")
    if not args.cpu_only:
        print(f"max lossless msg/s: listener {best['listener']}, pymavlink {best['pymavlink']}"
              f" (the highest of {RATES} reached without loss)")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("MAVLINK20", "1")
    main()
