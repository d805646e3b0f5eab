"""The platform's business days: each date is closed once, in order, and remembers what its close did."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BusinessDay(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "Closing"
        CLOSED = "closed", "Closed"

    date = models.DateField(unique=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    # Who is closing it and since when: a claim older than CLOSE_CLAIM_SECONDS is taken over.
    claim = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(default=dict, blank=True, help_text="Per step: rows touched and seconds taken.")

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} ({self.state})"
