"""What each lender wants to hear about, and the digests sent (one per lender per business date)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationPreference(models.Model):
    """Absent means the defaults: every kind on."""

    lender = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs")
    repayments = models.BooleanField(default=True, help_text="Repayments received")
    funded = models.BooleanField(default=True, help_text="Loans I lent to are fully funded")
    late = models.BooleanField(default=True, help_text="Loans I lent to are running late")

    def __str__(self) -> str:
        return f"notification preferences of {self.lender_id}"


class Digest(models.Model):
    """A lender's daily digest: claimed before sending, marked when sent, so a re-run sends nothing twice."""

    lender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    business_date = models.DateField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lender", "business_date"], name="notifications_one_digest_a_day")
        ]

    def __str__(self) -> str:
        return f"digest for {self.lender_id} on {self.business_date}"
