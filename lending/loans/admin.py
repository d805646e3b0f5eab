"""Admin for loans: browse everything; every change goes through the services (no edits here)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lending.ledger.admin import ReadOnlyAdmin
from lending.loans.models import Installment, LenderPosition, Loan, LoanEvent, Repayment, RepaymentSplit


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InstallmentInline(ReadOnlyInline):
    model = Installment


class EventInline(ReadOnlyInline):
    model = LoanEvent


class PositionInline(ReadOnlyInline):
    model = LenderPosition


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "borrower",
        "partner",
        "status",
        "amount_cents",
        "raised_cents",
        "currency",
        "sector",
        "country",
    ]
    list_filter = ["status", "sector", "country", "delinquent"]
    search_fields = ["purpose", "borrower__display_name"]
    inlines = [EventInline, PositionInline, InstallmentInline]


class SplitInline(ReadOnlyInline):
    model = RepaymentSplit


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "amount_cents", "currency", "received_on", "source", "is_recovery"]
    list_filter = ["source", "is_recovery"]
    inlines = [SplitInline]
