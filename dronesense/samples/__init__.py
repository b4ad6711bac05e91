"""Samples: sample rows <-> the CF trajectory Dataset, the journal, samples files.

:mod:`~dronesense.samples.dataset` turns rows into the CF ``featureType = "trajectory"``
:class:`xarray.Dataset` and back; :mod:`~dronesense.samples.journal` is the ``samples.csv``
journal written as rows are made; :mod:`~dronesense.samples.files` reads any samples input
and, for a flight log, pairs it through :mod:`dronesense.flight`.
"""
