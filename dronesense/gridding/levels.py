"""Vertical levels of a grid placed on the flown layers.

Survey flights fly level legs at a few heights (layers) and climb between them. A grid whose
levels are centred on multiples of the vertical spacing shows a layer flown at 20 m as 15 m
(or 25 m) when the spacing is 15 m, splits a layer that sits on a voxel face at random
between two panels (altitude noise decides), and gives the take-off climb a near-empty
bottom panel. Here the layers are found in the sample heights (peaks of their distribution;
climbs spread thinly over all heights and make none), the levels are shifted so their
centres fall on the layers, and edge levels that hold no layer and only climb samples are
left out.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> z = np.concatenate([rng.normal(h, 0.3, 400) for h in (20.0, 35.0, 50.0)]
...                    + [np.linspace(0.0, 50.0, 100)])   # the climbs
>>> detect_layers(z).round(1).tolist()
[20.0, 35.0, 50.0]
>>> fit_levels(z, 15.0)    # bottom and top faces: centres 20, 35, 50
(12.5, 57.5)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from dronesense.gridding.gaussian import gaussian_filter1d

__all__ = ["detect_layers", "fit_levels", "level_offset"]

#: Samples within this distance (m) of a density peak belong to its layer.
LAYER_HALF_WIDTH = 1.5


def detect_layers(z: ArrayLike, *, ground: float | None = None, min_share: float = 0.03,
                  min_contrast: float = 2.5, resolution: float = 0.25,
                  smooth: float = 0.75) -> np.ndarray:
    """Heights of the layers flown: where the samples' heights pile up.

    The heights are histogrammed (``resolution`` m bins, Gaussian smoothing of ``smooth`` m);
    a peak is a layer when at least ``min_share`` of the samples lie within
    :data:`LAYER_HALF_WIDTH` of it and its density is ``min_contrast`` times the median
    density over the range of heights flown, gaps between layers included (a steady climb
    or a vertical profile, equally dense everywhere, gives no layer).
    The height of a layer is the median of its samples; layers closer than two half widths
    are one.

    Parameters
    ----------
    z
        Sample heights (m), any order; NaN ignored.
    ground
        Heights below this are the vehicle on the ground, never a layer (``None``: no
        such limit).

    Returns
    -------
    numpy.ndarray
        Layer heights, ascending (empty when the flight has no layers).
    """
    z = np.asarray(z, dtype=float).ravel()
    z = z[np.isfinite(z)]
    if z.size < 20 or np.ptp(z) < resolution:
        return np.zeros(0)
    lo = math.floor(z.min() / resolution) * resolution - 4 * smooth
    edges = lo + resolution * np.arange(math.ceil((z.max() - lo) / resolution) + 9)
    counts, _ = np.histogram(z, edges)
    density = gaussian_filter1d(counts.astype(float), smooth / resolution)
    centres = edges[:-1] + resolution / 2
    flown = density[(centres >= z.min()) & (centres <= z.max())]
    baseline = float(np.median(flown)) if flown.size else 0.0
    peak = (density > 0) & (density >= np.roll(density, 1)) & (density > np.roll(density, -1))
    out: list[float] = []
    zs = np.sort(z)
    for i in np.flatnonzero(peak)[np.argsort(-density[peak])]:
        c = centres[i]
        if ground is not None and c < ground:
            continue
        if density[i] < min_contrast * baseline:
            continue
        a, b = np.searchsorted(zs, [c - LAYER_HALF_WIDTH, c + LAYER_HALF_WIDTH])
        if b - a < min_share * z.size:
            continue
        height = float(np.median(zs[a:b]))
        if all(abs(height - h) >= 2 * LAYER_HALF_WIDTH for h in out):
            out.append(height)
    return np.sort(np.array(out))


def level_offset(layers: ArrayLike, dz: float, weights: ArrayLike | None = None) -> float:
    """The offset ``o`` in ``[0, dz)`` of level centres ``o + k dz`` for the layers: first
    keeping every layer as far from a level face as can be (no layer split between two
    levels by altitude noise), then the layers nearest the centres (least squares, weighted
    by ``weights``), then the lowest layer nearest a centre. Offsets are tried in steps of
    0.1 m (layers are flown at commanded heights; the median of noisy altitudes is a few
    centimetres off them).

    Examples
    --------
    >>> level_offset([20.0, 35.0, 50.0], 15.0), level_offset([20.02, 34.97, 50.0], 5.0)
    (5.0, 0.0)
    >>> level_offset(np.arange(5.0, 61.0, 5.0), 15.0)   # three layers a level
    5.0
    """
    layers = np.asarray(layers, dtype=float)
    w = np.ones(layers.size) if weights is None else np.asarray(weights, dtype=float)
    step = min(0.1, dz / 10)
    trial = step * np.arange(round(dz / step))
    frac = (layers[None, :] - trial[:, None]) / dz
    to_centre = np.abs(frac - np.round(frac)) * dz
    to_face = (dz / 2 - to_centre).min(axis=1)
    keep = to_face >= to_face.max() - step / 2
    cost = np.where(keep, (w[None, :] * to_centre**2).sum(axis=1), np.inf)
    keep &= cost <= cost.min() + 1e-9 * max(cost.min(), 1.0)
    lowest = to_centre[:, int(np.argmin(layers))]
    pick = int(np.flatnonzero(keep)[np.argmin(lowest[keep])])
    return round(float(trial[pick]), 6)


def fit_levels(z: ArrayLike, dz: float, *, ground: float | None = None,
               near_empty: float = 0.5) -> tuple[float, float] | None:
    """Bottom and top faces of levels ``dz`` thick centred on the layers of ``z``.

    The levels are shifted by :func:`level_offset` onto the layers (:func:`detect_layers`)
    and span the heights flown; then an edge level (bottom or top) holding no layer and fewer
    than ``near_empty`` times the median sample count of the layers' levels (only the
    climb) is left out, repeatedly.

    Returns
    -------
    tuple of float or None
        ``(bottom, top)``; ``None`` when the flight has no layers (use regular levels).
    """
    z = np.asarray(z, dtype=float).ravel()
    z = z[np.isfinite(z)]
    layers = detect_layers(z, ground=ground)
    if layers.size == 0:
        return None
    zs = np.sort(z)
    weights = [np.diff(np.searchsorted(zs, [h - LAYER_HALF_WIDTH, h + LAYER_HALF_WIDTH]))[0]
               for h in layers]
    off = level_offset(layers, dz, weights)
    k_lo = math.floor((z.min() - off) / dz + 0.5)
    k_hi = math.floor((z.max() - off) / dz + 0.5)
    centres = off + dz * np.arange(k_lo, k_hi + 1)
    counts, _ = np.histogram(z, np.append(centres - dz / 2, centres[-1] + dz / 2))
    has_layer = np.zeros(centres.size, dtype=bool)
    has_layer[np.clip(np.round((layers - off) / dz).astype(int) - k_lo, 0, centres.size - 1)] = True
    limit = near_empty * float(np.median(counts[has_layer]))
    a, b = 0, centres.size - 1
    while a < b and not has_layer[a] and counts[a] < limit:
        a += 1
    while b > a and not has_layer[b] and counts[b] < limit:
        b -= 1
    return float(centres[a] - dz / 2), float(centres[b] + dz / 2)
