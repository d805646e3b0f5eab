"""What an import already did: each external record (a Kiva loan, partner, synthetic lender) and our object for it.

One row per (source, kind, external id), written in the same transaction as the object it names,
so a second run of the same file finds every record it already imported and changes nothing, and
a run that crashed part-way resumes after the last loan it committed.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ImportedRecord(models.Model):
    class Kind(models.TextChoices):
        LOAN = "loan", "Loan"
        PARTNER = "partner", "Field partner"
        LENDER = "lender", "Synthetic lender"
        USER = "user", "Importing user"

    source = models.CharField(max_length=20, help_text="Whose ids these are, e.g. 'kiva' (API and Kaggle share them).")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    external_id = models.CharField(max_length=64)
    object_id = models.BigIntegerField(help_text="Our row: Loan, FieldPartner or User id, by kind.")
    batch = models.CharField(
        max_length=64, blank=True, default="", db_index=True, help_text="e.g. 'api:2015-01-05' (the snapshot's date)."
    )
    details = models.JSONField(default=dict, blank=True, help_text="The source's own figures, kept for comparison.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "external_id"], name="imports_record_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.external_id} -> {self.object_id}"
