"""Card money in and out through Stripe: what we asked Stripe to do, and every event it told us about.

These rows track Stripe's objects (PaymentIntents, refunds, disputes); the money itself moves only
through the ledger, once per Stripe object, by idempotency keys derived from Stripe's ids.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lending.ledger.models import Journal
from lending.loans.models import Loan, Repayment


class StripeEvent(models.Model):
    """Every webhook event, stored by Stripe's id before it is processed: a second delivery is a no-op."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField(help_text="When Stripe created the event.")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True, help_text="Why it was ignored, or the last error.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.status})"


class CardPayment(models.Model):
    """Money asked for by card through one PaymentIntent: a lender's deposit, or a borrower's repayment."""

    class Purpose(models.TextChoices):
        DEPOSIT = "deposit", "Wallet deposit"
        REPAYMENT = "repayment", "Loan repayment"

    class Status(models.TextChoices):
        AWAITING_CARD = "awaiting_card", "Waiting for the card"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Cancelled"

    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="card_payments")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="card_payments")
    amount_cents = models.BigIntegerField(help_text="What we asked Stripe for.")
    currency = models.CharField(max_length=3)
    request_key = models.CharField(max_length=64, help_text="The form's one-time token: a double click pays once.")
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AWAITING_CARD)
    failure_message = models.CharField(max_length=500, blank=True)
    charge_id = models.CharField(max_length=255, blank=True)
    received_cents = models.BigIntegerField(default=0, help_text="What Stripe says it collected.")
    journal = models.ForeignKey(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    repayment = models.OneToOneField(Repayment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="Creation time of the newest event applied.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "request_key"], name="payments_card_payment_once_per_form"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payments_card_payment_positive"),
            models.CheckConstraint(
                condition=Q(purpose="deposit", loan__isnull=True) | Q(purpose="repayment", loan__isnull=False),
                name="payments_card_payment_loan_iff_repayment",
            ),
        ]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.amount_cents} {self.currency} by user {self.user_id} ({self.status})"


class Withdrawal(models.Model):
    """A lender taking credit out: held at once, paid out by refunding their card deposits, newest first."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being paid out"
        PAID = "paid", "Paid"
        PARTLY_PAID = "partly_paid", "Partly paid, the rest returned to the wallet"
        FAILED = "failed", "Failed, returned to the wallet"

    lender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    request_key = models.CharField(max_length=64)
    method = models.CharField(max_length=20, default="card_refund", help_text="Room for a payout method later.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    paid_cents = models.BigIntegerField(default=0)
    returned_cents = models.BigIntegerField(default=0)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="+", help_text="The hold.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lender", "request_key"], name="payments_withdrawal_once_per_form"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payments_withdrawal_positive"),
        ]

    def __str__(self) -> str:
        return f"withdrawal {self.pk}: {self.amount_cents} {self.currency} ({self.status})"


class WithdrawalRefund(models.Model):
    """One refund of one deposit's charge, paying out part of a withdrawal."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Not sent yet"
        PENDING = "pending", "Sent, waiting for Stripe"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed, returned to the wallet"

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="refunds")
    deposit = models.ForeignKey(CardPayment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.BigIntegerField()
    refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    failure_reason = models.CharField(max_length=500, blank=True)
    journal = models.ForeignKey(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["withdrawal", "deposit"], name="payments_refund_once_per_deposit"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payments_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.refund_id or '(unsent)'} of {self.amount_cents} for withdrawal {self.withdrawal_id}"

    @property
    def idempotency_key(self) -> str:
        return f"withdrawal-refund:{self.pk}"


class Dispute(models.Model):
    """A cardholder's dispute of a deposit: the amount is held from the lender until it is decided."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won: released"
        LOST = "lost", "Lost: booked as a loss"

    dispute_id = models.CharField(max_length=255, unique=True)
    payment = models.ForeignKey(CardPayment, on_delete=models.PROTECT, related_name="disputes")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.OPEN)
    held_from_wallet_cents = models.BigIntegerField(default=0)
    owed_by_lender_cents = models.BigIntegerField(default=0, help_text="Beyond what the wallet held.")
    hold_journal = models.ForeignKey(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    close_journal = models.ForeignKey(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"dispute {self.dispute_id} of {self.amount_cents} ({self.status})"
