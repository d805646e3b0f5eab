"""Read-only admin for notifications: lenders' preferences (theirs to change) and the digests sent."""

from django.contrib import admin

from lending.ledger.admin import ReadOnlyAdmin
from lending.notifications.models import Digest, NotificationPreference


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["lender", "repayments", "funded", "late"]
    list_filter = ["repayments", "funded", "late"]
    search_fields = ["lender__email"]
    list_select_related = ["lender"]


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ["id", "lender", "business_date", "subject", "sent_at"]
    search_fields = ["lender__email", "subject"]
    list_select_related = ["lender"]
    date_hierarchy = "business_date"
