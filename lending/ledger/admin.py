"""Read-only admin for the ledger: staff can look at every row and change none.

`ReadOnlyAdmin` and `money_column` serve every money and log row of the project's admin: money moves
only through the services, and mistakes are corrected by reversing journals, never by an edit.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.money import format_money


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search; no add, change or delete (Django answers 403 to a forged POST too)."""

    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def money_column(field: str, description: str, currency_field: str = "currency") -> Callable[[Any, Model], str]:
    """A list column printing `field` (minor units) as money in the row's currency, sortable by the field."""

    @admin.display(description=description, ordering=field)
    def column(self: Any, row: Model) -> str:
        return format_money(int(getattr(row, field)), str(getattr(row, currency_field)))

    return column


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "type", "currency", "holder", "bound", "debits", "credits", "created_at"]
    list_filter = ["type", "currency", "bound"]
    search_fields = ["code", "name", "holder__email"]
    list_select_related = ["holder"]
    debits = money_column("debits_posted_cents", "Debits posted")
    credits = money_column("credits_posted_cents", "Credits posted")


class TransferInline(admin.TabularInline):
    model = Transfer
    extra = 0
    can_delete = False
    fields = ("debit_account", "credit_account", "amount_cents", "currency")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "idempotency_key", "description", "effective_at", "reverses"]
    list_filter = ["kind"]
    search_fields = ["=id", "idempotency_key", "description"]
    date_hierarchy = "effective_at"
    inlines = [TransferInline]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "journal", "debit_account", "credit_account", "amount", "currency"]
    list_filter = ["currency", "journal__kind"]
    search_fields = ["=journal__id", "journal__idempotency_key", "debit_account__code", "credit_account__code"]
    list_select_related = ["journal", "debit_account", "credit_account"]
    amount = money_column("amount_cents", "Amount")
