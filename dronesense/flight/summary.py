"""What a post-flight run found: :class:`Summary` and its printed lines.

:func:`~dronesense.flight.postflight.pair_logs` fills one :class:`Summary` as it goes: each
log read (:meth:`Summary.add_log`), its track (:meth:`Summary.add_track`), the vehicles and
clocks of its pairing (:meth:`Summary.add_vehicles`) and finally the rows
(:meth:`Summary.add_rows`). :meth:`Summary.lines` is what ``dronesense pair`` prints.

Examples
--------
>>> s = Summary(files=["a.tlog"], messages=120, duration_s=60.0, vehicles=[1])
>>> print("\\n".join(s.lines()))
logs: a.tlog (120 messages/records)
duration: 60.0 s of track; vehicles (sysid): 1
paired fraction: no samples
track gaps > max gap: 0 (0.0 s, longest 0.0 s)
reboots: 0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dronesense.flight.boots import Boots, TrackStats
from dronesense.flight.lag import LagEstimate
from dronesense.flight.rows import Flag, SampleRow
from dronesense.flight.state import FlightState
from dronesense.sources.logs import LogEvents
from dronesense.sources.tlogrecords import SkippedRegion

__all__ = ["Summary", "clock_lines"]


@dataclass
class Summary:
    """What a post-flight run found (see :meth:`lines` for the printed form)."""

    files: list[str] = field(default_factory=list)
    messages: int = 0
    duration_s: float = 0.0
    vehicles: list[int] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=dict)
    paired: dict[str, int] = field(default_factory=dict)
    flags: dict[int, int] = field(default_factory=dict)
    gaps: int = 0
    gap_s: float = 0.0
    longest_gap_s: float = 0.0
    reboots: dict[int, int] = field(default_factory=dict)
    no_fix: int = 0
    out_of_order: int = 0
    lags: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    #: clock model per log, vehicle and boot: ``(file, sysid, Clock.report(boot))``
    clocks: list[tuple[str, int, dict]] = field(default_factory=list)
    skipped: dict[str, list[SkippedRegion]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def paired_fraction(self) -> float:
        """Paired rows / all rows (NaN without rows)."""
        total = sum(self.samples.values())
        return sum(self.paired.values()) / total if total else math.nan

    def add_log(self, path: str | Path, log: LogEvents) -> None:
        """Note a log read: its messages, skipped regions and notes."""
        self.files.append(str(path))
        self.messages += log.messages
        self.skipped[str(log.path)] = log.skipped
        self.warnings.extend(f"{path}: {n}" for n in log.notes)
        if log.skipped:
            total = sum(r.length for r in log.skipped)
            first = log.skipped[0]
            self.warnings.append(
                f"{log.path}: skipped {len(log.skipped)} bad region(s), {total} bytes "
                f"(first at byte {first.offset}: {first.reason})")

    def add_track(self, boots: Boots, stats: TrackStats) -> None:
        """Note a log's track: dropped and no-fix positions, duration and gaps."""
        self.out_of_order += boots.out_of_order
        self.no_fix += boots.no_fix
        self.duration_s += stats.duration_s
        self.gaps += stats.gaps
        self.gap_s += stats.gap_s
        self.longest_gap_s = max(self.longest_gap_s, stats.longest_gap_s)

    def add_lag(self, path: str | Path, key: str, est: LagEstimate) -> None:
        """Note the estimated lag of quantity ``key`` in a log (or why there is none)."""
        if est.ok:
            what = "plume crossings" if est.method == "centroid" else "pairs"
            self.lags[key] = (est.lag_s, est.uncertainty_s,
                              f"estimated by {est.method}, {est.pairs} {what}")
        else:
            self.lags[key] = (math.nan, math.nan, est.reason)
            self.warnings.append(f"{path}: lag of {key} not estimated: {est.reason}")

    def add_vehicles(self, path: str | Path, states: Mapping[int, FlightState]) -> None:
        """Note the vehicles a log's pairing saw: reboots and clock models."""
        for sysid, st in states.items():
            if sysid not in self.vehicles:
                self.vehicles.append(sysid)
            self.reboots[sysid] = self.reboots.get(sysid, 0) + st.reboots
            for rep in st.clock.reports():
                self.clocks.append((str(path), sysid, rep))
                if rep["steps"]:
                    self.warnings.append(
                        f"{path}: sysid {sysid} boot {rep['boot']}: the autopilot's UTC "
                        f"stepped {len(rep['steps'])} time(s); samples follow it")

    def add_rows(self, rows: Iterable[SampleRow]) -> None:
        """Count the rows of every log (call once, at the end) and add the closing warnings
        about vehicles and positions."""
        self.vehicles.sort()
        if len(self.vehicles) > 1:
            self.warnings.append(
                f"several vehicles (system ids {', '.join(map(str, self.vehicles))}): "
                "each is paired with its own track")
        if self.no_fix:
            self.warnings.append(f"{self.no_fix} position(s) without GPS fix "
                                 "(lat = lon = 0 or fix type < 3): never used for pairing")
        if self.out_of_order:
            self.warnings.append(f"{self.out_of_order} duplicate or out-of-order "
                                 "position(s) dropped")
        if hasattr(rows, "quantity_code"):  # SampleColumns
            for key, flag, n in _tally_codes(rows):
                self.samples[key] = self.samples.get(key, 0) + n
                self.flags[flag] = self.flags.get(flag, 0) + n
                if flag == Flag.PAIRED:
                    self.paired[key] = self.paired.get(key, 0) + n
            return
        for r in rows:
            self.samples[r.quantity] = self.samples.get(r.quantity, 0) + 1
            self.flags[r.flag] = self.flags.get(r.flag, 0) + 1
            if r.flag == Flag.PAIRED:
                self.paired[r.quantity] = self.paired.get(r.quantity, 0) + 1

    def lines(self, max_regions: int = 20) -> list[str]:
        """The summary as text lines."""
        out = [
            f"logs: {', '.join(self.files)} ({self.messages} messages/records)",
            f"duration: {self.duration_s:.1f} s of track; vehicles (sysid): "
            f"{', '.join(map(str, self.vehicles)) or 'none'}",
        ]
        for q in sorted(self.samples):
            n, p = self.samples[q], self.paired.get(q, 0)
            out.append(f"  {q}: {n} samples, {p} paired ({100.0 * p / n:.1f}%)")
        out.append(f"paired fraction: {100.0 * self.paired_fraction:.1f}%" if self.samples
                   else "paired fraction: no samples")
        out.append(f"track gaps > max gap: {self.gaps} ({self.gap_s:.1f} s, longest "
                   f"{self.longest_gap_s:.1f} s)")
        reboots = sum(self.reboots.values())
        out.append(f"reboots: {reboots}" + (
            f" ({', '.join(f'sysid {k}: {v}' for k, v in self.reboots.items() if v)})"
            if reboots else ""))
        many = len({f for f, _, _ in self.clocks}) > 1
        for path, sysid, rep in self.clocks:
            out.extend(clock_lines(rep, f"clock sysid {sysid} boot {rep['boot']}"
                                   + (f" ({Path(path).name})" if many else "")))
        for q, (lag, unc, how) in sorted(self.lags.items()):
            if math.isfinite(lag):
                out.append(f"lag {q}: {lag:.2f} s ± {unc:.2f} s ({how})"
                           if math.isfinite(unc) else f"lag {q}: {lag:.2f} s ({how})")
            else:
                out.append(f"lag {q}: not estimated ({how})")
        for name, regions in self.skipped.items():
            if not regions:
                continue
            total = sum(r.length for r in regions)
            out.append(f"{name}: skipped {len(regions)} region(s), {total} bytes:")
            for r in regions[:max_regions]:
                out.append(f"  byte {r.offset}: {r.length} bytes, {r.reason}")
            if len(regions) > max_regions:
                out.append(f"  ... {len(regions) - max_regions} more")
        out.extend(f"warning: {w}" for w in self.warnings)
        return out


