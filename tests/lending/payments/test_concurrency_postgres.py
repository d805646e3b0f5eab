"""On PostgreSQL: money from Stripe moves once however many clicks or deliveries race for it.

Stripe's part is played by the events our services apply (its signed objects, already verified);
the refunds are not sent here (their queueing is recorded instead), so only our writes race.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.payments import withdrawals
from lending.payments.cards import payment_intent_apply
from lending.payments.errors import PaymentRefused
from lending.payments.models import CardPayment, Withdrawal, WithdrawalRefund
from tests.concurrency import run_together
from tests.factories import LenderFactory
from tests.loans import wallet_cents

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _succeeded_deposit(lender, cents: int, n: int) -> CardPayment:
    payment = CardPayment.objects.create(
        purpose=CardPayment.Purpose.DEPOSIT, user=lender, amount_cents=cents, currency="USD",
        request_key=f"deposit-form-{n}", payment_intent_id=f"pi_test_{lender.pk}_{n}",
    )  # fmt: skip
    intent = {"id": payment.payment_intent_id, "status": "succeeded", "amount": cents, "currency": "usd",
              "latest_charge": f"ch_test_{n}"}  # fmt: skip
    payment_intent_apply(intent, NOW)
    return payment


def test_the_same_succeeded_event_applied_by_eight_workers_at_once_credits_once():
    lender = LenderFactory()
    payment = CardPayment.objects.create(
        purpose=CardPayment.Purpose.DEPOSIT, user=lender, amount_cents=5_000, currency="USD",
        request_key="deposit-form-1", payment_intent_id="pi_race",
    )  # fmt: skip
    intent = {"id": "pi_race", "status": "succeeded", "amount": 5_000, "currency": "usd", "latest_charge": "ch_race"}

    results = run_together(8, lambda i: payment_intent_apply(intent, NOW))

    assert all(isinstance(r, CardPayment) for r in results), results
    assert wallet_cents(lender) == 5_000
    assert Journal.objects.filter(idempotency_key="stripe:pi_race:credit").count() == 1
    assert CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.SUCCEEDED
    assert reconcile().ok


def test_a_withdrawal_form_sent_eight_times_at_once_withdraws_once(monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(withdrawals, "_enqueue", queued.append)
    lender = LenderFactory()
    _succeeded_deposit(lender, 10_000, 1)

    results = run_together(
        8, lambda i: withdrawals.withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-form-1")
    )

    assert all(isinstance(r, Withdrawal) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Withdrawal.objects.count() == 1
    assert WithdrawalRefund.objects.get().amount_cents == 6_000
    assert wallet_cents(lender) == 4_000
    assert queued == [results[0].pk]
    assert reconcile().ok


def test_different_withdrawals_racing_never_plan_more_refunds_than_the_deposits_allow(monkeypatch):
    monkeypatch.setattr(withdrawals, "_enqueue", lambda pk: None)
    lender = LenderFactory()
    _succeeded_deposit(lender, 3_000, 1)
    _succeeded_deposit(lender, 5_000, 2)

    results = run_together(
        6, lambda i: withdrawals.withdrawal_request(lender=lender, amount_cents=2_500, request_key=f"withdraw-{i}")
    )

    made = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, PaymentRefused)]
    assert len(made) == 3  # 8,000 refundable: three withdrawals of 2,500
    assert len(refused) == 3
    assert all(r.field == "amount_cents" for r in refused)
    assert sum(r.amount_cents for r in WithdrawalRefund.objects.all()) == 7_500
    for deposit in CardPayment.objects.all():
        assert sum(r.amount_cents for r in deposit.refunds.all()) <= deposit.received_cents
    assert wallet_cents(lender) == 500
    assert reconcile().ok
