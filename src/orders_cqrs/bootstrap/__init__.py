"""The composition root: every client, port and the executor are built here and nowhere else.

Each process opens what it needs with ``open_container`` and gets one object that builds
each part on first use and closes all of them at the end of the block.
"""

from orders_cqrs.bootstrap.container import Container, open_container
from orders_cqrs.bootstrap.handlers import build_executor, build_handlers

__all__ = ["Container", "build_executor", "build_handlers", "open_container"]
