"""API keys for programs (stored hashed, scoped, revocable) and the first answers to idempotent requests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a key may do; a key acts as its user, within these."""

    LOANS_READ = "loans:read", "Read loans (a partner: its own, with their borrowers)"
    LOANS_WRITE = "loans:write", "Create, edit and submit loan drafts; add borrowers (a partner: its own)"
    LOANS_REVIEW = "loans:review", "Approve, reject, disburse, refund and write off loans (staff; a partner: its own)"
    REPAYMENTS_WRITE = "repayments:write", "Post repayments and repayment batches"
    LENDING_WRITE = "lending:write", "Lend from the wallet"
    WALLET_READ = "wallet:read", "Read the wallet, statement and portfolio"
    WALLET_WRITE = "wallet:write", "Start deposits and withdrawals"
    METRICS_READ = "metrics:read", "Read portfolio metrics"
    WEBHOOKS_WRITE = "webhooks:write", "Register webhook endpoints and read their delivery log"


class ApiKey(models.Model):
    """`lk_<prefix>_<secret>`: the prefix finds the row, the secret's SHA-256 proves it; shown once, never stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. 'MIS nightly upload'.")
    prefix = models.CharField(max_length=12, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"lk_{self.prefix}_… ({self.name}, {self.user})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(models.Model):
    """The first answer to an unsafe request under a caller's Idempotency-Key, replayed to its repeats."""

    caller = models.CharField(max_length=40, help_text="user:<id> or key:<id>")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while in progress.")
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="api_idempotency_key_once_per_caller")]

    def __str__(self) -> str:
        return f"{self.caller} {self.method} {self.path} [{self.key}] -> {self.status_code}"
