"""Flight: events -> flight state -> sample rows.

The second stage of the flow. :mod:`~dronesense.flight.state` keeps each vehicle's position
track (:mod:`~dronesense.flight.track`), clock model (:mod:`~dronesense.flight.clock`) and boot
segments; :mod:`~dronesense.flight.pairing` pairs every reading with the position at the
reading's own time (:mod:`~dronesense.flight.rows`); :mod:`~dronesense.flight.lag` estimates
sensor lags. :mod:`~dronesense.flight.pipeline` is the one driver that the live listener,
``replay`` and post-flight pairing (:mod:`~dronesense.flight.postflight`,
:mod:`~dronesense.flight.boots`, :mod:`~dronesense.flight.summary`) all use.
"""
