"""A process registers its metrics address for Prometheus' file-based discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orders_cqrs.observability.discovery import register_target


def test_a_process_writes_its_target_with_its_job_and_labels(tmp_path: Path) -> None:
    path = register_target(str(tmp_path), "orders-projector", "0.0.0.0", 9102, projection="summary")
    assert path is not None and path.parent == tmp_path
    assert json.loads(path.read_text()) == [
        {
            "targets": ["127.0.0.1:9102"],
            "labels": {"job": "orders-projector", "projection": "summary"},
        }
    ]
    assert list(tmp_path.glob("*.tmp")) == []  # written aside and renamed: never half a file


def test_nothing_is_registered_without_a_directory_or_a_port(tmp_path: Path) -> None:
    assert register_target("", "orders-relay", "127.0.0.1", 9101) is None
    assert register_target(str(tmp_path), "orders-relay", "127.0.0.1", 0) is None
    assert list(tmp_path.iterdir()) == []


def test_a_job_the_alert_rules_do_not_know_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown job"):
        register_target(str(tmp_path), "orders-worker", "127.0.0.1", 9101)
