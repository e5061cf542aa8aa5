"""If-Match: a command naming a stale version is refused with both versions; no version passes."""

from __future__ import annotations

import pytest

from orders_cqrs.domain.errors import VersionConflict
from orders_cqrs.domain.values import OrderStatus
from tests.helpers.builders import assert_unchanged, freeze, order_in

CURRENT = 3  # place → authorize → capture


@pytest.mark.parametrize("expected", [None, CURRENT], ids=["no-if-match", "current-version"])
def test_no_or_the_current_version_passes(expected: int | None) -> None:
    order = order_in(OrderStatus.CAPTURED)
    assert order.version == CURRENT
    before = freeze(order)

    order.expect_version(expected)

    assert_unchanged(order, before)


@pytest.mark.parametrize(
    "expected",
    [0, 1, CURRENT - 1, CURRENT + 1, 100],
    ids=["zero", "first", "one-behind", "one-ahead", "far-ahead"],
)
def test_any_other_version_is_a_conflict(expected: int) -> None:
    order = order_in(OrderStatus.CAPTURED)
    before = freeze(order)

    with pytest.raises(VersionConflict) as conflict:
        order.expect_version(expected)

    assert (conflict.value.expected, conflict.value.actual) == (expected, CURRENT)
    assert conflict.value.problem_type == "version-conflict"
    assert str(CURRENT) in conflict.value.detail
    assert_unchanged(order, before)


def test_a_version_read_before_a_command_is_stale_after_it() -> None:
    order = order_in(OrderStatus.AUTHORIZED)
    seen = order.version
    order.expect_version(seen)

    order.capture(amount=None, now=order.updated_at)

    with pytest.raises(VersionConflict) as conflict:
        order.expect_version(seen)
    assert (conflict.value.expected, conflict.value.actual) == (seen, seen + 1)
    order.expect_version(seen + 1)
