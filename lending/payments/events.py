"""Stripe's webhook events: verified, stored once by their id, then processed apart from the request.

`event_receive` runs in the webhook request: it checks the signature (with a 300-second tolerance
by default), stores the event (a second delivery of the same id finds it and does nothing more),
and answers fast. `event_process` runs in a Celery task: it dispatches by type to the service
that owns the object; types we do not handle are kept and marked ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lending.payments import cards, disputes, withdrawals
from lending.payments.models import StripeEvent

logger = logging.getLogger(__name__)
E = StripeEvent.Status


class BadWebhook(Exception):
    """The request is not a genuine, fresh Stripe event; the message says why."""


def event_receive(payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify and store the event; returns it and whether this delivery is the first."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BadWebhook("webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty)")
    if not signature:
        raise BadWebhook("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS)
        event = json.loads(text)
    except stripe.SignatureVerificationError as exc:
        raise BadWebhook(f"signature: {exc.user_message or exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise BadWebhook("body: not a JSON event") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadWebhook("body: not a Stripe event (no id or type)")
    if not 0 < len(event["id"]) <= 255 or len(event["type"]) > 100:
        raise BadWebhook("body: the event's id or type is not a Stripe id")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise BadWebhook("body: the event has no data.object")
    try:
        created = datetime.fromtimestamp(int(event["created"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise BadWebhook("body: the event's created is not a timestamp") from None
    fields = {
        "type": event["type"],
        "livemode": bool(event.get("livemode")),
        "stripe_created": created,
        "payload": event,
    }
    try:
        with transaction.atomic():
            stored, first = StripeEvent.objects.get_or_create(event_id=event["id"], defaults=fields)
    except IntegrityError:  # the same event, delivered twice at the same moment
        return StripeEvent.objects.get(event_id=event["id"]), False
    return stored, first


Handler = Callable[[dict[str, Any], datetime], object]

HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": cards.payment_intent_apply,
    "payment_intent.payment_failed": cards.payment_intent_apply,
    "payment_intent.canceled": cards.payment_intent_apply,
    "payment_intent.processing": cards.payment_intent_apply,
    "charge.refunded": lambda obj, _: withdrawals.charge_refunded_apply(obj),
    "refund.created": lambda obj, _: withdrawals.refund_apply(obj),
    "refund.updated": lambda obj, _: withdrawals.refund_apply(obj),
    "refund.failed": lambda obj, _: withdrawals.refund_apply(obj),
    "charge.refund.updated": lambda obj, _: withdrawals.refund_apply(obj),
    "charge.dispute.created": lambda obj, _: disputes.dispute_opened(obj),
    "charge.dispute.closed": lambda obj, _: disputes.dispute_closed(obj),
}


def event_process(event_pk: int) -> StripeEvent:
    """Apply a stored event once. Errors leave it failed with the reason, for the task to retry."""
    event = StripeEvent.objects.get(pk=event_pk)
    if event.status in (E.PROCESSED, E.IGNORED):
        return event
    handler = HANDLERS.get(event.type)
    StripeEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    if handler is None:
        return _finish(event, E.IGNORED, f"event type {event.type} is not handled")
    if event.livemode:
        return _finish(event, E.IGNORED, "live-mode event: this product runs in test mode only")
    try:
        result = handler(event.payload["data"]["object"], event.stripe_created)
    except Exception as exc:
        _finish(event, E.FAILED, f"{exc.__class__.__name__}: {exc}")
        raise
    if result is None or result == []:
        return _finish(event, E.IGNORED, "not one of our payments, refunds or disputes")
    return _finish(event, E.PROCESSED, "")


def _finish(event: StripeEvent, status: str, note: str) -> StripeEvent:
    StripeEvent.objects.filter(pk=event.pk).update(status=status, note=note[:2000], processed_at=timezone.now())
    event.refresh_from_db()
    return event
