"""Link statistics of a recording: what came from the vehicle, what the ground station sent.

Examples
--------
>>> up = UplinkStats(control=False)
>>> up.packets, up.not_relayed = 3, 3
>>> up.note()
'GCS sent 3 packets, not relayed (monitor only)'
>>> LinkStats().total_loss()
0.0
"""

from __future__ import annotations

import time
from collections import Counter, deque

__all__ = ["LinkStats", "UplinkStats"]

_KEEP_S = 60.0  # message-rate history kept (seconds)


class LinkStats:
    """Counts of what came over the link: messages, loss from sequence numbers, bad input.

    Loss is counted per (sysid, compid) from the MAVLink sequence number: a jump from *s* to
    *s + k + 1* means *k* packets were lost on the way (a repeat of the same number is counted
    as a duplicate instead).
    """

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0
        self.bad_bytes = 0
        self.crc_errors = 0
        #: frames rejected because no shipped dialect defines their message id
        self.unknown_ids = 0
        self.by_type: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()
        self.signed = 0
        #: signing verdicts (with a key set): "none"/"valid" were used, the others only recorded
        self.signing: Counter[str] = Counter()
        self.seq: dict[tuple[int, int], list[int]] = {}  # key -> [last, received, lost, dup]
        self.last_packet_mono: float | None = None
        self._recent: deque[list] = deque()  # [monotonic s, packets]

    def packet(self, msg, raw: bytes) -> None:
        """Count one good packet."""
        self.packets += 1
        self.bytes += len(raw)
        self.by_type[msg._type] += 1
        if raw[0] == 0xFD:  # header read from the bytes: unknown ids have no decoded header
            self.versions["v2"] += 1
            self.signed += raw[2] & 1
            seq, key = raw[4], (raw[5], raw[6])
        else:
            self.versions["v1"] += 1
            seq, key = raw[2], (raw[3], raw[4])
        s = self.seq.get(key)
        if s is None:
            self.seq[key] = [seq, 1, 0, 0]
            return
        diff = (seq - s[0] - 1) % 256
        if diff == 255:
            s[3] += 1
        else:
            s[2] += diff
        s[0] = seq
        s[1] += 1

    def mark(self, n: int) -> None:
        """Note ``n`` packets received now (for the message rate)."""
        now = time.monotonic()
        self.last_packet_mono = now
        recent = self._recent
        if recent and now - recent[-1][0] < 0.05:  # 50 ms buckets: no entry per datagram
            recent[-1][1] += n
        else:
            recent.append([now, n])
            while now - recent[0][0] > _KEEP_S:  # bounded: only what rate() can still ask
                recent.popleft()

    def rate(self, window_s: float = 2.0) -> float:
        """Messages per second over the last ``window_s`` seconds."""
        now = time.monotonic()
        while self._recent and self._recent[0][0] < now - window_s:
            self._recent.popleft()
        return sum(n for _, n in self._recent) / window_s

    def loss(self) -> dict[str, dict[str, float]]:
        """Per ``"sysid:compid"``: received, lost, duplicates, loss fraction."""
        out = {}
        for (sysid, compid), (_, received, lost, dup) in sorted(self.seq.items()):
            total = received + lost
            out[f"{sysid}:{compid}"] = {
                "received": received, "lost": lost, "duplicates": dup,
                "loss": round(lost / total, 6) if total else 0.0,
            }
        return out

    def total_loss(self) -> float:
        """Lost / (received + lost) over all components."""
        received = sum(s[1] for s in self.seq.values())
        lost = sum(s[2] for s in self.seq.values())
        return lost / (received + lost) if received + lost else 0.0


class UplinkStats:
    """What the forwarded ground station sent towards the vehicle.

    ``packets`` whole valid MAVLink packets came from it; each one was ``relayed`` to the
    vehicle (and recorded in the tlog), ``not_relayed`` (monitor only: no control link) or
    ``undeliverable`` (control on, but no vehicle to send to yet, or
    the vehicle link was down). ``bad_bytes`` / ``crc_errors``: what was not a packet; it is
    never relayed.
    """

    def __init__(self, control: bool) -> None:
        self.control = control
        self.packets = 0
        self.relayed = 0
        self.relayed_bytes = 0
        self.not_relayed = 0
        self.undeliverable = 0
        self.bad_bytes = 0
        self.crc_errors = 0
        self.by_type: Counter[str] = Counter()

    def note(self) -> str:
        """One line for people: what happened to what the ground station sent."""
        if not self.packets and not self.bad_bytes:
            return "GCS sent nothing"
        if self.control:
            text = f"GCS sent {self.packets} packets, {self.relayed} relayed to the vehicle"
            if self.undeliverable:
                text += f", {self.undeliverable} undeliverable (no vehicle link)"
        else:
            text = f"GCS sent {self.packets} packets, not relayed (monitor only)"
        if self.bad_bytes:
            text += f"; {self.bad_bytes} bad bytes dropped"
        return text

    def as_dict(self) -> dict:
        return {
            "mode": "control" if self.control else "monitor",
            "packets": self.packets,
            "relayed": self.relayed,
            "relayed_bytes": self.relayed_bytes,
            "not_relayed": self.not_relayed,
            "undeliverable": self.undeliverable,
            "bad_bytes": self.bad_bytes,
            "crc_errors": self.crc_errors,
            "messages": dict(sorted(self.by_type.items())),
            "note": self.note(),
        }
