"""Structured logs (structlog): one JSON object per line in production, readable lines locally.

Every line of the process comes out in one format: the service's own (structlog) and the
standard library's loggers of uvicorn, SQLAlchemy, alembic and the store clients, which the
root handler renders through structlog's ``ProcessorFormatter`` with the same processors.
Every line passes ``redact_text`` (``observability/redaction.py``) on its way out.
Tracebacks are plain text, never with local variables: a traceback's locals hold the
request's payment token, and no pattern could find every shape it takes there.

uvicorn's access log stays off: ``api/request_log.py`` writes one line per request that
knows the route, the caller and the trace, which uvicorn's does not.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from orders_cqrs.config import Settings
from orders_cqrs.observability.redaction import redact_text

# Libraries that speak at INFO about every statement, request or connection: they log at
# WARNING and above unless the service's level is DEBUG.
CHATTY = (
    "sqlalchemy",
    "orders_cqrs.observability.db_pool",  # the pool class logs as SQLAlchemy's own does
    "opensearch",
    "urllib3",
    "psycopg",
    "redis",
    "httpx",
    "httpcore",
)
# Libraries whose INFO lines are worth reading (a server starting, a migration running).
PLAIN = ("uvicorn", "uvicorn.error", "alembic")


def _redact_values(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask secrets in every string of the event (the formatted traceback included)."""
    return {
        key: redact_text(value) if isinstance(value, str) else value
        for key, value in event_dict.items()
    }


def _orjson(value: Any, **options: Any) -> str:
    # A third of what the standard library's encoder costs, on a line written per request.
    return orjson.dumps(value, **options).decode()


def _renderer(json: bool) -> structlog.typing.Processor:
    if json:
        return structlog.processors.JSONRenderer(serializer=_orjson)
    return structlog.dev.ConsoleRenderer(colors=False)


def _stamp() -> list[structlog.typing.Processor]:
    """What every line gets before it is rendered, whoever logged it."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _finish(json: bool) -> list[structlog.typing.Processor]:
    """The traceback as plain text (no locals) before redaction sees it, then the format."""
    return [structlog.processors.format_exc_info, _redact_values, _renderer(json)]


def stdlib_formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The root handler's formatter: standard library records as the service's lines."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_stamp(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_finish(json)],
    )


def configure_logging(*, json: bool, level: int | str = logging.INFO) -> None:
    """Set up structlog and the standard library's root handler (again on a second call:
    uvicorn's worker processes call it once more with the same settings)."""
    number = logging.getLevelName(level) if isinstance(level, str) else level
    structlog.configure(
        processors=[*_stamp(), *_finish(json)],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(stdlib_formatter(json=json))
    root.addHandler(handler)
    root.setLevel(number)
    for name in CHATTY:
        logging.getLogger(name).setLevel(
            number if number <= logging.DEBUG else max(number, logging.WARNING)
        )
    for name in PLAIN:
        logging.getLogger(name).setLevel(number)
    # The request log replaces it; off even if a uvicorn setting turned it on.
    logging.getLogger("uvicorn.access").disabled = True


def configure_from(settings: Settings) -> None:
    """``configure_logging`` with ORDERS_LOG_FORMAT and ORDERS_LOG_LEVEL."""
    configure_logging(json=settings.logs_json, level=settings.log_level)
