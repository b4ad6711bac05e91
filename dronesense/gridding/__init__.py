"""Grid definitions, fast 3D block statistics and CF-complete grid Datasets.

A :class:`GridSpec` says where the voxels are: spacing, region, origin of the local frame and
the vertical reference. It serialises to JSON and to a Dataset attribute, so one definition is
reused across flights. :func:`block_statistics` reduces samples per voxel in one compiled
pass (numba, with a numpy fallback). :func:`grid_dataset` wraps arrays into a CF-1.11 /
ACDD-1.3 Dataset with dims ``(z, y, x)``, a ``crs`` grid mapping, 2-D lat/lon auxiliary
coordinates and provenance. :func:`dronesense.gridding.grid.grid` does all of it from a
samples Dataset, the method chosen by blocked cross-validation
(:mod:`dronesense.gridding.validation`) unless one is given.

Examples
--------
>>> from dronesense.gridding.spec import GridSpec
>>> from dronesense.gridding.blocks import block_statistics
>>> spec = GridSpec(spacing=(10, 10, 5), origin=(52.0, 5.0, 3.0),
...                 region=(-50, 50, -50, 50, 0, 30))
>>> spec.shape
(6, 10, 10)
>>> import numpy as np
>>> stats = block_statistics(spec, ([1.0, 2.0], [1.0, 1.0], [1.0, 1.0]), [4.0, 6.0])
>>> float(stats["mean"][0, 5, 5]), int(stats["count"][0, 5, 5])
(5.0, 2)
>>> GridSpec.from_json(spec.to_json()) == spec
True
"""
