"""Risk flags at placement: large amount, country mismatch, high velocity, in a stable order."""

from __future__ import annotations

import pytest

from orders_cqrs.domain.risk import RiskPolicy, assess_risk

POLICY = RiskPolicy(large_amount_minor=100_000, velocity_max_orders=5)
BIG = POLICY.large_amount_minor
FAST = POLICY.velocity_max_orders


@pytest.mark.parametrize(
    ("total", "shipping", "customer", "recent", "flags"),
    [
        pytest.param(1_000, "DE", "DE", 0, (), id="nothing-unusual"),
        pytest.param(1_000, "DE", None, 0, (), id="customer-country-unknown"),
        pytest.param(BIG - 1, "DE", "DE", 0, (), id="one-cent-below-large"),
        pytest.param(BIG, "DE", "DE", 0, ("large_amount",), id="exactly-large"),
        pytest.param(BIG + 1, "DE", "DE", 0, ("large_amount",), id="above-large"),
        pytest.param(1_000, "FR", "DE", 0, ("country_mismatch",), id="ships-abroad"),
        pytest.param(1_000, "FR", None, 0, (), id="ships-abroad-but-country-unknown"),
        pytest.param(1_000, "DE", "DE", FAST - 1, (), id="one-below-velocity"),
        pytest.param(1_000, "DE", "DE", FAST, ("high_velocity",), id="exactly-velocity"),
        pytest.param(1_000, "DE", "DE", FAST + 3, ("high_velocity",), id="above-velocity"),
        pytest.param(
            BIG, "FR", "DE", 0, ("large_amount", "country_mismatch"), id="large-and-abroad"
        ),
        pytest.param(BIG, "DE", None, FAST, ("large_amount", "high_velocity"), id="large-and-fast"),
        pytest.param(
            1_000, "US", "DE", FAST, ("country_mismatch", "high_velocity"), id="abroad-and-fast"
        ),
        pytest.param(
            BIG * 10,
            "US",
            "DE",
            FAST * 10,
            ("large_amount", "country_mismatch", "high_velocity"),
            id="everything",
        ),
    ],
)
def test_risk_flags(
    total: int, shipping: str, customer: str | None, recent: int, flags: tuple[str, ...]
) -> None:
    assert (
        assess_risk(
            total=total,
            shipping_country=shipping,
            customer_country=customer,
            recent_orders_by_customer=recent,
            policy=POLICY,
        )
        == flags
    )


def test_thresholds_come_from_the_policy() -> None:
    strict = RiskPolicy(large_amount_minor=1, velocity_max_orders=1)

    flags = assess_risk(
        total=1,
        shipping_country="DE",
        customer_country="DE",
        recent_orders_by_customer=1,
        policy=strict,
    )

    assert flags == ("large_amount", "high_velocity")
