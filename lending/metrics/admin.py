"""Read-only admin for the nightly portfolio snapshots: history is recomputed by a new formula version, never edited."""

from django.contrib import admin

from lending.ledger.admin import ReadOnlyAdmin
from lending.metrics.models import PortfolioSnapshot


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "dimension", "key", "currency", "formula_version", "outstanding_principal",
                    "amount_past_due", "par_30_principal", "defaulted_count", "ended_count"]  # fmt: skip
    list_filter = ["dimension", "currency", "formula_version"]
    search_fields = ["key"]
    date_hierarchy = "as_of"
