"""Delivering: a signed POST to a real local receiver; failures are retried with backoff and logged attempt by
attempt; a dead URL fails after the last attempt; a redirect is not followed; two workers never both send."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from config.settings import base
from lending.webhooks.delivery import retry_delay_seconds, webhook_delivery_attempt
from lending.webhooks.models import WebhookAttempt, WebhookDelivery
from lending.webhooks.outbox import webhook_events_collect
from lending.webhooks.services import webhook_endpoint_rotate_secret, webhook_endpoint_update
from lending.webhooks.signing import verify_signature
from lending.webhooks.tasks import collect_webhook_events, sweep_webhook_deliveries, webhook_deliver
from tests.concurrency import run_together
from tests.lending.webhooks.receiver import Receiver, dead_url
from tests.loans import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(endpoint, listed, make_lenders) -> WebhookDelivery:
    """A pending delivery of `loan.funded` to `endpoint`."""
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    (pk,) = webhook_events_collect().deliveries
    return WebhookDelivery.objects.select_related("event").get(pk=pk)


def log(delivery: WebhookDelivery) -> list[tuple[int, int | None]]:
    return list(
        WebhookAttempt.objects.filter(delivery=delivery).order_by("number").values_list("number", "status_code")
    )


def test_a_delivery_is_a_signed_json_post_and_is_logged(eager, delivery, receiver):
    assert webhook_deliver.delay(delivery.pk).get() == "delivered"

    (got,) = receiver.requests
    event = delivery.event
    assert got.verified
    assert (got.headers["Content-Type"], got.headers["Lending-Event-Type"]) == ("application/json", "loan.funded")
    assert got.headers["Lending-Event-Id"] == str(event.uid)
    assert got.json() == {"id": str(event.uid), "type": "loan.funded", "occurred_at": event.occurred_at.isoformat(),
                          "data": event.payload}  # fmt: skip
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.error, attempt.response_body) == (1, 200, "", "ok")
    assert 0 <= attempt.duration_ms < 2_000


def test_a_receiver_failing_twice_gets_a_third_attempt_and_all_three_are_logged(eager, delivery, receiver):
    receiver.answer(500, 500)

    assert webhook_deliver.delay(delivery.pk).get() == "delivered"

    assert log(delivery) == [(1, 500), (2, 500), (3, 200)]
    assert len(receiver.requests) == 3
    assert all(r.verified for r in receiver.requests)
    assert [r.headers["Lending-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    first = WebhookAttempt.objects.get(delivery=delivery, number=1)
    assert first.response_body.startswith("boom: xxx")
    assert len(first.response_body) == 500
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)


def test_a_dead_url_fails_after_the_last_attempt(eager, delivery, endpoint):
    webhook_endpoint_update(endpoint=endpoint, url=dead_url())

    assert webhook_deliver.delay(delivery.pk).get() == "failed"

    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3, 4]  # WEBHOOK_MAX_ATTEMPTS in these tests
    assert all(a.status_code is None and a.error.startswith("ConnectionError") for a in attempts)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 4, None)
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "skipped"  # a failed delivery stays failed


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(eager, delivery, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_MAX_ATTEMPTS = 1, 1
    receiver.delay_seconds = 2

    assert webhook_deliver.delay(delivery.pk).get() == "failed"

    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (None, "timed out after 1 s")
    assert 900 <= attempt.duration_ms < 2_000


def test_a_redirect_is_not_followed_and_counts_as_a_failure(eager, delivery, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    elsewhere = Receiver()
    receiver.answer(302)
    receiver.location = elsewhere.url
    try:
        assert webhook_deliver.delay(delivery.pk).get() == "failed"
    finally:
        elsewhere.stop()

    assert log(delivery) == [(1, 302)]
    assert elsewhere.requests == []


def test_after_a_failure_the_next_attempt_waits_for_the_backoff(delivery, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [60, 300]
    receiver.answer(500, 500)
    before = timezone.now()

    first = webhook_delivery_attempt(delivery_id=delivery.pk)
    too_soon = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert (first.status, first.retry_in_seconds, too_soon.status) == ("retry", 60, "skipped")
    delivery.refresh_from_db()
    assert before + timedelta(seconds=59) < delivery.next_attempt_at < timezone.now() + timedelta(seconds=61)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_delivery_attempt(delivery_id=delivery.pk).retry_in_seconds == 300
    assert len(receiver.requests) == 2


def test_the_default_backoff_is_1m_5m_30m_2h_then_12h(settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = base.WEBHOOK_RETRY_SCHEDULE_SECONDS  # this suite's own is [0]
    assert [retry_delay_seconds(n) for n in range(1, 8)] == [60, 300, 1_800, 7_200, 43_200, 43_200, 43_200]


def test_a_paused_endpoint_is_sent_nothing_until_it_is_active_again(eager, delivery, endpoint, receiver):
    webhook_endpoint_update(endpoint=endpoint, active=False)

    assert webhook_deliver.delay(delivery.pk).get() == "skipped"
    webhook_endpoint_update(endpoint=endpoint, active=True)
    assert webhook_deliver.delay(delivery.pk).get() == "delivered"

    assert len(receiver.requests) == 1


def test_the_sweep_sends_deliveries_whose_task_was_lost(eager, delivery, receiver, django_capture_on_commit_callbacks):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        swept = sweep_webhook_deliveries()
    with django_capture_on_commit_callbacks(execute=True):
        again = sweep_webhook_deliveries()

    assert (swept, again) == (1, 0)
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_the_sweep_leaves_a_delivery_that_just_fell_due_to_its_own_task(delivery):
    assert sweep_webhook_deliveries() == 0


def test_during_a_rotation_both_secrets_sign_and_then_only_the_new_one(delivery, endpoint, receiver):
    old = receiver.secret
    _, new = webhook_endpoint_rotate_secret(endpoint=endpoint, previous_secret_valid_hours=24)
    receiver.answer(500)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    webhook_endpoint_rotate_secret(endpoint=endpoint, previous_secret_valid_hours=0)
    endpoint.refresh_from_db()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    webhook_delivery_attempt(delivery_id=delivery.pk)

    during, after = receiver.requests
    assert during.headers["Lending-Signature"].count("v1=") == 2
    assert verify_signature(old, during.headers["Lending-Signature"], during.body)
    assert verify_signature(new, during.headers["Lending-Signature"], during.body)
    assert after.headers["Lending-Signature"].count("v1=") == 1
    assert not verify_signature(new, after.headers["Lending-Signature"], after.body)  # rotated again since
    assert verify_signature(endpoint.secret, after.headers["Lending-Signature"], after.body)
    assert json.loads(during.body) == json.loads(after.body)


def test_outside_development_a_private_address_is_not_called(delivery, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS, settings.DEBUG = False, False

    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert outcome.status == "retry"
    assert receiver.requests == []
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.error.startswith("not sent: ")


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_delivery_send_it_once(delivery, receiver):
    receiver.delay_seconds = 0.5

    outcomes = run_together(2, lambda _: webhook_delivery_attempt(delivery_id=delivery.pk).status)

    assert sorted(outcomes) == ["delivered", "skipped"]
    assert len(receiver.requests) == 1
    assert log(delivery) == [(1, 200)]


def test_the_collect_task_queues_what_it_collected_and_the_receiver_gets_it(
    eager, endpoint, receiver, disbursed, make_lenders, django_capture_on_commit_callbacks
):
    (ann,) = make_lenders(1)
    disbursed([(ann, 5_000)])

    with django_capture_on_commit_callbacks(execute=True):
        first = collect_webhook_events()
    with django_capture_on_commit_callbacks(execute=True):
        again = collect_webhook_events()

    assert (first, again) == ({"events": 2, "deliveries": 2}, {"events": 0, "deliveries": 0})
    assert [r.headers["Lending-Event-Type"] for r in receiver.requests] == ["loan.funded", "loan.disbursed"]
    assert all(r.verified for r in receiver.requests)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
