"""Errors the loan services raise; each says what was refused and why, and nothing was written."""

from __future__ import annotations


class LoanError(Exception):
    """Base class: the action was refused and changed nothing."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTransition(LoanError):
    def __init__(self, *, loan_id: int, from_status: str, to_status: str) -> None:
        super().__init__(f"loan {loan_id} cannot go from {from_status} to {to_status}")
        self.from_status = from_status
        self.to_status = to_status


class NotAllowed(LoanError):
    """The actor may not do this to this loan."""


class InvalidApplication(LoanError):
    """A loan application field is missing or out of range (the message names it)."""


class ShareRefused(LoanError):
    """A share purchase that would over-fund the loan, is not a multiple of the share size, or is the borrower's own."""


class RepaymentRefused(LoanError):
    """A repayment for a loan that is not paying back, in the wrong currency, or malformed."""
