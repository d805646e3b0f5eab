"""Read-only admin for the close of business: which dates were closed, when, and what each step did."""

from django.contrib import admin

from lending.jobs.models import BusinessDay
from lending.ledger.admin import ReadOnlyAdmin


@admin.register(BusinessDay)
class BusinessDayAdmin(ReadOnlyAdmin):
    list_display = ["date", "state", "claimed_at", "closed_at"]
    list_filter = ["state"]
    date_hierarchy = "date"
