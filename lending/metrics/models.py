"""One row per business date, dimension and group: the portfolio's figures as they stood that day."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PortfolioSnapshot(models.Model):
    class Dimension(models.TextChoices):
        PLATFORM = "platform", "Platform"
        PARTNER = "partner", "Field partner"
        COUNTRY = "country", "Country"
        SECTOR = "sector", "Sector"
        LENDER = "lender", "Lender"

    as_of = models.DateField()
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    key = models.CharField(
        max_length=40, blank=True, help_text="Partner id, country code or sector; blank for the platform."
    )
    currency = models.CharField(max_length=3)
    formula_version = models.PositiveSmallIntegerField()
    loans_by_status = models.JSONField(default=dict, help_text='{"status": {"count": n, "amount": minor units}}')
    outstanding_principal = models.BigIntegerField(default=0)
    amount_past_due = models.BigIntegerField(default=0)
    par_1_principal = models.BigIntegerField(default=0)
    par_30_principal = models.BigIntegerField(default=0)
    par_90_principal = models.BigIntegerField(default=0)
    ended_amount = models.BigIntegerField(default=0)
    ended_count = models.IntegerField(default=0)
    defaulted_count = models.IntegerField(default=0)
    defaulted_balance = models.BigIntegerField(default=0)
    due_to_date = models.BigIntegerField(default=0)
    repaid_to_date = models.BigIntegerField(default=0)
    amount_repaid = models.BigIntegerField(default=0)
    amount_lost = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["as_of", "dimension", "key", "currency"], name="metrics_snapshot_once"),
        ]
        indexes = [models.Index(fields=["dimension", "key", "as_of"])]

    def __str__(self) -> str:
        return f"{self.as_of} {self.dimension} {self.key or '-'} {self.currency}"
