"""Gridding methods behind one scikit-learn-style interface.

Every method follows the contract verde uses: parameters go to ``__init__`` (and show in
``repr``), :meth:`BaseGridder.fit` learns from samples and sets attributes ending in ``_``,
:meth:`BaseGridder.predict` evaluates at points, :meth:`BaseGridder.grid` makes a CF grid
Dataset whose ``made_by`` attribute is ``repr(method)``.

Coordinates are always ``(x, y, z)``: metres east and north of the grid origin and the
vertical coordinate of the grid spec. Flights are layered, so every method takes the
horizontal and vertical scales apart (``anisotropy`` = how many horizontal metres one vertical
metre is worth, or separate kernel widths).

================== ============================================================= ==========
class              estimate, spread                                              support
================== ============================================================= ==========
:class:`BlockReduce` per-voxel mean/median, std, min, max                        voxels with samples
:class:`IDW`       inverse-distance weighting of block means (k-d tree)          ``support`` voxels
:class:`KernelDMV` kernel DM+V (Lilienthal et al. 2009): mean, variance (stored  ``support`` voxels
                   as its root, ``<q>_std``), confidence
:class:`Kriging`   ordinary kriging of block means, fitted variogram (scipy),     ``support`` voxels
                   kriging variance (stored as ``<q>_standard_error``)
================== ============================================================= ==========

Voxels without data support are NaN: no confident numbers without data. Supported are
voxels within ``support`` voxels horizontally (Chebyshev distance, in voxel units) of a
voxel holding a sample on the same level, and voxels between two such voxels at most
``support`` levels above and below (the gap between flown layers); never extrapolated above
the top or below the bottom level of a column.

Examples
--------
>>> import numpy as np
>>> from dronesense.gridding.spec import GridSpec
>>> rng = np.random.default_rng(0)
>>> x, y, z = rng.uniform(0, 100, (3, 2000))
>>> v = x / 10 + z / 50
>>> spec = GridSpec((10, 10, 10), (52, 5, 0), region=(0, 100, 0, 100, 0, 100))
>>> idw = IDW(k=8, anisotropy=1.0).fit((x, y, z), v, spec=spec)
>>> idw
IDW(k=8, radius=None, power=2.0, anisotropy=1.0, block_spacing=None, support=1)
>>> bool(abs(idw.predict(([50.0], [50.0], [50.0]))[0] - 6.0) < 0.2)
True
"""

from __future__ import annotations

from dronesense.errors import ParameterError
from dronesense.gridding.methods.base import BaseGridder
from dronesense.gridding.methods.block import BlockReduce
from dronesense.gridding.methods.dmv import KernelDMV
from dronesense.gridding.methods.idw import IDW
from dronesense.gridding.methods.kriging import Kriging

__all__ = ["IDW", "METHODS", "BaseGridder", "BlockReduce", "KernelDMV", "Kriging",
           "make_method"]

#: Method names of the command line -> classes.
METHODS: dict[str, type[BaseGridder]] = {
    "block": BlockReduce,
    "idw": IDW,
    "dmv": KernelDMV,
    "kriging": Kriging,
}


def make_method(name: str, **params) -> BaseGridder:
    """A method object from its name (``block``, ``idw``, ``dmv``, ``kriging``).

    ``"auto"`` is not one method but a choice among them by cross-validation on the samples:
    :func:`dronesense.gridding.grid.grid` with ``method="auto"`` makes it.

    Examples
    --------
    >>> make_method("idw", k=4).k
    4
    >>> try:
    ...     make_method("auto")
    ... except ValueError as err:
    ...     print(err.parameter, 'grid(samples, quantity, method="auto")' in str(err))
    method True
    """
    if name == "auto":
        raise ParameterError("method", "'auto' chooses a method by cross-validation on the "
                             "samples: use dronesense.gridding.grid.grid(samples, quantity, "
                             'method="auto")')
    try:
        cls = METHODS[name]
    except (KeyError, TypeError):
        raise ParameterError("method", f"unknown method {name!r} (known: {', '.join(METHODS)}; "
                             "and auto in grid())") from None
    return cls(**params)
