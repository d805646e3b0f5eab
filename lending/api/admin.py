"""Read-only admin for the API's own rows: keys (the secret's hash never shown) and the idempotency log."""

from django.contrib import admin

from lending.api.models import ApiKey, IdempotentRequest
from lending.ledger.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "name", "user", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "user__email"]
    list_select_related = ["user"]
    exclude = ["secret_sha256"]


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "caller", "method", "path", "key", "status_code", "created_at"]
    list_filter = ["method", "status_code"]
    search_fields = ["caller", "key", "path"]
    date_hierarchy = "created_at"
