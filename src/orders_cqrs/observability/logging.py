"""Structured logs (structlog): one JSON line per event in production, readable lines locally.

Every line passes ``redact_text`` (``observability/redaction.py``) on its way out, the lines
of the standard library's loggers (uvicorn's "Exception in ASGI application", the drivers')
included. Tracebacks are plain text, never with local variables: a traceback's locals hold
the request's payment token, and no pattern could find every shape it takes there.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from orders_cqrs.observability.redaction import redact_text


def _redact_values(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask secrets in every string of the event (the formatted traceback included)."""
    return {
        key: redact_text(value) if isinstance(value, str) else value
        for key, value in event_dict.items()
    }


class RedactingFormatter(logging.Formatter):
    """The standard library's lines, with their message and traceback redacted."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """The plain traceback, redacted."""
        return redact_text(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        """The line, redacted (a message may quote a driver's error)."""
        return redact_text(super().format(record))


def configure_logging(*, json: bool, level: int = logging.INFO) -> None:
    """Set up structlog, and the standard library's root handler, once per process."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # The traceback as plain text (no locals) before redaction sees it.
            structlog.processors.format_exc_info,
            _redact_values,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    if not any(isinstance(h.formatter, RedactingFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
