"""Read-only admin for auto-lending: lenders change their own criteria (checked by the service); the log is history."""

from django.contrib import admin

from lending.autolending.models import AutoLendingLog, AutoLendingSettings
from lending.ledger.admin import ReadOnlyAdmin


@admin.register(AutoLendingSettings)
class AutoLendingSettingsAdmin(ReadOnlyAdmin):
    list_display = ["lender", "enabled", "max_per_loan_cents", "idle_days", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["lender__email"]
    list_select_related = ["lender"]


@admin.register(AutoLendingLog)
class AutoLendingLogAdmin(ReadOnlyAdmin):
    list_display = ["id", "business_date", "lender", "loan", "amount_cents", "reason"]
    search_fields = ["lender__email", "=loan__id"]
    list_select_related = ["lender", "loan"]
    date_hierarchy = "business_date"
