"""MAVLink 2 message signing: keys, signing outgoing packets, verifying incoming ones.

The scheme is the one of the MAVLink signing specification that ArduPilot, PX4,
QGroundControl and MAVProxy use. A signed MAVLink 2 packet has bit 0 of ``incompat_flags``
set and ends with 13 bytes: the link id (1 byte), a timestamp (6 bytes, little-endian, units
of 10 µs since 2015-01-01 00:00:00 UTC) and the first 6 bytes of
``SHA-256(key + packet up to and including the timestamp)``. The key is 32 bytes: the
SHA-256 of a passphrase (what MAVProxy's ``signing setup`` and QGroundControl do with the
text typed in) or a key file (32 raw bytes or 64 hexadecimal digits).

A :class:`Verifier` gives every incoming packet a verdict:

``"valid"``
    signed with the key, and its timestamp is newer than the last one of its stream
    (system id, component id, link id);
``"unsigned"``
    no signature (a MAVLink 1 packet, or a MAVLink 2 packet without the signed flag);
``"invalid"``
    signed, but not with this key (or a truncated or altered packet);
``"replayed"``
    correctly signed, but its timestamp is not newer than one already accepted on its
    stream, or a new stream starts more than a minute behind the newest time seen.

The last timestamp of every stream, and the newest time seen, are kept per key in a small
JSON state file (:func:`state_path`, named by a one-way digest of the key, never the key
itself), so a packet recorded before a restart is still refused after it.

How the live path uses it: :class:`~dronesense.live.listener.Listener` hands its
:class:`Verifier` to the :class:`~dronesense.live.recorder.Recorder` (``verifier=``). The
recorder writes every packet to the raw record, asks ``verifier.verdict(raw)`` (which also
counts it) and pushes into the pipeline only packets whose verdict is ``None`` (no key) or
``"valid"``; :meth:`Verifier.summary` goes into ``session.json`` as ``"signing"``.
Post-flight readers set :attr:`~dronesense.sources.framing.Packet.signing` with
:meth:`Verifier.check`.

Examples
--------
>>> key = key_from_passphrase("correct horse battery staple")
>>> len(key), key.hex()[:8]
(32, 'c4bbcb1f')
>>> from pymavlink.dialects.v20 import ardupilotmega as mavlink
>>> raw = bytes(mavlink.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3)
...             .pack(mavlink.MAVLink(None, srcSystem=255, srcComponent=190)))
>>> signer = Signer(key, link_id=1, state=None)
>>> verifier = Verifier(key, state=None)
>>> signed = signer.sign(raw)
>>> verifier.verdict(raw), verifier.verdict(signed), verifier.verdict(signed)
('unsigned', 'valid', 'replayed')
>>> verifier.counts["valid"], verifier.counts["replayed"]
(1, 1)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import struct
import time
from collections import Counter
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from dronesense.errors import InputError, ParameterError

__all__ = [
    "EPOCH_2015",
    "KEY_BYTES",
    "VERDICTS",
    "Signer",
    "SigningState",
    "Verifier",
    "is_signed",
    "keep_signed",
    "key_from_file",
    "key_from_passphrase",
    "load_key",
    "now_timestamp",
    "redact_argv",
    "state_path",
]

#: Length of a signing key in bytes.
KEY_BYTES = 32
#: UNIX seconds of the signing epoch, 2015-01-01 00:00:00 UTC.
EPOCH_2015 = 1_420_070_400
#: A new stream may start at most this far (10 µs units: one minute) behind the newest time.
NEW_STREAM_WINDOW = 6_000_000
#: The verdicts of :meth:`Verifier.verdict`.
VERDICTS = ("valid", "unsigned", "invalid", "replayed")
MAGIC_V2 = 0xFD
IFLAG_SIGNED = 0x01
SIGNATURE_LEN = 13
_TS48 = struct.Struct("<IH")


# -- keys ------------------------------------------------------------------------------------
def key_from_passphrase(passphrase: str) -> bytes:
    """The 32-byte key of a passphrase: its SHA-256 (as MAVProxy and QGroundControl do).

    Raises
    ------
    ParameterError
        For ``key`` if the passphrase is empty.
    """
    if not passphrase:
        raise ParameterError("key", "the passphrase is empty")
    return hashlib.sha256(passphrase.encode("utf-8")).digest()


def key_from_file(path: str | Path) -> bytes:
    """A key file: exactly 32 raw bytes, or 64 hexadecimal digits (surrounding blanks and a
    trailing newline allowed).

    Raises
    ------
    InputError
        If the file cannot be read or holds neither form (the message never shows the
        file's content).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read key file: {err.strerror or err}", path=path) from None
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(text.decode("ascii"))
    raise InputError(f"not a signing key: expected {KEY_BYTES} raw bytes or "
                     f"{2 * KEY_BYTES} hexadecimal digits ({len(data)} bytes found)", path=path)


def load_key(passphrase: str | None = None, key_file: str | Path | None = None) -> bytes | None:
    """The key of a ``--key`` passphrase or a ``--key-file``; ``None`` when neither is given.

    Raises
    ------
    ParameterError
        Both are given, or the passphrase is empty.
    InputError
        The key file is unusable.
    """
    if passphrase is not None and key_file is not None:
        raise ParameterError("key", "give either --key or --key-file, not both")
    if key_file is not None:
        return key_from_file(key_file)
    if passphrase is not None:
        return key_from_passphrase(passphrase)
    return None


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with the value of ``--key`` replaced by ``***`` (for ``session.json``
    and anything else that records how a program was run).

    Examples
    --------
    >>> redact_argv(["dronesense", "listen", "--key", "s3cret", "--key=s3cret", "--out", "x"])
    ['dronesense', 'listen', '--key', '***', '--key=***', '--out', 'x']
    """
    out = []
    hide = False
    for arg in argv:
        if hide:
            out.append("***")
            hide = False
        elif arg == "--key":
            out.append(arg)
            hide = True
        elif arg.startswith("--key="):
            out.append("--key=***")
        else:
            out.append(arg)
    return out


def _key_id(key: bytes) -> str:
    """A name for the key's state file that does not reveal the key."""
    return hashlib.sha256(b"dronesense signing state\0" + key).hexdigest()[:16]


def state_path(key: bytes, folder: str | Path | None = None) -> Path:
    """The state file of ``key``: ``FOLDER/<digest>.json``; the folder defaults to
    ``$DRONESENSE_SIGNING_STATE``, else ``$XDG_STATE_HOME/dronesense/signing``, else
    ``~/.local/state/dronesense/signing``."""
    if folder is None:
        folder = os.environ.get("DRONESENSE_SIGNING_STATE")
    if folder is None:
        base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        folder = Path(base) / "dronesense" / "signing"
    return Path(folder) / f"{_key_id(key)}.json"


def now_timestamp() -> int:
    """The signing clock now: 10 µs units since 2015-01-01 UTC."""
    return max(0, (time.time_ns() // 10_000) - EPOCH_2015 * 100_000)


def is_signed(raw: bytes | bytearray) -> bool:
    """Whether a packet carries a MAVLink 2 signature (the signed flag is set)."""
    return len(raw) > 2 and raw[0] == MAGIC_V2 and bool(raw[2] & IFLAG_SIGNED)


class _Hidden(bytes):
    """Key bytes that never show themselves in a ``repr`` (tracebacks, logs)."""

    def __repr__(self) -> str:
        return "<signing key>"

    __str__ = __repr__


# -- state -----------------------------------------------------------------------------------
class SigningState:
    """Timestamps of one key, kept in a JSON file between runs.

    ``streams`` maps ``(sysid, compid, link_id)`` to the last accepted timestamp;
    ``timestamp`` is the newest time seen or sent. ``path=None`` keeps it in memory only.
    """

    def __init__(self, path: str | Path | None):
        self.path = None if path is None else Path(path)
        self.streams: dict[tuple[int, int, int], int] = {}
        self.timestamp = 0
        self._dirty = False
        if self.path is not None and self.path.exists():
            try:
                doc = json.loads(self.path.read_text())
                self.timestamp = int(doc.get("timestamp", 0))
                for text, ts in doc.get("streams", {}).items():
                    sysid, compid, link = (int(x) for x in text.split(","))
                    self.streams[(sysid, compid, link)] = int(ts)
            except (OSError, ValueError, TypeError, AttributeError):
                raise InputError("signing state file is unreadable; remove it to start "
                                 "afresh (replays are then refused from now on)",
                                 path=self.path) from None

    def accept(self, stream: tuple[int, int, int], timestamp: int) -> bool:
        """Accept ``timestamp`` on ``stream`` if it is newer (and a new stream's is recent
        enough); records it."""
        last = self.streams.get(stream)
        if last is None:
            if timestamp + NEW_STREAM_WINDOW < self.timestamp:
                return False
        elif timestamp <= last:
            return False
        self.streams[stream] = timestamp
        self.timestamp = max(self.timestamp, timestamp)
        self._dirty = True
        return True

    def next_timestamp(self) -> int:
        """A timestamp to send with: the clock, and always after anything seen or sent."""
        ts = max(now_timestamp(), self.timestamp + 1)
        self.timestamp = ts
        self._dirty = True
        return ts

    def save(self) -> None:
        """Write the file (atomically) if anything changed."""
        if self.path is None or not self._dirty:
            return
        doc = {"timestamp": self.timestamp,
               "streams": {f"{s},{c},{k}": ts for (s, c, k), ts in sorted(self.streams.items())}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc) + "\n")
            os.replace(tmp, self.path)
        except OSError as err:
            raise InputError(f"cannot write signing state: {err.strerror or err}",
                             path=self.path) from None
        self._dirty = False


def _state(key: bytes, state) -> SigningState:
    if isinstance(state, SigningState):
        return state
    if state == "default":
        return SigningState(state_path(key))
    return SigningState(state)


def _signature(key: bytes, data: bytes | bytearray) -> bytes:
    return hashlib.sha256(key + bytes(data)).digest()[:6]


def _crc(frame: bytes | bytearray, crc_extra: int) -> int:
    return mavlink.x25crc(bytes(frame[1:]) + bytes((crc_extra,))).crc


# -- signing ---------------------------------------------------------------------------------
class Signer:
    """Sign outgoing MAVLink 2 packets with a key.

    Parameters
    ----------
    key
        The 32-byte key (:func:`load_key`).
    link_id
        This sender's link id (0-255); one per link of a system.
    state
        A :class:`SigningState`, a state file path, ``"default"`` (:func:`state_path`) or
        ``None`` (memory only). Outgoing timestamps never go back, even after a restart.
    """

    def __init__(self, key: bytes, link_id: int = 0, state="default"):
        if len(key) != KEY_BYTES:
            raise ParameterError("key", f"a signing key is {KEY_BYTES} bytes")
        if not 0 <= link_id <= 255:
            raise ParameterError("link_id", f"{link_id}: must be 0..255")
        self._key = _Hidden(key)
        self.link_id = link_id
        self.state = _state(key, state)

    def sign(self, raw: bytes | bytearray) -> bytes:
        """The packet signed: an unsigned MAVLink 2 packet gets the signed flag, its CRC
        again and the 13-byte signature. A signed packet is signed again with this key.

        Raises
        ------
        ParameterError
            For ``raw`` if it is not a MAVLink 2 packet of a known message (MAVLink 1 has no
            signatures).
        """
        if len(raw) < 12 or raw[0] != MAGIC_V2:
            raise ParameterError("raw", "only MAVLink 2 packets can be signed")
        body_end = 10 + raw[1]
        msgid = raw[7] | raw[8] << 8 | raw[9] << 16
        cls = mavlink.mavlink_map.get(msgid)
        if cls is None or len(raw) < body_end + 2:
            raise ParameterError("raw", f"cannot sign message id {msgid}")
        frame = bytearray(raw[:body_end])
        frame[2] |= IFLAG_SIGNED
        frame += struct.pack("<H", _crc(frame, cls.crc_extra))
        ts = self.state.next_timestamp()
        frame += bytes((self.link_id,)) + _TS48.pack(ts & 0xFFFFFFFF, ts >> 32)
        frame += _signature(self._key, frame)
        return bytes(frame)

    def setup(self, mav) -> None:
        """Make a pymavlink ``MAVLink`` object (``conn.mav``) sign what it sends with this key
        and refuse unsigned or badly signed packets, starting from this state's time."""
        mav.signing.secret_key = bytes(self._key)
        mav.signing.link_id = self.link_id
        mav.signing.sign_outgoing = True
        mav.signing.allow_unsigned_callback = None
        mav.signing.timestamp = self.state.next_timestamp()
        mav.signing.stream_timestamps.update(
            {(link, sysid, compid): ts for (sysid, compid, link), ts in self.state.streams.items()})

    def update_from(self, mav) -> None:
        """Take back the times a pymavlink ``MAVLink`` object used and saw (after
        :meth:`setup`), so that :meth:`save` keeps them."""
        st = self.state
        st.timestamp = max(st.timestamp, int(mav.signing.timestamp))
        for (link, sysid, compid), ts in mav.signing.stream_timestamps.items():
            key = (sysid, compid, link)
            st.streams[key] = max(st.streams.get(key, 0), int(ts))
        st._dirty = True

    def save(self) -> None:
        """Persist the timestamps (:meth:`SigningState.save`)."""
        self.state.save()

    def __repr__(self) -> str:
        return f"Signer(link_id={self.link_id})"


class Verifier:
    """Check the signatures of incoming packets against a key, refusing replays.

    Parameters
    ----------
    key
        The 32-byte key.
    state
        As for :class:`Signer` (a verifier and a signer of one program may share one).

    Attributes
    ----------
    counts
        Verdicts given so far, by verdict.
    by_source
        Verdicts other than ``"valid"`` by (sysid, compid) of the packet's header.
    """

    def __init__(self, key: bytes, state="default"):
        if len(key) != KEY_BYTES:
            raise ParameterError("key", f"a signing key is {KEY_BYTES} bytes")
        self._key = _Hidden(key)
        self.state = _state(key, state)
        self.counts: Counter[str] = Counter()
        self.by_source: Counter[tuple[int, int, str]] = Counter()

    def verdict(self, raw: bytes | bytearray) -> str:
        """``"valid"``, ``"unsigned"``, ``"invalid"`` or ``"replayed"`` for one packet (its
        CRC already checked by the framer), and count it."""
        v = self._verdict(raw)
        self.counts[v] += 1
        if v != "valid" and len(raw) > 6:
            src = (raw[5], raw[6]) if raw[0] == MAGIC_V2 else (raw[3], raw[4])
            self.by_source[(src[0], src[1], v)] += 1
        return v

    def _verdict(self, raw: bytes | bytearray) -> str:
        if not is_signed(raw):
            return "unsigned"
        if len(raw) != raw[1] + 12 + SIGNATURE_LEN:
            return "invalid"
        if not hmac.compare_digest(_signature(self._key, raw[:-6]), bytes(raw[-6:])):
            return "invalid"
        lo, hi = _TS48.unpack_from(raw, len(raw) - 12)
        stream = (raw[5], raw[6], raw[-13])
        if not self.state.accept(stream, lo | hi << 32):
            return "replayed"
        return "valid"

    def check(self, packet):
        """Set ``packet.signing`` (a :class:`~dronesense.sources.framing.Packet`) to its
        verdict; returns the packet."""
        packet.signing = self.verdict(packet.raw)
        return packet

    def refused(self) -> int:
        """Packets refused so far (every verdict but ``"valid"``)."""
        return sum(n for v, n in self.counts.items() if v != "valid")

    def summary(self) -> dict:
        """Counts for ``session.json`` and the summaries (never the key)."""
        return {"verdicts": {v: self.counts.get(v, 0) for v in VERDICTS},
                "refused": self.refused(),
                "refused_by_source": {f"{s}:{c} {v}": n
                                      for (s, c, v), n in sorted(self.by_source.items())}}

    def warning(self) -> str | None:
        """One line about refused packets, or ``None`` if every packet was valid."""
        n = self.refused()
        if not n:
            return None
        parts = ", ".join(f"{self.counts[v]} {v}" for v in VERDICTS[1:] if self.counts[v])
        return (f"signing: {n} packet(s) refused ({parts}); kept in the raw record, "
                "not paired")

    def save(self) -> None:
        """Persist the timestamps (:meth:`SigningState.save`)."""
        self.state.save()

    def __repr__(self) -> str:
        return f"Verifier({dict(self.counts)})"


def keep_signed(scan, tlog: str | Path, key: bytes) -> list[str]:
    """Keep in a tlog scan (:class:`~dronesense.sources.tlogscan.TlogScan`) only the
    messages of records validly signed with ``key``, verified in file order (a replay
    inside the log is refused; no state is kept: an old log is verified on its own).

    Returns the warning lines (empty when every record was valid).
    """
    import numpy as np

    from dronesense.sources.framing import TlogReader

    verifier = Verifier(key, state=None)
    valid = [p.offset for p in TlogReader(tlog) if verifier.verdict(p.raw) == "valid"]
    valid_arr = np.asarray(valid, dtype=np.int64)
    for name, cols in scan.messages.items():
        mask = np.isin(np.asarray(cols["_offset"], dtype=np.int64), valid_arr)
        if mask.all():
            continue
        scan.messages[name] = {k: v[mask] for k, v in cols.items()}
        if name in scan.order:
            scan.order[name] = scan.order[name][mask]
    line = verifier.warning()
    return [f"{Path(tlog).name}: {line}"] if line else []
