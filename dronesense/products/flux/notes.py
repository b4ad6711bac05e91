"""Notes a user must read when a flux estimate should not be trusted as it is.

Examples
--------
>>> import numpy as np
>>> grid = np.array([[0.0, 1.0, 0.0], [0.0, 0.5, 0.0]])      # closed plume, two levels
>>> quality_notes(QualityFacts(cos_theta=1.0, peak=1.0, noise=0.01, background_error=0.0,
...     emission=5.0, uncertainty=0.5, units="ppm", enhancement=grid,
...     extrapolated_fraction=0.1, lowest_pass=5.0))
['the plume is not closed at the top: the top pass still sees 50% of the largest level-mean \
enhancement; fly higher (the estimate is low)']
>>> len(quality_notes(QualityFacts(cos_theta=0.1, peak=0.0, noise=0.01, background_error=0.0,
...     emission=0.0, uncertainty=0.1, units="ppm", enhancement=0 * grid,
...     extrapolated_fraction=0.0, lowest_pass=5.0, source_distance=-20.0)))
3
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["QualityFacts", "quality_notes"]

#: Beyond this angle (degrees) between the wind and the curtain normal little air crosses it.
MAX_WIND_ANGLE = 70.0


@dataclass(frozen=True)
class QualityFacts:
    """What the notes are judged from.

    ``cos_theta``: wind against the curtain normal; ``peak``, ``noise``,
    ``background_error``: enhancement figures in ``units``; ``emission``, ``uncertainty``:
    g/s; ``enhancement``: the ``(z, s)`` grid; ``lowest_pass`` m; ``source_distance``: m the
    source lies upwind of the curtain (negative: downwind), ``None`` if not given.
    """

    cos_theta: float
    peak: float
    noise: float
    background_error: float
    emission: float
    uncertainty: float
    units: str
    enhancement: np.ndarray
    extrapolated_fraction: float
    lowest_pass: float
    source_distance: float | None = None

    @property
    def across(self) -> bool:
        """The wind crosses the curtain at less than :data:`MAX_WIND_ANGLE` from its normal."""
        return abs(self.cos_theta) >= math.cos(math.radians(MAX_WIND_ANGLE))

    @property
    def detected(self) -> bool:
        """A plume stands out of the noise (and of the background's uncertainty)."""
        return self.peak > 5 * max(self.noise, abs(self.background_error))


def quality_notes(f: QualityFacts) -> list[str]:
    """The notes, in the order they are printed."""
    return _geometry_notes(f) + _plume_notes(f) + _closure_notes(f)


def _geometry_notes(f: QualityFacts) -> list[str]:
    notes = []
    if not f.across:
        theta = math.degrees(math.acos(min(1.0, abs(f.cos_theta))))
        notes.append(f"the wind blows nearly along the curtain ({theta:.0f}° from its normal): "
                     "little air crosses it, so the estimate is close to zero and unreliable; "
                     "check the wind direction or fly the curtain across the wind")
    if f.source_distance is not None and f.source_distance < 0:
        notes.append(f"the curtain is upwind of the source ({-f.source_distance:.0f} m): the "
                     "plume cannot cross it, the estimate is not the source's emission")
    return notes


def _plume_notes(f: QualityFacts) -> list[str]:
    if not f.detected:
        return [f"no plume on the curtain: peak enhancement {f.peak:.3g} {f.units} is within "
                f"5 noise deviations ({f.noise:.2g}); {f.emission:.3g} ± {f.uncertainty:.2g} "
                "g/s is consistent with zero emission through this curtain"]
    if f.emission < 2 * f.uncertainty and f.across:
        return [f"the emission is not significantly above zero ({f.emission:.3g} ± "
                f"{f.uncertainty:.2g} g/s) although a plume is seen (peak {f.peak:.3g} "
                f"{f.units})"]
    return []


def _closure_notes(f: QualityFacts) -> list[str]:
    if not (f.detected and f.emission > 0):
        return []
    notes = []
    enh = f.enhancement
    top_row = enh[-1].mean()
    col_max = enh.mean(axis=0)
    if top_row > 0.1 * enh.mean(axis=1).max():
        notes.append("the plume is not closed at the top: the top pass still sees "
                     f"{100 * top_row / enh.mean(axis=1).max():.0f}% of the largest "
                     "level-mean enhancement; fly higher (the estimate is low)")
    edge_frac = max(col_max[0], col_max[-1]) / max(col_max.max(), 1e-300)
    if edge_frac > 0.1:
        notes.append("the plume is not closed at the sides: the curtain ends still see "
                     f"{100 * edge_frac:.0f}% of the largest column-mean enhancement; "
                     "fly wider (the estimate is low, the background high)")
    if f.extrapolated_fraction > 0.3:
        notes.append(f"{100 * f.extrapolated_fraction:.0f}% of the flux is extrapolated below "
                     f"the lowest pass ({f.lowest_pass:.1f} m): fly lower if you can")
    return notes