def clock_lines(rep: dict, label: str) -> list[str]:
    r"""Text lines of one :meth:`dronesense.flight.state.Clock.report` (``pair`` summary).

    Examples
    --------
    >>> rep = {"boot": 0, "syncs": 12, "syncs_used": 10, "syncs_rejected": 1,
    ...        "syncs_ignored": 1, "syncs_waiting": 0, "drift_ppm": 199.6, "jitter_ms": 0.3,
    ...        "steps": [{"time_boot_ms": 120000.0, "utc": "2025-06-14T08:02:02.000000Z",
    ...                   "size_s": 2.0}]}
    >>> print("\n".join(clock_lines(rep, "clock 1/0")))
    clock 1/0: 10 syncs used, 1 rejected, 1 ignored; drift +199.6 ppm; jitter 0.300 ms; 1 step(s)
      UTC step at 120.000 s boot time (2025-06-14T08:02:02.000000Z): +2.000000 s
    """
    drift = rep["drift_ppm"]
    jitter = rep["jitter_ms"]
    head = (f"{label}: {rep['syncs_used']} syncs used, {rep['syncs_rejected']} rejected, "
            f"{rep['syncs_ignored']} ignored; drift "
            + ("not estimated (window too short)" if drift is None else f"{drift:+.1f} ppm")
            + ("" if jitter is None else f"; jitter {jitter:.3f} ms")
            + f"; {len(rep['steps'])} step(s)")
    out = [head]
    for st in rep["steps"]:
        out.append(f"  UTC step at {st['time_boot_ms'] / 1000.0:.3f} s boot time "
                   f"({st['utc']}): {st['size_s']:+.6f} s")
    return out


def _tally_codes(cols) -> list[tuple[str, int, int]]:
    """(quantity key, flag, count) of every (key, flag) present in
    :class:`~dronesense.flight.columns.SampleColumns`, sorted, counted on their integer codes
    (no string per row)."""
    import numpy as np

    if not len(cols):
        return []
    flag = np.asarray(cols.flag, dtype=np.int64)
    code = np.asarray(cols.quantity_code, dtype=np.int64)
    lo = int(flag.min())
    width = int(flag.max()) - lo + 1
    uniq, counts = np.unique(code * width + (flag - lo), return_counts=True)
    total: dict[tuple[str, int], int] = {}
    for u, c in zip(uniq.tolist(), counts.tolist(), strict=True):
        key = (cols.quantities[u // width], u % width + lo)
        total[key] = total.get(key, 0) + c
    return sorted(((k, f, n) for (k, f), n in total.items()), key=lambda t: (t[0], str(t[1])))
