"""A lender's auto-lending criteria and caps (off until they turn it on), and the log of what it lent and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lending.loans.models import Loan, Share


class AutoLendingSettings(models.Model):
    lender = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auto_lending")
    enabled = models.BooleanField(default=False)
    # Criteria: an empty list means "any".
    sectors = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True)
    genders = models.JSONField(default=list, blank=True)
    allow_group_loans = models.BooleanField(default=True)
    max_partner_default_rate = models.DecimalField(
        max_digits=7, decimal_places=6, null=True, blank=True, help_text="A fraction: 0.02 is 2%."
    )
    min_partner_rating = models.DecimalField(max_digits=2, decimal_places=1, null=True, blank=True)
    max_term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    # How much, and how spread out.
    max_per_loan_cents = models.BigIntegerField(default=2500)
    max_per_partner_cents = models.BigIntegerField(null=True, blank=True)
    max_per_country_cents = models.BigIntegerField(null=True, blank=True)
    max_per_sector_cents = models.BigIntegerField(null=True, blank=True)
    idle_days = models.PositiveSmallIntegerField(default=30, help_text="Lend credit only after it sat this long.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "auto-lending settings"
        constraints = [
            models.CheckConstraint(condition=Q(max_per_loan_cents__gt=0), name="autolending_max_per_loan_positive"),
        ]

    def __str__(self) -> str:
        return f"auto-lending for {self.lender_id} ({'on' if self.enabled else 'off'})"


class AutoLendingLog(models.Model):
    """One share bought by auto-lending, and why that loan was chosen."""

    lender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="+")
    share = models.OneToOneField(Share, on_delete=models.PROTECT, related_name="+")
    amount_cents = models.BigIntegerField()
    reason = models.TextField()
    business_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.amount_cents} to loan {self.loan_id} for lender {self.lender_id}"
