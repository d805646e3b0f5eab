"""The Stripe webhook endpoint: verify, store, answer 200 fast; processing happens in a task."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from lending.payments.events import BadWebhook, event_receive
from lending.payments.models import StripeEvent

logger = logging.getLogger(__name__)


def _queue(event_pk: int) -> None:
    from lending.payments.tasks import process_stripe_event

    try:
        process_stripe_event.delay(event_pk)
    except Exception:  # the broker is down: the event is stored, and the sweep queues it later
        logger.exception("could not queue Stripe event %s; the sweep will", event_pk)


@csrf_exempt  # Stripe signs the body instead; a forged or stale request fails the signature check
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        event, first = event_receive(request.body, request.headers.get("Stripe-Signature", ""))
    except BadWebhook as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return JsonResponse({"error": {"code": "bad_webhook", "message": str(exc), "fields": {}}}, status=400)
    if first or event.status == StripeEvent.Status.FAILED:
        transaction.on_commit(lambda: _queue(event.pk))
    return JsonResponse({"received": True, "event": event.event_id, "duplicate": not first})
