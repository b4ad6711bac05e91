"""Errors the simulator reports to its user as one line.

Examples
--------
>>> err = SimError("missions/x.plan: item 3: unknown command 999")
>>> str(err)
'missions/x.plan: item 3: unknown command 999'
"""

from __future__ import annotations


class SimError(Exception):
    """A user-facing error: the message names the file (or option) and the problem."""
