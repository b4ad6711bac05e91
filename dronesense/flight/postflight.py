"""Post-flight pairing: any flight log -> events -> lags -> the pairing engine -> samples.

:func:`load_events` opens a log by its type and reduces it to flight events
(:mod:`dronesense.events`), keeping every good message and reporting every skipped byte
range:

=====================  ==============================================================
``.tlog``              :func:`dronesense.sources.tlogscan.scan_tlog` (vectorised), messages
                       translated by :class:`dronesense.sources.messages.MessageAdapter`
session directory      its ``flight.tlog``, as above, with the serial payload readings of
                       its ``payload.csv`` interleaved as the listener pushed them
``.bin``               :func:`dronesense.sources.dataflash.read_dataflash`
``.csv``               :func:`dronesense.sources.csvtrack.read_csv_track` (needs a column map)
=====================  ==============================================================

:func:`pair_logs` then estimates the lags asked for (:func:`dronesense.flight.lag.estimate_lag`,
per vehicle boot segment, combined by inverse variance), and pushes the events through one
:class:`dronesense.flight.pairing.Pairer` per log: the same engine the live listener uses, so the
same messages give the same samples whichever path they came by. The :class:`Summary`
says what was found: duration, vehicles, samples per quantity, paired fraction, gaps,
reboots, lags and every skipped region.

Examples
--------
>>> rows, summary = pair_logs(["flight.tlog"], auto={"ch4"})  # doctest: +SKIP
>>> print("\\n".join(summary.lines()))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dronesense.errors import NoUsableDataError
from dronesense.events import Fix, Reading, Status
from dronesense.flight.lag import LagEstimate, estimate_lag
from dronesense.flight.rows import Flag, SampleRow
from dronesense.flight.state import FlightState, Track
from dronesense.quantities import NameTable, normalise_name
from dronesense.sources.logs import Progress, load_events
from dronesense.sources.tlogscan import SkippedRegion


@dataclass
class _Segment:
    track: Track
    readings: dict = field(default_factory=dict)


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


def _quantity_key(names: NameTable, name: str) -> str:
    hit = names.names.get(normalise_name(name))
    return hit[0] if hit is not None else normalise_name(name)


def _segments(events, names: NameTable, summary: Summary) -> dict[tuple[int, int], _Segment]:
    """Split events by vehicle boot and collect each boot's track and readings.

    Boots, late readings and out-of-order fixes are decided by
    :class:`~dronesense.flight.state.FlightState` exactly as in the pairing engine
    (:class:`~dronesense.flight.pairing.Pairer`): only the autopilot's own times (:class:`Fix`,
    :class:`TimeSync`) reveal a reboot; a reading stamped more than the reboot threshold
    before the latest autopilot time waits for the next one to tell which boot it is in.
    """
    states: dict[int, FlightState] = {}
    suspects: dict[int, list[Reading]] = {}
    segs: dict[tuple[int, int], _Segment] = {}

    def seg_of(st: FlightState) -> _Segment:
        seg = segs.get((st.sysid, st.boot))
        if seg is None:
            seg = segs[(st.sysid, st.boot)] = _Segment(st.track)
        return seg

    def add_reading(st: FlightState, ev: Reading) -> None:
        vals = seg_of(st).readings.setdefault(_quantity_key(names, ev.name), ([], []))
        vals[0].append(ev.time_boot_ms)
        vals[1].append(ev.value)

    for ev, _ in events:
        if isinstance(ev, Status):
            continue
        st = states.get(ev.sysid)
        if st is None:
            st = states[ev.sysid] = FlightState(ev.sysid)
        if isinstance(ev, Reading):
            if st.is_late(ev.time_boot_ms):
                suspects.setdefault(ev.sysid, []).append(ev)
            else:
                add_reading(st, ev)
            continue
        st.observe_time(ev.time_boot_ms)  # an autopilot time (Fix or TimeSync)
        for r in suspects.pop(ev.sysid, ()):
            add_reading(st, r)
        seg = seg_of(st)
        if isinstance(ev, Fix):
            if not seg.track.append(ev):
                summary.out_of_order += 1
            elif not ev.fix_ok:
                summary.no_fix += 1
    for sysid, items in suspects.items():  # end of data: the current boot
        for r in items:
            add_reading(states[sysid], r)
    return segs


def _estimate(segs, key: str, **kw) -> LagEstimate:
    ests = []
    reasons = []
    for seg in segs.values():
        if key not in seg.readings or len(seg.track) < 10:
            continue
        fix_t, fix_ok, fix_pos = seg.track.arrays()
        pos, ft = fix_pos[fix_ok], fix_t[fix_ok]
        t, v = (np.array(a) for a in seg.readings[key])
        est = estimate_lag(ft, pos[:, 0], pos[:, 1], pos[:, 2], t, v, **kw)
        (ests if est.ok else reasons).append(est if est.ok else est.reason)
    if not ests:
        return LagEstimate(math.nan, math.nan, 0, reasons[0] if reasons else "no data")
    w = np.array([1.0 / e.uncertainty_s ** 2 for e in ests])
    lag = float(np.sum(w * [e.lag_s for e in ests]) / w.sum())
    methods = sorted({e.method for e in ests})
    return LagEstimate(lag, float(1.0 / math.sqrt(w.sum())), sum(e.pairs for e in ests),
                       method="+".join(methods))


def _track_stats(segs, max_gap_s: float, summary: Summary) -> None:
    for seg in segs.values():
        if len(seg.track) < 2:
            continue
        t = seg.track.arrays()[0]
        summary.duration_s += (t[-1] - t[0]) / 1000.0
        d = np.diff(t) / 1000.0
        big = d[d > max_gap_s]
        summary.gaps += int(big.size)
        summary.gap_s += float(big.sum())
        if big.size:
            summary.longest_gap_s = max(summary.longest_gap_s, float(big.max()))


def pair_logs(
    paths: Sequence[str | Path],
    *,
    names: NameTable | None = None,
    lags: dict[str, float] | None = None,
    auto: set[str] | None = None,
    auto_all: bool = False,
    max_gap_s: float = 1.0,
    quantities: Sequence[str] | None = None,
    csv_map=None,
    record_map: dict | None = None,
    progress: Progress | None = None,
    lag_options: dict | None = None,
) -> tuple[list[SampleRow], Summary]:
    """Pair the readings of one or more logs with their positions.

    Parameters
    ----------
    paths
        Logs (each paired on its own: no pairing across files).
    names
        Wire name -> quantity table.
    lags
        Declared lags in seconds per quantity key.
    auto, auto_all
        Quantities whose lag is estimated from the data (all of them with ``auto_all``).
        An estimate that fails leaves the declared lag (or none) and adds a warning.
    max_gap_s
        Longest time between fixes that still gives a position.
    quantities
        Keep only rows of these quantity keys (all if omitted).
    csv_map, record_map
        Column mapping for CSV tracks, custom record mapping for DataFlash logs.
    progress
        ``progress(description, done, total)``.
    lag_options
        Extra keyword arguments for :func:`dronesense.flight.lag.estimate_lag`.

    Returns
    -------
    rows, summary

    Raises
    ------
    NoUsableDataError
        If no log gave a single usable reading, with the reason.
    """
    from dronesense.flight.pairing import Pairer

    names = names if names is not None else NameTable.default()
    declared = dict(lags or {})
    auto = set(auto or ())
    summary = Summary()
    rows: list[SampleRow] = []
    wanted = set(quantities) if quantities else None
    reasons = []
    for path in paths:
        log = load_events(path, csv_map=csv_map, record_map=record_map, progress=progress)
        summary.files.append(str(path))
        summary.messages += log.messages
        summary.skipped[str(log.path)] = log.skipped
        summary.warnings.extend(f"{path}: {n}" for n in log.notes)
        if log.skipped:
            total = sum(r.length for r in log.skipped)
            first = log.skipped[0]
            summary.warnings.append(
                f"{log.path}: skipped {len(log.skipped)} bad region(s), {total} bytes "
                f"(first at byte {first.offset}: {first.reason})")
        if not log.events:
            reasons.append(f"{path}: no positions, readings or clock messages")
            continue
        log_names = names
        if log.sensors:
            log_names = names.copy()
            for sensor in log.sensors:
                log_names.add_sensor(sensor)
        segs = _segments(log.events, log_names, summary)
        _track_stats(segs, max_gap_s, summary)
        present = {k for s in segs.values() for k in s.readings}
        to_estimate = (present if auto_all else auto & present)
        if wanted is not None:
            to_estimate &= wanted
        file_lags = dict(declared)
        for key in sorted(to_estimate):
            est = _estimate(segs, key, **(lag_options or {}))
            if est.ok:
                file_lags[key] = est.lag_s
                what = "plume crossings" if est.method == "centroid" else "pairs"
                summary.lags[key] = (est.lag_s, est.uncertainty_s,
                                     f"estimated by {est.method}, {est.pairs} {what}")
            else:
                summary.lags[key] = (math.nan, math.nan, est.reason)
                summary.warnings.append(f"{path}: lag of {key} not estimated: {est.reason}")
        for key in auto - present:
            summary.warnings.append(f"{path}: --lag {key}=auto: no {key} readings")
        for key, val in declared.items():
            summary.lags.setdefault(key, (val, math.nan, "declared"))
        pairer = Pairer(log_names, max_gap_s=max_gap_s, lags=file_lags)
        n = len(log.events)
        step = max(1, n // 100)
        out: list[SampleRow] = []
        push = pairer.push
        for i, (ev, recv) in enumerate(log.events):
            r = push(ev, recv)
            if r:
                out.extend(r)
            if progress is not None and i % step == 0:
                progress(f"pair {Path(path).name}", i, n)
        out.extend(pairer.finish())
        if progress is not None:
            progress(f"pair {Path(path).name}", n, n)
        for sysid, st in pairer.states.items():
            if sysid not in summary.vehicles:
                summary.vehicles.append(sysid)
            summary.reboots[sysid] = summary.reboots.get(sysid, 0) + st.reboots
            for rep in st.clock.reports():
                summary.clocks.append((str(path), sysid, rep))
                if rep["steps"]:
                    summary.warnings.append(
                        f"{path}: sysid {sysid} boot {rep['boot']}: the autopilot's UTC "
                        f"stepped {len(rep['steps'])} time(s); samples follow it")
        if wanted is not None:
            out = [r for r in out if r.quantity in wanted]
        if not out:
            reasons.append(f"{path}: no sensor readings"
                           + (f" of {', '.join(sorted(wanted))}" if wanted else ""))
        rows.extend(out)
    summary.vehicles.sort()
    if len(summary.vehicles) > 1:
        summary.warnings.append(
            f"several vehicles (system ids {', '.join(map(str, summary.vehicles))}): "
            "each is paired with its own track")
    if summary.no_fix:
        summary.warnings.append(f"{summary.no_fix} position(s) without GPS fix "
                                "(lat = lon = 0 or fix type < 3): never used for pairing")
    if summary.out_of_order:
        summary.warnings.append(f"{summary.out_of_order} duplicate or out-of-order "
                                "position(s) dropped")
    for r in rows:
        summary.samples[r.quantity] = summary.samples.get(r.quantity, 0) + 1
        summary.flags[r.flag] = summary.flags.get(r.flag, 0) + 1
        if r.flag == Flag.PAIRED:
            summary.paired[r.quantity] = summary.paired.get(r.quantity, 0) + 1
    if not rows:
        raise NoUsableDataError("nothing usable: " + "; ".join(reasons or ["no readings"]))
    return rows, summary
