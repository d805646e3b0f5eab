"""Errors the payment services raise; each names the field or says why, and nothing was written."""

from __future__ import annotations


class PaymentError(Exception):
    """Base class: the request was refused and changed nothing."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PaymentRefused(PaymentError):
    """Bad input (amount out of range, a card the form rejects) or a state that forbids it."""


class StripeUnavailable(PaymentError):
    """Stripe could not be reached, even after retries; nothing was charged, try again."""
