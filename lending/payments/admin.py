"""Read-only admin for payments: Stripe's objects as we recorded them; money moves only through Stripe's events."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lending.ledger.admin import ReadOnlyAdmin
from lending.payments.models import CardPayment, Dispute, StripeEvent, Withdrawal, WithdrawalRefund


@admin.register(CardPayment)
class CardPaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "purpose",
        "user",
        "loan",
        "amount_cents",
        "currency",
        "status",
        "payment_intent_id",
        "created_at",
    ]
    list_filter = ["purpose", "status", "currency"]
    search_fields = ["payment_intent_id", "charge_id", "user__email", "=loan__id"]
    list_select_related = ["user", "loan"]
    date_hierarchy = "created_at"


class WithdrawalRefundInline(admin.TabularInline):
    model = WithdrawalRefund
    extra = 0
    can_delete = False
    fields = ("deposit", "amount_cents", "refund_id", "status", "failure_reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ["id", "lender", "amount_cents", "currency", "status", "paid_cents", "returned_cents", "created_at"]
    list_filter = ["status"]
    search_fields = ["lender__email"]
    list_select_related = ["lender"]
    date_hierarchy = "created_at"
    inlines = [WithdrawalRefundInline]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["dispute_id", "payment", "amount_cents", "status", "held_from_wallet_cents", "owed_by_lender_cents"]
    list_filter = ["status"]
    search_fields = ["dispute_id", "payment__payment_intent_id", "payment__user__email"]
    list_select_related = ["payment"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "note"]
    date_hierarchy = "received_at"
