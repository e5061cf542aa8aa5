"""Draining on SIGTERM: readiness fails first, the server stops accepting only afterwards.

uvicorn's own SIGTERM handling closes the listening socket at once and finishes the requests
in flight. A load balancer that still believes the API ready keeps sending it requests,
which then find nobody listening. So the API drains first: the first SIGTERM makes
``/readyz`` answer 503 while everything else is still served, and only after
``ORDERS_SHUTDOWN_DRAIN_SECONDS`` is uvicorn's handler called, which stops accepting and
waits for the requests in flight. A second SIGTERM (an operator who will not wait) calls it
at once; SIGINT (Ctrl-C) is never delayed.

uvicorn installs its handler with ``signal.signal`` before the app's lifespan starts, in
each worker process, so the lifespan can put this one in front of it, whatever the number
of workers, and put uvicorn's back when it ends.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

# Set once per process, never cleared: a draining process only goes on to stop. An Event,
# not a bool: the flag is set from the event loop and read by requests on the same loop, but
# an Event also keeps a worker thread that reads it honest.
_DRAINING = threading.Event()


def draining() -> bool:
    """Whether this process has been asked to stop and is draining."""
    return _DRAINING.is_set()


def drain_on_sigterm(seconds: float) -> Callable[[], None]:
    """Put the draining handler in front of the server's SIGTERM handler; returns the undo.

    Nothing changes when ``seconds`` is 0, or where no server handler is installed (the app
    served in-process by a test client, outside the main thread).
    """
    server_handler = signal.getsignal(signal.SIGTERM)
    if (
        seconds <= 0
        or not callable(server_handler)
        or threading.current_thread() is not threading.main_thread()
    ):
        return lambda: None
    loop = asyncio.get_running_loop()

    def stop_now() -> None:
        server_handler(signal.SIGTERM, None)

    def on_sigterm() -> None:
        if _DRAINING.is_set():
            log.warning("shutdown_hurried")  # a second SIGTERM: no more waiting
            stop_now()
            return
        _DRAINING.set()
        log.info("shutdown_draining", seconds=seconds)
        loop.call_later(seconds, stop_now)

    # The loop runs the handler as a callback, not inside the signal: it may schedule.
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, server_handler)

    return restore
