"""Register, change, rotate and remove a partner's webhook endpoints; send a delivery again.

Services are keyword-only and own their transaction. Bad input raises Django's ValidationError naming
the field (the API answers 400 with it). Who may call them is the caller's check (selectors.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import FieldPartner, User
from lending.webhooks.addresses import url_refusal
from lending.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
MAX_ROTATION_OVERLAP_HOURS = 168


class WebhookRefused(Exception):
    """The request is well formed but the endpoint's state forbids it (the API answers 409)."""


def new_secret() -> str:
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"


def _clean_url(url: Any) -> str:
    url = str(url or "").strip()
    if not url or len(url) > 500:
        raise ValidationError({"url": "Give a URL of up to 500 characters."})
    refusal = url_refusal(url)
    if refusal is not None:
        raise ValidationError({"url": refusal})
    return url


def _clean_event_types(types: Any) -> list[str]:
    chosen = {str(t) for t in types} if isinstance(types, (list, tuple, set)) else set()
    unknown = sorted(chosen - set(EventType.values))
    if not chosen or unknown:
        raise ValidationError(
            {"event_types": f"Choose one or more of {', '.join(EventType.values)}; unknown: {unknown}."}
        )
    return sorted(chosen)


def _clean_description(text: Any) -> str:
    text = str(text or "").strip()
    if len(text) > 200:
        raise ValidationError({"description": "Keep the description to 200 characters."})
    return text


CLEANERS: dict[str, Callable[[Any], Any]] = {
    "url": _clean_url, "event_types": _clean_event_types, "description": _clean_description, "active": bool,
}  # fmt: skip


def _check_room(partner: FieldPartner) -> None:
    if partner.status == FieldPartner.Status.CLOSED:
        raise ValidationError({"partner": "This field partner is closed."})
    limit = settings.WEBHOOK_MAX_ENDPOINTS_PER_PARTNER
    if WebhookEndpoint.objects.filter(partner=partner).count() >= limit:
        raise ValidationError({"partner": f"A field partner has at most {limit} webhook endpoints; remove one first."})


@transaction.atomic
def webhook_endpoint_create(
    *, partner: FieldPartner, url: str, event_types: Sequence[str], description: str = "", actor: User | None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; returns it and its secret, which the API shows this once."""
    FieldPartner.objects.select_for_update().filter(pk=partner.pk).first()  # one creation per partner at a time
    _check_room(partner)
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        partner=partner, url=_clean_url(url), event_types=_clean_event_types(event_types),
        description=_clean_description(description), secret=secret, created_by=actor,
    )  # fmt: skip
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change the URL, events, description or active flag; each is checked as at creation."""
    unknown = set(changes) - set(CLEANERS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(endpoint, name, CLEANERS[name](value))
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=[*changes, "updated_at"])
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, previous_secret_valid_hours: int = 24
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing (a second v1) for `previous_secret_valid_hours`, 0 to stop it at once."""
    if not 0 <= previous_secret_valid_hours <= MAX_ROTATION_OVERLAP_HOURS:
        raise ValidationError({"previous_secret_valid_hours": f"From 0 to {MAX_ROTATION_OVERLAP_HOURS} hours."})
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret, now = new_secret(), timezone.now()
    locked.previous_secret = locked.secret if previous_secret_valid_hours else ""
    locked.previous_secret_expires_at = (
        now + timedelta(hours=previous_secret_valid_hours) if previous_secret_valid_hours else None
    )
    locked.secret, locked.updated_at = secret, now
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return locked, secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its deliveries and their log (the events stay)."""
    endpoint.delete()


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send again now: one more attempt for a failed delivery, a resend of a delivered one, or a wait cut short."""
    if not WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, active=True).exists():
        raise WebhookRefused("The endpoint is disabled; enable it first.")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now()
    )
    delivery.refresh_from_db()
    return delivery
