"""``orders_build_info``: which version runs where, so a dashboard can tell a deploy apart."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from orders_cqrs.observability import metrics

Process = Literal["api", "relay", "projector", "reconciler"]


def package_version() -> str:
    """The installed package's version ("unknown" when run from a tree that is not installed)."""
    try:
        return version("orders-cqrs")
    except PackageNotFoundError:
        return "unknown"


def declare_build_info(process: Process) -> None:
    """Set the build info series of this process (once, at start)."""
    metrics.BUILD_INFO.labels(package_version(), platform.python_version(), process).set(1)
