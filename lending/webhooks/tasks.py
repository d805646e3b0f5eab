"""Webhook tasks: collect events (every minute), deliver one delivery (retried with backoff), sweep lost ones.

Thin, by id, harmless when delivered twice: a delivery is claimed before it is sent, and collecting is
idempotent by the events' and deliveries' unique keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from lending.webhooks.delivery import webhook_deliveries_overdue, webhook_delivery_attempt
from lending.webhooks.outbox import webhook_events_collect


@shared_task(bind=True, name="lending.webhooks.tasks.deliver", acks_late=True, max_retries=None)
def webhook_deliver(self: Task[Any, Any], delivery_id: int) -> str:
    """One attempt; on failure Celery retries after the backoff (the sweep covers a retry that gets lost)."""
    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in_seconds)
    return outcome.status


def enqueue(delivery_ids: Iterable[int]) -> None:
    """Queue each delivery once the caller's transaction commits (at once outside one)."""
    ids = list(delivery_ids)

    def queue() -> None:
        for pk in ids:
            webhook_deliver.delay(pk)

    transaction.on_commit(queue)


@shared_task(name="lending.webhooks.tasks.collect", acks_late=True)
def collect_webhook_events() -> dict[str, int]:
    """Every minute: new events from the loans' rows, and their deliveries queued."""
    collected = webhook_events_collect()
    enqueue(collected.deliveries)
    return {"events": collected.events, "deliveries": len(collected.deliveries)}


@shared_task(name="lending.webhooks.tasks.sweep", acks_late=True)
def sweep_webhook_deliveries() -> int:
    """Every minute: queue again the deliveries that are overdue (a lost message, a worker that died)."""
    ids = webhook_deliveries_overdue()
    enqueue(ids)
    return len(ids)
