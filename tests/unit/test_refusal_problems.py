"""Refusals that are not order rules answer with problems that say what they are."""

from __future__ import annotations

from orders_cqrs.api.problems import PROBLEMS, REFUSALS, refusal_type
from orders_cqrs.domain.errors import DomainError
from orders_cqrs.failures.refusals import (
    AdminRefusal,
    InvalidQuery,
    RebuildRunning,
    RebuildUnsupported,
    Refusal,
)

ORDER_TYPES = {"illegal-transition", "refund-rule", "capture-rule", "out-of-stock", "unknown-sku"}


def _leaves(cls: type[Refusal]) -> list[type[Refusal]]:
    children = cls.__subclasses__()
    return [leaf for child in children for leaf in _leaves(child)] if children else [cls]


def test_every_refusal_is_mapped_to_a_problem_that_does_not_speak_of_orders() -> None:
    leaves = _leaves(Refusal)
    assert {InvalidQuery, AdminRefusal} <= set(Refusal.__subclasses__())
    for leaf in leaves:
        assert not issubclass(leaf, DomainError), leaf
        assert leaf in REFUSALS, f"{leaf.__name__} has no problem type in api/problems.py"
        kind = refusal_type(leaf("x"))
        assert kind in PROBLEMS and kind not in ORDER_TYPES, (leaf, kind)
        assert "order" not in PROBLEMS[kind][1].lower(), (leaf, PROBLEMS[kind])


def test_a_refused_rebuild_is_a_conflict_named_for_what_was_refused() -> None:
    assert PROBLEMS[refusal_type(RebuildUnsupported("x"))][0] == 409
    assert PROBLEMS[refusal_type(RebuildRunning("x"))][0] == 409
    assert refusal_type(RebuildUnsupported("x")) != refusal_type(RebuildRunning("x"))
