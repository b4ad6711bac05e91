"""Batched wake-ups of the live link (``Link.recv(linger=...)``, ``Listener.linger_s``): the
receive time of a datagram is the kernel's, not the time it was read, and a listener that
lingers still records every packet, in order, with the journal equal to the replay."""

from __future__ import annotations

import select
import socket
import time

import pytest

from dronesense.flight.pipeline import replay
from dronesense.live.listener import LINGER_S, Listener
from dronesense.samples.journal import format_row, read_journal
from dronesense.sources.framing import TlogReader
from dronesense.sources.link import Link, now_us
from tests.support.link import ScriptedVehicle


def test_receive_time_is_the_kernels_not_the_reads():
    link = Link("udpin:127.0.0.1:0")
    if not link.kernel_stamps:
        link.close()
        pytest.skip("no kernel receive times on this system (the link reads without linger)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as vehicle:
        # Linux turns packet time stamping on for the whole system a moment after the first
        # socket asks (deferred work); until then a datagram is stamped when it is read.
        # Warm up until a datagram queued 20 ms carries its arrival time.
        for _ in range(50):
            vehicle.sendto(b"\xfe\x00", link.address)
            time.sleep(0.02)
            before_read = now_us()
            warm = link.recv(1.0)
            if warm and warm[0].recv_us < before_read:
                break
        sent_after = now_us()
        vehicle.sendto(b"\xfe\x00", link.address)
        select.select(link.fileno_list(), [], [], 10.0)  # queued: its receive time is set
        read_after = now_us()
        chunks = link.recv(1.0, linger=0.05)  # lingers: the stamp must not move
    link.close()
    assert [c.data for c in chunks] == [b"\xfe\x00"]
    assert sent_after <= chunks[0].recv_us <= read_after


def test_lingering_listener_records_every_packet_in_order(tmp_path):
    packets = [raw for _, raw in ScriptedVehicle(duration_s=30.0).packets()]
    live = Listener("udpin:127.0.0.1:0", out=tmp_path / "s")
    assert live.linger_s == LINGER_S > 0
    start = now_us()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as vehicle:
        for k in range(0, len(packets), 100):  # bursts, each read while the next is sent
            for raw in packets[k:k + 100]:
                vehicle.sendto(raw, live.link.address)
            live.poll(1.0)
        for _ in range(100):
            if live.recorder.stats.packets == len(packets):
                break
            live.poll(1.0)
    doc = live.close()
    assert doc["packets"] == len(packets) and doc["loss_total"] == 0.0
    records = list(TlogReader(tmp_path / "s" / "flight.tlog"))
    assert [p.raw for p in records] == packets
    assert all(start <= p.recv_us <= now_us() for p in records)
    rows = [format_row(r) for r in read_journal(tmp_path / "s")]
    assert len(rows) > 150 and rows == [format_row(r) for r in replay(tmp_path / "s")]
