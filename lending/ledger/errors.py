"""Errors the ledger raises; each names what was wrong so a caller can show it to a person."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class: a journal was refused and nothing was written."""


class InvalidJournal(LedgerError):
    """The journal's lines are malformed (no lines, a non-positive amount, an account paying itself...)."""


class CurrencyMismatch(LedgerError):
    """A transfer's currency differs from one of its accounts' currencies."""


class IdempotencyConflict(LedgerError):
    """The idempotency key was already used for a journal with different content."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different journal")
        self.key = key


class InsufficientFunds(LedgerError):
    """Posting would take a bounded account (a lender's wallet, an escrow) past its bound."""

    def __init__(self, *, account_code: str, available_cents: int, requested_cents: int, currency: str) -> None:
        super().__init__(
            f"account {account_code} has {available_cents} {currency} minor units available; "
            f"{requested_cents} requested"
        )
        self.account_code = account_code
        self.available_cents = available_cents
        self.requested_cents = requested_cents
        self.currency = currency


class AlreadyReversed(LedgerError):
    """A journal can be reversed once; this one already was (or is itself a reversal)."""


class ImmutableLedgerRow(LedgerError):
    """Journals and transfers are never updated or deleted; corrections are reversing journals."""
