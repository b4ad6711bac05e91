"""Emission rates from a downwind curtain flight (mass balance).

:func:`dronesense.products.flux.estimate.estimate_flux` runs the steps, one module each:
``inputs`` (usable samples, parameter ranges), ``plane`` (curtain line and passes),
``background``, ``interpolation`` (the ``(s, z)`` grid), ``air`` (mass concentrations),
``wind`` (profiles from the user or fitted to an autopilot's reports), ``budget``
(uncertainty) and ``notes``; ``result`` holds the :class:`~.result.FluxResult`, ``io`` writes
and plots it.
"""
