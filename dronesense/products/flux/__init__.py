"""Emission rates from downwind curtain and box flights (mass balance).

:func:`dronesense.products.flux.estimate.estimate_flux` runs the steps, one module each:
``inputs`` (usable samples, parameter ranges), ``segments`` (legs, passes and curtains from
the track), ``curtains`` (each curtain's samples, the time window, the combined figure),
``wall`` (one curtain's estimate), ``plane`` (curtain line), ``background``,
``interpolation`` (the ``(s, z)`` grid), ``air`` (mass concentrations), ``wind`` (profiles
from the user or fitted to an autopilot's reports), ``wind_series`` (a wind time series put on
each sample), ``budget`` (uncertainty) and ``notes``; ``box`` gives the net flux of a box
flight; ``result`` holds the :class:`~.result.FluxResult`, ``io`` writes and plots it.
"""
