"""The worker's heartbeat: when its main loop last finished a round.

A worker whose loop is stuck (its store is down, a call hangs) still answers HTTP from its
metrics thread, so "the port answers" proves nothing. The loop beats after every round it
completes (the relay after a publish pass, a projector after a read and its batch, the
reconciler after a pass) and ``/healthz`` on the metrics port (``worker_http.py``) compares
the beat's age with the worker's threshold.

One per process: a worker process runs one loop. Written by the event loop's thread, read by
the HTTP thread: a float assignment is atomic, no lock is needed.
"""

from __future__ import annotations

import time


class Heartbeat:
    """When the loop last finished a round (monotonic seconds)."""

    def __init__(self) -> None:
        # Starting counts as a beat: a worker gets one threshold to finish its first round.
        self._last = time.monotonic()

    def beat(self) -> None:
        """The loop finished a round."""
        self._last = time.monotonic()

    def age(self) -> float:
        """Seconds since the last round finished."""
        return time.monotonic() - self._last


HEARTBEAT = Heartbeat()
