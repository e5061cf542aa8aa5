"""Risk flags computed at placement. They inform support; they never block a checkout."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Thresholds from settings."""

    large_amount_minor: int
    velocity_max_orders: int


def assess_risk(
    *,
    total: int,
    shipping_country: str,
    customer_country: str | None,
    recent_orders_by_customer: int,
    policy: RiskPolicy,
) -> tuple[str, ...]:
    """Flags for an order about to be placed, in a stable order."""
    flags: list[str] = []
    if total >= policy.large_amount_minor:
        flags.append("large_amount")
    if customer_country is not None and customer_country != shipping_country:
        flags.append("country_mismatch")
    if recent_orders_by_customer >= policy.velocity_max_orders:
        flags.append("high_velocity")
    return tuple(flags)
