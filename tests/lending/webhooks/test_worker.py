"""A real Celery worker, on whichever broker the environment names, delivers a webhook and retries it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from lending.webhooks.models import WebhookAttempt, WebhookDelivery
from lending.webhooks.outbox import webhook_events_collect
from lending.webhooks.tasks import webhook_deliver
from tests.loans import buy
from tests.workers import start_worker, stop_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue() -> Iterator[str]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = start_worker(queue, WEBHOOK_ALLOW_PRIVATE_URLS="true", WEBHOOK_RETRY_SCHEDULE_SECONDS="1")
    try:
        yield queue
    finally:
        stop_worker(process)


def _wait_for(delivery_id: int, status: str, seconds: float = 90) -> WebhookDelivery:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status == status:
            return delivery
        time.sleep(0.2)
    raise AssertionError(f"delivery {delivery_id} is {delivery.status}, not {status}, after {seconds} s")


def test_a_worker_retries_a_failed_attempt_and_delivers(worker_queue, endpoint, receiver, listed, make_lenders):
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    (pk,) = webhook_events_collect().deliveries
    receiver.answer(503)

    webhook_deliver.apply_async(args=[pk], queue=worker_queue)

    delivery = _wait_for(pk, "delivered")
    assert delivery.attempts == 2
    assert list(
        WebhookAttempt.objects.filter(delivery_id=pk).order_by("number").values_list("status_code", flat=True)
    ) == [503, 200]
    assert [r.verified for r in receiver.requests] == [True, True]
