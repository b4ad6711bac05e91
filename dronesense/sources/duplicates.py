"""The duplicate-packet rule: a repeated MAVLink packet gives its data once.

Radios, routers and UDP relays sometimes deliver one packet twice. The raw record keeps every
copy (it is what arrived), but a copy must not become a second sample. A packet is a
**duplicate** when an earlier packet of the same source (system id, component id) carried the
same sequence number and exactly the same bytes, and that earlier packet is among the last
:data:`WINDOW` packets of that source the filter has seen. A sender's sequence number wraps
every 256 packets, so within the window a sequence number names one packet; requiring the same
bytes as well means a packet that merely reuses a number (a reboot, a second sender with the
same ids) is never taken for a copy.

The rule depends only on the order of the packets, never on clocks, so the live recorder, the
replay of its tlog and the post-flight scanner make the same decisions when they are shown the
same packets: every path that turns packets into events uses :class:`DuplicateFilter` (the
:class:`~dronesense.sources.messages.MessageAdapter` applies it to the messages it reads;
:func:`duplicate_mask` is the same rule over arrays).

Examples
--------
>>> f = DuplicateFilter()
>>> f.is_duplicate(1, 1, 7, b"abc"), f.is_duplicate(1, 1, 7, b"abc"), f.duplicates
(False, True, 1)
>>> f.is_duplicate(1, 1, 7, b"abd")        # same number, other bytes: a new packet
False
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

__all__ = ["WINDOW", "DuplicateFilter", "duplicate_mask"]

#: A copy is recognised when the original is among the last this many packets of its source
#: (less than 256, the period of the sequence number).
WINDOW = 128


class DuplicateFilter:
    """Streaming duplicate detection (see the module docstring for the rule).

    Memory is bounded: at most 256 entries per (sysid, compid) source.

    Attributes
    ----------
    duplicates
        Copies recognised so far.
    """

    __slots__ = ("_sources", "duplicates", "window")

    def __init__(self, window: int = WINDOW):
        if not 0 < window < 256:
            raise ValueError("window must be 1..255 packets")
        self.window = window
        self.duplicates = 0
        # (sysid, compid) -> [count, {seq: (index, content)}]
        self._sources: dict[tuple[int, int], list] = {}

    def is_duplicate(self, sysid: int, compid: int, seq: int, content: Hashable) -> bool:
        """Note one packet; True if it repeats one of the source's last ``window`` packets.

        ``content`` is the packet's bytes (anything comparable that is equal exactly when the
        bytes are). A duplicate does not count as a packet of the window.
        """
        src = self._sources.get((sysid, compid))
        if src is None:
            src = self._sources[(sysid, compid)] = [0, {}]
        count, seen = src
        hit = seen.get(seq)
        if hit is not None and count - hit[0] <= self.window and hit[1] == content:
            self.duplicates += 1
            return True
        seen[seq] = (count + 1, content)
        src[0] = count + 1
        return False

    def message_is_duplicate(self, msg) -> bool:
        """:meth:`is_duplicate` for a pymavlink message (header and ``_msgbuf``); messages
        without their bytes are never duplicates."""
        raw = getattr(msg, "_msgbuf", None)
        header = getattr(msg, "_header", None)
        if raw is None or header is None or not hasattr(header, "seq"):
            return False
        return self.is_duplicate(header.srcSystem, header.srcComponent, header.seq, bytes(raw))


def duplicate_mask(sysid: Sequence[int], compid: Sequence[int], seq: Sequence[int],
                   content: Sequence[Hashable], window: int = WINDOW) -> list[bool]:
    """The rule over columns of packets in file order: True where a packet is a copy.

    Examples
    --------
    >>> duplicate_mask([1, 1, 1], [1, 1, 1], [5, 5, 6], [b"a", b"a", b"b"])
    [False, True, False]
    """
    f = DuplicateFilter(window)
    return [f.is_duplicate(int(s), int(c), int(q), b)
            for s, c, q, b in zip(sysid, compid, seq, content, strict=True)]
