"""Domain errors. Each carries the stable problem ``type`` the HTTP edge maps it to."""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a business rule; the command changes nothing."""

    problem_type = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class OrderNotFound(DomainError):
    """No order has that id."""

    problem_type = "not-found"


class ProductNotFound(DomainError):
    """No product has that SKU."""

    problem_type = "not-found"


class UnknownSku(DomainError):
    """An order names a SKU the catalogue does not hold."""

    problem_type = "unknown-sku"


class OutOfStock(DomainError):
    """Not enough unreserved stock for one of the order's lines."""

    problem_type = "out-of-stock"

    def __init__(self, sku: str) -> None:
        super().__init__(f"not enough stock of {sku}")
        self.sku = sku


class VersionConflict(DomainError):
    """The client's ``If-Match`` version is not the order's current version."""

    problem_type = "version-conflict"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"order is at version {actual}, the request expected {expected}")
        self.expected = expected
        self.actual = actual


class IllegalTransition(DomainError):
    """The order's status does not allow this command."""

    problem_type = "illegal-transition"


class RefundRuleViolation(DomainError):
    """A refund would break a refund rule (state, amount or window)."""

    problem_type = "refund-rule"


class CaptureRuleViolation(DomainError):
    """A capture would exceed the authorized amount."""

    problem_type = "capture-rule"


class InvalidOrder(DomainError):
    """The order is not well formed (mixed currencies, empty, unknown provider)."""

    problem_type = "validation"


class InventoryConflict(DomainError):
    """Stock cannot be set below what open orders already reserved."""

    problem_type = "inventory-conflict"
