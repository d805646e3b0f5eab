"""Admin for webhooks: endpoints (the secret never shown; staff may pause one), the events and the delivery log."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lending.ledger.admin import ReadOnlyAdmin
from lending.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "partner", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "partner__name"]
    list_select_related = ["partner"]
    # Staff may pause an endpoint here; the rest changes through the API, which checks URLs (SSRF) and events.
    fields = ("partner", "url", "description", "event_types", "active", "previous_secret_expires_at", "created_by",
              "created_at", "updated_at")  # fmt: skip
    readonly_fields = tuple(name for name in fields if name != "active")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made through the API, which shows the secret once


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "partner", "loan", "occurred_at"]
    list_filter = ["type", "partner"]
    search_fields = ["uid", "source_key", "=loan__id"]
    list_select_related = ["partner", "loan"]
    date_hierarchy = "occurred_at"


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "attempted_at", "status_code", "error", "duration_ms", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code"]
    list_filter = ["status"]
    search_fields = ["event__uid", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    inlines = [WebhookAttemptInline]
