"""Who may see which endpoints and deliveries: platform staff all of them, a partner's staff their partner's."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from lending.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def managed_partner_id(user: Any) -> int | None:
    """The field partner whose webhooks this user manages (partner staff), else None."""
    if not getattr(user, "is_authenticated", False) or not user.is_partner_staff:
        return None
    staff = getattr(user, "partner_staff", None)
    return staff.partner_id if staff is not None else None


def may_manage_webhooks(user: Any) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False) and user.is_platform_staff)
        or managed_partner_id(user) is not None
    )


def endpoints_visible_to(user: Any) -> QuerySet[WebhookEndpoint]:
    if getattr(user, "is_authenticated", False) and user.is_platform_staff:
        return WebhookEndpoint.objects.all()
    partner_id = managed_partner_id(user)
    return WebhookEndpoint.objects.filter(partner_id=partner_id) if partner_id else WebhookEndpoint.objects.none()


def deliveries_visible_to(user: Any) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__in=endpoints_visible_to(user))


def delivery_log(deliveries: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    """Deliveries with their event and attempts, in three queries however many rows."""
    attempts = Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
    return deliveries.select_related("event").prefetch_related(attempts)
