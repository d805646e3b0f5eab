"""Webhook endpoints, the events collected for them, one delivery per (event, endpoint) and every attempt at it.

Events are read from the loans' own durable rows (see outbox.py), never from signals, so the loan code
does not know webhooks exist. A unique `source_key` per event and a unique (event, endpoint) per delivery
make collecting twice, or by two workers at once, write each row once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import FieldPartner
from lending.loans.models import Loan


class EventType(models.TextChoices):
    LOAN_FUNDED = "loan.funded", "A loan is fully funded"
    LOAN_DISBURSED = "loan.disbursed", "A loan is disbursed (paying back)"
    REPAYMENT_RECORDED = "repayment.recorded", "A repayment is recorded"
    LOAN_LATE = "loan.late", "A loan fell behind (once per lateness episode)"
    LOAN_DEFAULTED = "loan.defaulted", "A loan defaulted"


class WebhookEndpoint(models.Model):
    """A partner's URL and the events it wants; the secret signs every request and is shown only when made."""

    partner = models.ForeignKey(FieldPartner, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    # Kept in clear: it is the HMAC key. After a rotation the previous secret also signs until it expires.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "active"])]

    def __str__(self) -> str:
        return f"{self.url} ({self.partner_id})"


class WebhookEvent(models.Model):
    """Something that happened to a partner's loan, with the payload every endpoint receives unchanged."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="The public event id.")
    type = models.CharField(max_length=30, choices=EventType.choices)
    source_key = models.CharField(max_length=100, unique=True, help_text="The domain row it came from.")
    partner = models.ForeignKey(FieldPartner, on_delete=models.CASCADE, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until a 2xx, or failed after WEBHOOK_MAX_ATTEMPTS."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Empty once delivered or failed.")
    # A sender's lease: taken by a conditional UPDATE, so two workers never send the same attempt.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"event {self.event_id} to endpoint {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per request sent, whatever came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no HTTP answer.")
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.CharField(max_length=500, blank=True, help_text="The first 500 characters.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number_once")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error}"


class CollectCursor(models.Model):
    """How far the collector has read a source table: every row up to `last_id` has become an event."""

    source = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.source} up to {self.last_id}"
