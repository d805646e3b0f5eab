"""Read-only admin for the ledger: staff can look at every row and change none."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lending.ledger.models import Journal, LedgerAccount, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "type", "currency", "normal_side", "bound", "debits_posted_cents", "credits_posted_cents"]
    list_filter = ["type", "currency"]
    search_fields = ["code", "name"]


class TransferInline(admin.TabularInline):
    model = Transfer
    extra = 0
    can_delete = False
    fields = ("debit_account", "credit_account", "amount_cents", "currency")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "idempotency_key", "effective_at", "reverses"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "description"]
    inlines = [TransferInline]
