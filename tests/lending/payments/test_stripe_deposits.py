"""Card deposits against the real local Stripe server: credited once by the webhook, whatever the deliveries.

Covered: no credit before Stripe's event; repeated deliveries of one event; a stale failure after a
success; a success after a failure; a declined card.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.payments.cards import deposit_start, payment_retry
from lending.payments.errors import PaymentRefused
from lending.payments.models import CardPayment, StripeEvent
from lending.payments.reconcile import reconcile_stripe
from tests.lending.payments.stripe_flows import (
    CARD_DECLINED,
    all_delivered,
    declined_copy,
    delivered_ok,
    deposit,
    event,
    journals,
    pay,
    processor_cash,
    settled,
    stripe_events,
    stripe_list,
    succeeded_copy,
)
from tests.loans import wallet_cents

pytestmark = pytest.mark.django_db(transaction=True)
P = CardPayment.Status


def credits_of(payment: CardPayment) -> int:
    return Journal.objects.filter(idempotency_key=f"stripe:{payment.payment_intent_id}:credit").count()


def test_a_deposit_is_credited_by_the_webhook_once_and_not_before(stripe_settings, lender):
    payment = deposit_start(lender=lender, amount_cents=7_550, request_key="deposit-once-1")
    assert payment.status == P.AWAITING_CARD
    payment = pay(payment)
    assert payment.status == P.PROCESSING
    assert wallet_cents(lender) == 0  # the card is charged, but Stripe has not said so yet
    (payment,) = settled(stripe_settings, payment)
    assert payment.status == P.SUCCEEDED
    assert payment.received_cents == 7_550
    assert payment.charge_id.startswith("ch_")
    assert wallet_cents(lender) == 7_550
    assert processor_cash() == 7_550
    assert credits_of(payment) == 1
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    assert reconcile().ok
    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches
    assert report.checked == 1


def test_the_same_event_delivered_three_times_credits_the_wallet_once(stripe_settings, live_server, lender):
    (payment,) = settled(stripe_settings, deposit(lender, 5_000, "deposit-thrice-1"))
    (sent,) = stripe_events(stripe_settings, type="payment_intent.succeeded")
    for _ in range(2):
        answer = delivered_ok(live_server.url, sent)  # re-signed now, as Stripe does on a retry
        assert answer == {"received": True, "event": sent["id"], "duplicate": True}
    assert StripeEvent.objects.filter(event_id=sent["id"]).count() == 1
    assert credits_of(payment) == 1
    assert wallet_cents(lender) == 5_000
    assert reconcile().ok


def test_a_second_success_event_with_its_own_id_credits_nothing_more(stripe_settings, live_server, lender):
    (payment,) = settled(stripe_settings, deposit(lender, 5_000, "deposit-twin-1"))
    (sent,) = stripe_events(stripe_settings, type="payment_intent.succeeded")
    answer = delivered_ok(live_server.url, event("payment_intent.succeeded", sent["data"]["object"]))
    assert answer["duplicate"] is False
    assert StripeEvent.objects.count() == 2
    assert credits_of(payment) == 1
    assert wallet_cents(lender) == 5_000
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_an_older_failure_delivered_after_the_success_leaves_the_deposit_succeeded(
    stripe_settings, live_server, lender
):
    (payment,) = settled(stripe_settings, deposit(lender, 4_000, "deposit-late-fail"))
    (sent,) = stripe_events(stripe_settings, type="payment_intent.succeeded")
    late = event("payment_intent.payment_failed", declined_copy(sent["data"]["object"]), created=sent["created"] - 30)
    assert delivered_ok(live_server.url, late)["duplicate"] is False
    payment.refresh_from_db()
    assert (payment.status, payment.failure_message) == (P.SUCCEEDED, "")
    assert credits_of(payment) == 1
    assert wallet_cents(lender) == 4_000
    assert reconcile().ok
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_a_success_arriving_after_a_decline_ends_succeeded_and_credits_once(stripe_settings, live_server, lender):
    # With Stripe itself, Stripe.js confirms the same PaymentIntent again with the second card; localstripe
    # cannot, so its success is the event Stripe would send: the declined PaymentIntent, succeeded.
    payment = deposit(lender, 6_000, "deposit-retry-1", number=CARD_DECLINED)
    assert payment.status == P.FAILED
    (payment,) = settled(stripe_settings, payment)
    assert payment.status == P.FAILED
    (failed,) = stripe_events(stripe_settings, type="payment_intent.payment_failed")
    success = event("payment_intent.succeeded", succeeded_copy(failed["data"]["object"]), created=failed["created"] + 1)
    delivered_ok(live_server.url, success)
    payment.refresh_from_db()
    assert (payment.status, payment.failure_message) == (P.SUCCEEDED, "")
    assert payment.charge_id == success["data"]["object"]["latest_charge"]["id"]
    assert wallet_cents(lender) == 6_000
    # The decline delivered again (a retry of the earlier event) changes nothing.
    assert delivered_ok(live_server.url, failed)["duplicate"] is True
    again = event("payment_intent.payment_failed", failed["data"]["object"], created=failed["created"])
    delivered_ok(live_server.url, again)
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert credits_of(payment) == 1
    assert wallet_cents(lender) == 6_000
    assert reconcile().ok


def test_a_declined_card_fails_the_deposit_with_a_message_and_leaves_the_wallet_alone(stripe_settings, lender):
    payment = deposit(lender, 5_000, "deposit-declined", number=CARD_DECLINED)
    assert payment.status == P.FAILED
    assert payment.failure_message == "Your card was declined."
    (row,) = all_delivered(stripe_settings, count=1)
    assert (row.type, row.status) == ("payment_intent.payment_failed", StripeEvent.Status.PROCESSED)
    payment.refresh_from_db()
    assert payment.status == P.FAILED
    assert payment.failure_message == "Your card was declined."
    assert payment.journal_id is None
    assert payment.received_cents == 0
    assert wallet_cents(lender) == 0
    assert journals("deposit") == 0
    assert reconcile().ok
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_after_a_decline_the_retry_is_a_new_payment_and_the_good_card_is_credited_once(stripe_settings, lender):
    declined = deposit(lender, 5_000, "deposit-retry-new", number=CARD_DECLINED)
    with pytest.raises(PaymentRefused) as refused:
        pay(declined)  # the local server cannot confirm a declined PaymentIntent again
    assert refused.value.field == "payment"
    retry = payment_retry(payment=declined)
    assert payment_retry(payment=declined).pk == retry.pk  # a double click
    assert (retry.amount_cents, retry.status) == (5_000, P.AWAITING_CARD)
    assert retry.payment_intent_id != declined.payment_intent_id
    declined, retry = settled(stripe_settings, declined, pay(retry))
    assert (declined.status, retry.status) == (P.CANCELED, P.SUCCEEDED)
    intents = {pi["id"]: pi["status"] for pi in stripe_list(stripe_settings, "payment_intents")}
    assert intents == {declined.payment_intent_id: "canceled", retry.payment_intent_id: "succeeded"}
    assert wallet_cents(lender) == 5_000
    assert journals("deposit") == 1
    assert reconcile().ok
    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches
