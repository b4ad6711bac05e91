"""Sensor models of the air-quality payload.

Each sensor samples the field at the inlet at its own rate, with a first-order response
lag (``lag_s``), Gaussian noise and a declared clock error (``time_offset_s``: the time it
stamps on a reading is the true sample time plus this offset). Readings go out as
NAMED_VALUE_FLOAT with ``time_boot_ms`` = the stamped sample time, as an ArduPilot Lua
script does with ``gcs:send_named_float``.

Sensors are declared in the field TOML as ``[[sensor]]`` tables::

    [[sensor]]
    name = "CH4"          # NAMED_VALUE_FLOAT name, <= 10 characters
    quantity = "ch4"      # a key of [quantities]
    rate_hz = 2.0         # reports per second
    noise = 0.01          # standard deviation, in the quantity's units
    noise_rel = 0.0       # extra standard deviation as a fraction of the value
    lag_s = 1.0           # first-order time constant, s (0 = none)
    time_offset_s = 0.0   # clock error of the stamp, s
    inlet_up = 0.2        # inlet height above the GPS antenna, m
    resolution = 0.0      # reported values are rounded to this step (0 = none)

A barometer is a sensor of the quantity ``pressure``: it reports the ICAO standard atmosphere
at the inlet's altitude above mean sea level in hPa (plus its noise), and needs no
``[quantities.pressure]`` table (:class:`firmware_sim.world.StandardAtmosphere`)::

    [[sensor]]
    name = "PRESS"
    quantity = "pressure"
    rate_hz = 1.0
    noise = 0.02          # hPa

Examples
--------
>>> s = SensorSpec.from_dict({"name": "PM2.5", "quantity": "pm2p5", "rate_hz": 1}, "f")
>>> s.period_ms, s.name
(1000, 'PM2.5')
>>> from firmware_sim.world import Field
>>> field = Field.from_dict({"site": {"ground_alt_amsl": 108.0, "lat": 45.4, "lon": 9.2},
...                          "sensor": [{"name": "PRESS", "quantity": "pressure"}]})
>>> [(spec.name, field.units[spec.quantity]) for spec in sensors_from_field(field, "f")]
[('PRESS', 'hPa')]
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from .errors import SimError


@dataclass(frozen=True)
class SensorSpec:
    """Configuration of one sensor (see the module docstring for the TOML keys)."""

    name: str
    quantity: str
    rate_hz: float = 1.0
    noise: float = 0.0
    noise_rel: float = 0.0
    lag_s: float = 0.0
    time_offset_s: float = 0.0
    inlet_up: float = 0.0
    resolution: float = 0.0
    internal_hz: float = 10.0
    sensor_id: str = ""
    clip_min: float | None = 0.0

    @property
    def period_ms(self) -> int:
        """Reporting period in whole milliseconds."""
        return max(1, round(1000.0 / self.rate_hz))

    @classmethod
    def from_dict(cls, t: dict, where: str) -> SensorSpec:
        """Build from a ``[[sensor]]`` table; ``where`` prefixes error messages."""
        def num(key: str, default: float) -> float:
            v = t.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SimError(f"{where}: {key} must be a number, got {v!r}")
            return float(v)

        name = t.get("name")
        if not isinstance(name, str) or not name or len(name.encode()) > 10:
            raise SimError(f"{where}: name must be a string of 1..10 characters, got {name!r}")
        quantity = t.get("quantity")
        if not isinstance(quantity, str):
            raise SimError(f"{where}: quantity must be a string")
        known = {"name", "quantity", "rate_hz", "noise", "noise_rel", "lag_s", "time_offset_s",
                 "inlet_up", "resolution", "internal_hz", "id", "clip_min"}
        for k in t:
            if k not in known:
                raise SimError(f"{where}: unknown key {k!r}")
        clip = t.get("clip_min", 0.0 if quantity != "temperature" else None)
        spec = cls(name=name, quantity=quantity, rate_hz=num("rate_hz", 1.0),
                   noise=num("noise", 0.0), noise_rel=num("noise_rel", 0.0),
                   lag_s=num("lag_s", 0.0), time_offset_s=num("time_offset_s", 0.0),
                   inlet_up=num("inlet_up", 0.0), resolution=num("resolution", 0.0),
                   internal_hz=num("internal_hz", 10.0),
                   sensor_id=str(t.get("id", name.lower())),
                   clip_min=None if clip is None else float(clip))
        if not (0 < spec.rate_hz <= 100) or not (0 < spec.internal_hz <= 100):
            raise SimError(f"{where}: rate_hz and internal_hz must be in (0, 100]")
        if spec.noise < 0 or spec.noise_rel < 0 or spec.lag_s < 0 or spec.resolution < 0:
            raise SimError(f"{where}: noise, noise_rel, lag_s and resolution must be >= 0")
        return spec


@dataclass
class Reading:
    """One reading: what the sensor reported and the truth behind it."""

    spec: SensorSpec
    t_sample: float  #: true sample time, sim seconds
    e: float  #: inlet position, vehicle frame metres
    n: float
    u: float
    true_value: float  #: field value at the inlet at the sample time
    reported: float  #: float32 value put in the message


class Sensor:
    """Runtime state of one sensor: schedule, lag filter and noise.

    Parameters
    ----------
    spec : SensorSpec
    value_at : callable
        ``value_at(quantity, e, n, u) -> float``: true field value at a vehicle-frame position.
    seed : int
    index : int
        Position of the sensor in the payload (decorrelates the noise and the phase).
    phase_ms : int, optional
        Time of the first report (ms); sensors reporting together in one serial frame share
        it. Default: drawn from the seed.
    """

    def __init__(self, spec: SensorSpec, value_at, seed: int, index: int,
                 phase_ms: int | None = None):
        self.spec = spec
        self.value_at = value_at
        self.rng = random.Random(seed * 1_000_003 + index * 7_919 + 1)
        self.period = spec.period_ms
        self.next_report = 1 + self.rng.randrange(self.period)  # ms, phase in a period
        if phase_ms is not None:
            self.next_report = max(1, int(phase_ms))
        self.internal = max(1, round(1000.0 / spec.internal_hz))
        self.next_internal = self.next_report
        self.y: float | None = None
        self.y_t = 0.0

    def _update(self, t: float, c: float) -> None:
        if self.y is None or self.spec.lag_s <= 0:
            self.y = c
        else:
            a = 1.0 - math.exp(-(t - self.y_t) / self.spec.lag_s)
            self.y += a * (c - self.y)
        self.y_t = t

    def advance(self, t0_ms: int, t1_ms: int, pos) -> list[Reading]:
        """Process the sensor's events in ``(t0_ms, t1_ms]``.

        ``pos(t_ms)`` returns the vehicle-frame (e, n, u) at a time inside the step.
        """
        out: list[Reading] = []
        spec = self.spec
        lagged = spec.lag_s > 0
        while True:
            nxt = min(self.next_report, self.next_internal) if lagged else self.next_report
            if nxt > t1_ms:
                break
            if nxt <= t0_ms:  # catch up after a pause (should not happen)
                nxt = t0_ms + 1
            e, n, u = pos(nxt)
            u += spec.inlet_up
            c = self.value_at(spec.quantity, e, n, u)
            t = nxt / 1000.0
            self._update(t, c)
            if lagged and self.next_internal <= nxt:
                self.next_internal += self.internal
            if self.next_report <= nxt:
                self.next_report += self.period
                v = self.y
                sd = spec.noise + spec.noise_rel * abs(v)
                if sd > 0:
                    v += self.rng.gauss(0.0, sd)
                if spec.clip_min is not None and v < spec.clip_min:
                    v = spec.clip_min
                if spec.resolution > 0:
                    v = round(v / spec.resolution) * spec.resolution
                v = float(np.float32(v))
                out.append(Reading(spec, t, e, n, u, c, v))
        return out


def sensors_from_field(field, where: str) -> list[SensorSpec]:
    """The :class:`SensorSpec` list of a field's ``[[sensor]]`` tables (validated)."""
    specs = []
    names = set()
    for i, t in enumerate(field.sensors):
        spec = SensorSpec.from_dict(t, f"{where}: sensor {i + 1}")
        if spec.quantity not in field.units:
            raise SimError(f"{where}: sensor {i + 1}: quantity {spec.quantity!r} "
                           "is not in [quantities]")
        if spec.name in names:
            raise SimError(f"{where}: sensor {i + 1}: duplicate name {spec.name!r}")
        names.add(spec.name)
        specs.append(spec)
    if not specs:
        raise SimError(f"{where}: no [[sensor]] defined")
    return specs
