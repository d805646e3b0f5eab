"""Admin for loans: browse everything; every change goes through the services (no edits here)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lending.ledger.admin import ReadOnlyAdmin, money_column
from lending.loans.models import (
    Installment,
    LenderPosition,
    LenderSettlement,
    Loan,
    LoanEvent,
    Repayment,
    RepaymentSplit,
    Share,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InstallmentInline(ReadOnlyInline):
    model = Installment
    fields = ("number", "due_date", "principal_cents", "interest_cents", "fees_cents", "paid_principal_cents",
              "paid_interest_cents", "paid_fees_cents", "paid_on")  # fmt: skip


class EventInline(ReadOnlyInline):
    model = LoanEvent
    fields = ("business_date", "from_status", "to_status", "actor", "reason")


class PositionInline(ReadOnlyInline):
    model = LenderPosition
    fields = ("lender", "lent_cents", "principal_repaid_cents", "interest_received_cents", "written_off_cents",
              "recovered_cents", "refunded_cents")  # fmt: skip


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = ["id", "borrower", "partner", "status", "amount", "raised", "sector", "country",
                    "days_past_due", "created_at"]  # fmt: skip
    list_filter = ["status", "delinquent", "sector", "country", "currency", "partner"]
    search_fields = ["=id", "purpose", "borrower__display_name", "partner__name"]
    list_select_related = ["borrower", "partner"]
    date_hierarchy = "created_at"
    inlines = [EventInline, PositionInline, InstallmentInline]
    amount = money_column("amount_cents", "Amount")
    raised = money_column("raised_cents", "Raised")


@admin.register(LoanEvent)
class LoanEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "from_status", "to_status", "actor", "business_date", "reason"]
    list_filter = ["to_status", "from_status"]
    search_fields = ["=loan__id", "reason", "actor__email"]
    list_select_related = ["loan", "actor"]
    date_hierarchy = "business_date"


@admin.register(Share)
class ShareAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "lender", "amount_cents", "created_at"]
    search_fields = ["=loan__id", "lender__email"]
    list_select_related = ["loan", "lender"]
    date_hierarchy = "created_at"


@admin.register(LenderPosition)
class LenderPositionAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "lender", "lent_cents", "principal_repaid_cents", "interest_received_cents",
                    "written_off_cents", "recovered_cents", "refunded_cents"]  # fmt: skip
    search_fields = ["=loan__id", "lender__email"]
    list_select_related = ["loan", "lender"]


class SplitInline(ReadOnlyInline):
    model = RepaymentSplit
    fields = ("lender", "principal_cents", "interest_cents")


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "amount", "received_on", "source", "principal_cents", "interest_cents",
                    "overpayment_cents", "is_recovery", "recorded_by"]  # fmt: skip
    list_filter = ["source", "is_recovery", "currency"]
    search_fields = ["=loan__id", "idempotency_key"]
    list_select_related = ["loan", "recorded_by"]
    date_hierarchy = "received_on"
    inlines = [SplitInline]
    amount = money_column("amount_cents", "Amount")


@admin.register(RepaymentSplit)
class RepaymentSplitAdmin(ReadOnlyAdmin):
    list_display = ["id", "repayment", "lender", "principal_cents", "interest_cents"]
    search_fields = ["=repayment__id", "=repayment__loan__id", "lender__email"]
    list_select_related = ["repayment", "lender"]


@admin.register(LenderSettlement)
class LenderSettlementAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "lender", "kind", "principal_cents", "journal", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=loan__id", "lender__email"]
    list_select_related = ["loan", "lender", "journal"]
