"""Send one delivery: claim it, POST the signed event, log the attempt, then schedule the next one or give up.

A delivery is claimed by a conditional UPDATE (pending, due, its endpoint active, no live lease), which
also counts the attempt: of two workers holding the same task exactly one sends. No transaction is
open while the request is in flight. A 2xx is delivered; a timeout, a refused connection, a redirect
or any other status is retried after WEBHOOK_RETRY_SCHEDULE_SECONDS, and after WEBHOOK_MAX_ATTEMPTS
the delivery fails. A worker that dies mid-attempt leaves a lease that expires; the sweep then sends
again, so a receiver may see an event twice and should skip an `id` it has seen (at-least-once).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lending.webhooks.addresses import url_refusal
from lending.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from lending.webhooks.signing import HEADER, signature_header

D = WebhookDelivery.Status
KEEP_CHARS = 500
USER_AGENT = "LendAHand-Webhooks/1"


@dataclass(frozen=True)
class Sent:
    """What one request got back: a status code, or an error with no HTTP answer."""

    status_code: int | None
    error: str
    body: str
    duration_ms: int
    at: datetime

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered, retry, failed, or skipped (not due, taken by another worker, endpoint inactive)
    retry_in_seconds: float | None = None


def event_body(event: WebhookEvent) -> bytes:
    """The request body: the same bytes for every endpoint and attempt."""
    envelope = {"id": str(event.uid), "type": event.type, "occurred_at": event.occurred_at.isoformat(),
                "data": event.payload}  # fmt: skip
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap after a rotation lasts."""
    expires = endpoint.previous_secret_expires_at
    previous = [endpoint.previous_secret] if endpoint.previous_secret and expires and expires > now else []
    return [endpoint.secret, *previous]


def _headers(delivery: WebhookDelivery, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Lending-Event-Id": str(delivery.event.uid),
        "Lending-Event-Type": delivery.event.type,
        "Lending-Delivery-Attempt": str(delivery.attempts),
        HEADER: signature_header(signing_secrets(delivery.endpoint, timezone.now()), body),
    }


def _first_chars(response: requests.Response) -> str:
    """At most KEEP_CHARS of the answer, without reading a huge body into memory; the status is what counts."""
    try:
        raw = response.raw.read(KEEP_CHARS * 4, decode_content=True) if response.raw is not None else b""
    except (OSError, urllib3.exceptions.HTTPError):
        return ""
    return raw.decode("utf-8", errors="replace")[:KEEP_CHARS]


def _post(url: str, body: bytes, headers: dict[str, str]) -> Sent:
    at, started = timezone.now(), time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    refusal = url_refusal(url)
    if refusal is not None:
        return Sent(None, f"not sent: {refusal}", "", 0, at)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        with requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                           stream=True) as response:  # fmt: skip
            text = _first_chars(response)
    except requests.Timeout:
        return Sent(None, f"timed out after {timeout} s", "", elapsed(), at)
    except requests.RequestException as exc:
        return Sent(None, f"{type(exc).__name__}: {exc}"[:KEEP_CHARS], "", elapsed(), at)
    return Sent(response.status_code, "", text, elapsed(), at)


def retry_delay_seconds(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failure: the schedule's entry, its last one repeating."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    return int(schedule[min(attempts, len(schedule)) - 1])


def _outcome(attempts: int, sent: Sent) -> tuple[Outcome, dict[str, Any]]:
    now = timezone.now()
    if sent.ok:
        return Outcome(D.DELIVERED), {"status": D.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        return Outcome(D.FAILED), {"status": D.FAILED, "next_attempt_at": None}
    delay = retry_delay_seconds(attempts)
    return Outcome("retry", delay), {"status": D.PENDING, "next_attempt_at": now + timedelta(seconds=delay)}


def _claim(delivery_id: int) -> str | None:
    now, token = timezone.now(), uuid.uuid4().hex
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 4 + 60)
    # Every condition on the delivery's own columns, none through a join: Django turns a join into
    # `id IN (SELECT ...)`, which PostgreSQL does not re-check against the row a concurrent claim just updated.
    active = WebhookEndpoint.objects.filter(active=True).values("pk")
    won = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=D.PENDING, next_attempt_at__lte=now, endpoint_id__in=active
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claim=token, claimed_until=now + lease, attempts=F("attempts") + 1)
    )
    return token if won else None


@transaction.atomic
def _finish(delivery: WebhookDelivery, token: str, sent: Sent) -> Outcome:
    WebhookAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, attempted_at=sent.at, status_code=sent.status_code,
        error=sent.error[:KEEP_CHARS], duration_ms=sent.duration_ms, response_body=sent.body[:KEEP_CHARS],
    )  # fmt: skip
    outcome, fields = _outcome(delivery.attempts, sent)
    WebhookDelivery.objects.filter(pk=delivery.pk, claim=token).update(
        **fields, claim="", claimed_until=None, last_status_code=sent.status_code, last_error=sent.error[:KEEP_CHARS]
    )
    return outcome


def webhook_delivery_attempt(*, delivery_id: int) -> Outcome:
    """Make the next attempt at a delivery if it is due and no one else is making it."""
    token = _claim(delivery_id)
    if token is None:
        return Outcome("skipped")
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    body = event_body(delivery.event)
    sent = _post(delivery.endpoint.url, body, _headers(delivery, body))
    return _finish(delivery, token, sent)


def webhook_deliveries_overdue(*, limit: int = 500) -> list[int]:
    """Pending deliveries due more than WEBHOOK_SWEEP_GRACE_SECONDS ago and not being sent: their task was lost."""
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    rows = (
        WebhookDelivery.objects.filter(status=D.PENDING, next_attempt_at__lte=overdue, endpoint__active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
    )
    return list(rows.values_list("pk", flat=True)[:limit])
