"""Ledger rows: accounts with cached balances, and immutable journals of balanced transfers.

A Transfer debits one account and credits another with one positive amount, so no row can be
unbalanced. Journals and transfers are append-only: Python refuses to update or delete them and,
on PostgreSQL, so does a trigger (migration 0002). Only `lending.ledger.services` writes them.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact
from django.utils import timezone

from lending.ledger.chart import AccountType, Bound, Side
from lending.ledger.errors import ImmutableLedgerRow


class LedgerAccount(models.Model):
    code = models.CharField(max_length=120, unique=True)
    type = models.CharField(max_length=32, choices=[(t.value, t.value) for t in AccountType])
    currency = models.CharField(max_length=3)
    normal_side = models.CharField(max_length=6, choices=[(s.value, s.value) for s in Side])
    bound = models.CharField(max_length=20, choices=[(b.value, b.value or "none") for b in Bound], blank=True)
    name = models.CharField(max_length=200, blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    # Running totals of posted transfers, updated only by the ledger service in the posting transaction.
    debits_posted_cents = models.BigIntegerField(default=0)
    credits_posted_cents = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(debits_posted_cents__gte=0), name="ledger_account_debits_nonneg"),
            models.CheckConstraint(condition=Q(credits_posted_cents__gte=0), name="ledger_account_credits_nonneg"),
            # The bound, enforced by the database: a wallet can never be overdrawn, whatever the code does.
            models.CheckConstraint(
                condition=~Q(bound=Bound.DEBITS_LE_CREDITS) | Q(debits_posted_cents__lte=F("credits_posted_cents")),
                name="ledger_account_debits_le_credits",
            ),
            models.CheckConstraint(
                condition=~Q(bound=Bound.CREDITS_LE_DEBITS) | Q(credits_posted_cents__lte=F("debits_posted_cents")),
                name="ledger_account_credits_le_debits",
            ),
            models.CheckConstraint(
                condition=Exact(Length("currency"), 3) & Q(currency=Upper("currency")),
                name="ledger_account_currency_iso",
            ),
        ]
        indexes = [models.Index(fields=["type", "currency"])]

    def __str__(self) -> str:
        return self.code

    @property
    def balance_cents(self) -> int:
        """The balance on the account's normal side (a wallet's credit balance is positive)."""
        if self.normal_side == Side.DEBIT:
            return self.debits_posted_cents - self.credits_posted_cents
        return self.credits_posted_cents - self.debits_posted_cents


class ImmutableQuerySet(models.QuerySet[Any]):
    """Bulk updates and deletes are refused: ledger history is only ever appended to."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableLedgerRow(f"{self.model.__name__} rows are immutable; post a reversing journal instead")

    def delete(self) -> NoReturn:
        raise ImmutableLedgerRow(f"{self.model.__name__} rows are immutable; post a reversing journal instead")


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableLedgerRow(f"{type(self).__name__} {self.pk} is immutable; post a reversing journal instead")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableLedgerRow(f"{type(self).__name__} {self.pk} is immutable; post a reversing journal instead")


class Journal(ImmutableModel):
    """One business event (a deposit, a repayment split to 40 lenders): many transfers, posted atomically."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    description = models.CharField(max_length=255, blank=True)
    effective_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    # sha256 of the journal's money content, to tell a replay from a conflicting reuse of a key.
    fingerprint = models.CharField(max_length=64)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    metadata = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.idempotency_key})"


class Transfer(ImmutableModel):
    """Debit one account and credit another with one positive amount in one currency."""

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="transfers")
    debit_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="debit_transfers")
    credit_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="credit_transfers")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="ledger_transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="ledger_transfer_distinct_accounts"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount_cents} {self.currency}: {self.debit_account_id} -> {self.credit_account_id}"
