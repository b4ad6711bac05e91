"""Live: a MAVLink link in, a recorded session folder and samples out, while the flight goes on.

:class:`~dronesense.live.listener.Listener` is the receive loop (scriptable from Python;
``dronesense listen`` is a thin shell around it); :mod:`~dronesense.live.recorder` writes the
raw record, the journal and ``session.json`` (:mod:`~dronesense.live.stats`,
:mod:`~dronesense.live.summary`) through the same pipeline as post-flight pairing;
:mod:`~dronesense.live.view` shows the operator what is happening. Only the command line and
the top-level API import this package.
"""
