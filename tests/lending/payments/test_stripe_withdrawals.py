"""Withdrawals paid by refunding card deposits at the real local Stripe server, newest deposit first.

Covered: a paid withdrawal and its ledger; the split across two deposits; a refund Stripe refuses
(the money goes back to the wallet); a partly paid withdrawal; a refund that goes pending and then
fails later, told by Stripe's events; the limit on credit that no card deposit can take back.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from lending.ledger.chart import AccountType
from lending.ledger.reconcile import reconcile
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from lending.payments.client import client
from lending.payments.errors import PaymentRefused
from lending.payments.models import Withdrawal, WithdrawalRefund
from lending.payments.reconcile import reconcile_stripe
from lending.payments.withdrawals import withdrawable, withdrawal_pay, withdrawal_request
from tests.lending.payments.stripe_flows import (
    delivered_ok,
    deposit,
    event,
    held,
    journals,
    processor_cash,
    settled,
    stripe_list,
)
from tests.loans import START, wallet_cents
from tests.stripe_server import free_port

pytestmark = pytest.mark.django_db(transaction=True)
R = WithdrawalRefund.Status
W = Withdrawal.Status


def pending_cents(lender) -> int:
    return held(lender, AccountType.PENDING_WITHDRAWAL)


def test_a_withdrawal_is_paid_by_refunding_the_deposit(stripe_settings, lender):
    (paid_in,) = settled(stripe_settings, deposit(lender, 10_000, "withdraw-ok-dep"))
    withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-ok-1")
    withdrawal.refresh_from_db()  # the refund was sent after commit, by the (inline) task
    assert (withdrawal.status, withdrawal.paid_cents, withdrawal.returned_cents) == (W.PAID, 6_000, 0)
    (part,) = withdrawal.refunds.all()
    assert (part.deposit_id, part.amount_cents, part.status) == (paid_in.pk, 6_000, R.SUCCEEDED)
    (refund,) = stripe_list(stripe_settings, "refunds", payment_intent=paid_in.payment_intent_id)
    assert (refund["id"], refund["amount"], refund["status"]) == (part.refund_id, 6_000, "succeeded")
    assert refund["metadata"] == {"withdrawal_refund": str(part.pk), "withdrawal": str(withdrawal.pk)}
    assert wallet_cents(lender) == 4_000
    assert pending_cents(lender) == 0
    assert processor_cash() == 4_000  # 10,000 in by card, 6,000 back out
    assert withdrawable(lender).cents == 4_000
    assert reconcile().ok
    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches


def test_the_same_withdrawal_form_sent_twice_pays_once(stripe_settings, lender):
    settled(stripe_settings, deposit(lender, 10_000, "withdraw-twice-dep"))
    first = withdrawal_request(lender=lender, amount_cents=3_000, request_key="withdraw-twice-1")
    again = withdrawal_request(lender=lender, amount_cents=3_000, request_key="withdraw-twice-1")
    assert again.pk == first.pk
    withdrawal_pay(first.pk)  # the task delivered a second time
    assert len(stripe_list(stripe_settings, "refunds")) == 1
    assert wallet_cents(lender) == 7_000
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_a_withdrawal_refunds_the_newest_deposit_first(stripe_settings, lender):
    older = deposit(lender, 3_000, "withdraw-two-old")
    newer = deposit(lender, 5_000, "withdraw-two-new")
    older, newer = settled(stripe_settings, older, newer)
    withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-two-1")
    withdrawal.refresh_from_db()
    assert withdrawal.status == W.PAID
    parts = {part.deposit_id: (part.amount_cents, part.status) for part in withdrawal.refunds.all()}
    assert parts == {newer.pk: (5_000, R.SUCCEEDED), older.pk: (1_000, R.SUCCEEDED)}
    refunded = {r["payment_intent"]: r["amount"] for r in stripe_list(stripe_settings, "refunds")}
    assert refunded == {newer.payment_intent_id: 5_000, older.payment_intent_id: 1_000}
    assert wallet_cents(lender) == 2_000
    assert pending_cents(lender) == 0
    assert processor_cash() == 2_000
    assert withdrawable(lender).refundable_cents == 2_000  # what the older deposit can still take back
    assert reconcile().ok
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_a_refund_stripe_refuses_returns_the_money_to_the_wallet(stripe_settings, lender):
    settled(stripe_settings, deposit(lender, 10_000, "withdraw-refused-dep"))
    stripe_settings.flush()  # Stripe no longer knows the PaymentIntent: the refund is answered with a 404
    withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-refused-1")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.paid_cents, withdrawal.returned_cents) == (W.FAILED, 0, 6_000)
    (part,) = withdrawal.refunds.all()
    assert part.status == R.FAILED
    assert part.failure_reason.startswith("Stripe refused the refund")
    assert part.refund_id is None
    assert wallet_cents(lender) == 10_000
    assert pending_cents(lender) == 0
    assert processor_cash() == 10_000
    assert journals("withdrawal_returned") == 1
    assert withdrawable(lender).cents == 10_000  # a failed refund takes nothing from what is refundable
    assert reconcile().ok


def test_a_withdrawal_is_partly_paid_when_one_of_its_refunds_is_refused(stripe_settings, lender):
    settled(stripe_settings, deposit(lender, 3_000, "withdraw-partly-old"))
    stripe_settings.flush()  # the older deposit's PaymentIntent is gone from Stripe
    settled(stripe_settings, deposit(lender, 5_000, "withdraw-partly-new"))
    withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-partly-1")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.paid_cents, withdrawal.returned_cents) == (W.PARTLY_PAID, 5_000, 1_000)
    assert sorted(withdrawal.refunds.values_list("amount_cents", "status")) == [
        (1_000, R.FAILED),
        (5_000, R.SUCCEEDED),
    ]
    assert wallet_cents(lender) == 3_000
    assert pending_cents(lender) == 0
    assert processor_cash() == 3_000
    assert reconcile().ok


def test_a_refund_that_fails_after_going_pending_returns_the_money_once(stripe_settings, live_server, lender):
    (paid_in,) = settled(stripe_settings, deposit(lender, 10_000, "withdraw-async-dep"))
    # Stripe is unreachable when the withdrawal is paid out: its refund stays planned, to be retried.
    with override_settings(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}", STRIPE_MAX_NETWORK_RETRIES=0):
        withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-async-1")
    (part,) = withdrawal.refunds.all()
    assert part.status == R.PLANNED
    assert (wallet_cents(lender), pending_cents(lender)) == (4_000, 6_000)
    # Stripe had the request after all, and tells us about the refund: pending, then failed.
    refund = {
        "id": "re_test_async_1",
        "object": "refund",
        "amount": 6_000,
        "currency": "usd",
        "payment_intent": paid_in.payment_intent_id,
        "charge": paid_in.charge_id,
        "metadata": {"withdrawal_refund": str(part.pk), "withdrawal": str(withdrawal.pk)},
        "status": "pending",
    }
    delivered_ok(live_server.url, event("refund.updated", refund))
    part.refresh_from_db()
    assert (part.status, part.refund_id) == (R.PENDING, "re_test_async_1")
    withdrawal.refresh_from_db()
    assert withdrawal.status == W.PENDING
    assert (wallet_cents(lender), pending_cents(lender)) == (4_000, 6_000)
    failed = {**refund, "status": "failed", "failure_reason": "expired_or_canceled_card"}
    delivered_ok(live_server.url, event("refund.failed", failed))
    delivered_ok(live_server.url, event("refund.updated", failed))  # Stripe sends both; the second is a no-op
    part.refresh_from_db()
    assert (part.status, part.failure_reason) == (R.FAILED, "expired_or_canceled_card")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.paid_cents, withdrawal.returned_cents) == (W.FAILED, 0, 6_000)
    assert (wallet_cents(lender), pending_cents(lender)) == (10_000, 0)
    assert journals("withdrawal_returned") == 1
    withdrawal_pay(withdrawal.pk)  # the retry finds nothing left to send
    assert stripe_list(stripe_settings, "refunds") == []
    assert wallet_cents(lender) == 10_000
    assert reconcile().ok


def test_a_refund_whose_answer_was_lost_is_settled_by_stripes_event_and_never_sent_twice(
    stripe_settings, live_server, lender
):
    (paid_in,) = settled(stripe_settings, deposit(lender, 10_000, "withdraw-lost-dep"))
    with override_settings(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}", STRIPE_MAX_NETWORK_RETRIES=0):
        withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-lost-1")
    (part,) = withdrawal.refunds.all()
    assert part.status == R.PLANNED
    # Stripe did make the refund (the request our task sent); only its answer was lost on the way back.
    made = client().v1.refunds.create(
        params={"payment_intent": paid_in.payment_intent_id, "amount": 6_000,
                "metadata": {"withdrawal_refund": str(part.pk), "withdrawal": str(withdrawal.pk)}},
    )  # fmt: skip
    (charge,) = stripe_list(stripe_settings, "charges")
    assert [r["id"] for r in charge["refunds"]["data"]] == [made.id]
    delivered_ok(live_server.url, event("charge.refunded", charge))
    part.refresh_from_db()
    assert (part.status, part.refund_id) == (R.SUCCEEDED, made.id)
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.paid_cents) == (W.PAID, 6_000)
    withdrawal_pay(withdrawal.pk)  # the sweep's retry: nothing is left planned, so nothing is sent again
    assert len(stripe_list(stripe_settings, "refunds")) == 1
    assert (wallet_cents(lender), pending_cents(lender), processor_cash()) == (4_000, 0, 4_000)
    assert reconcile().ok
    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches


def test_credit_from_repayments_beyond_the_card_deposits_cannot_be_withdrawn(stripe_settings, make_lenders, disbursed):
    (lender,) = make_lenders(1, 20_000)
    loan = disbursed([(lender, 20_000)], repayments=1)
    repayment_record(
        loan=loan, amount_cents=20_000, currency="USD", received_on=START, source="staff",
        idempotency_key="limit-repaid", actor=None,
    )  # fmt: skip
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert wallet_cents(lender) == 20_000  # all of it back from the borrower: no card can take it back
    settled(stripe_settings, deposit(lender, 5_000, "limit-deposit"))
    limit = withdrawable(lender)
    assert (limit.wallet_cents, limit.refundable_cents, limit.cents) == (25_000, 5_000, 5_000)
    with pytest.raises(PaymentRefused) as refused:
        withdrawal_request(lender=lender, amount_cents=6_000, request_key="limit-too-much")
    assert refused.value.field == "amount_cents"
    message = str(refused.value)
    assert message.startswith("amount_cents: you can withdraw up to 5000 USD minor units.")
    assert limit.explanation in message
    assert "Credit from repayments beyond that stays available for lending." in message
    assert not Withdrawal.objects.exists()
    assert stripe_list(stripe_settings, "refunds") == []
    assert wallet_cents(lender) == 25_000
    withdrawal = withdrawal_request(lender=lender, amount_cents=5_000, request_key="limit-just-right")
    withdrawal.refresh_from_db()
    assert withdrawal.status == W.PAID
    assert wallet_cents(lender) == 20_000
    assert withdrawable(lender).cents == 0
    assert reconcile().ok
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_a_refund_that_fails_after_it_succeeded_puts_the_money_back_in_the_wallet_once(
    stripe_settings, live_server, lender
):
    (paid_in,) = settled(stripe_settings, deposit(lender, 10_000, "withdraw-late-fail-dep"))
    withdrawal = withdrawal_request(lender=lender, amount_cents=6_000, request_key="withdraw-late-fail-1")
    (part,) = withdrawal.refunds.all()
    assert part.status == R.SUCCEEDED
    assert (wallet_cents(lender), processor_cash()) == (4_000, 4_000)
    # Days later the card's bank sends it back (a closed account): Stripe's balance has the money again.
    (refund,) = stripe_list(stripe_settings, "refunds", payment_intent=paid_in.payment_intent_id)
    failed = {**refund, "status": "failed", "failure_reason": "expired_or_canceled_card"}

    delivered_ok(live_server.url, event("refund.failed", failed))
    delivered_ok(live_server.url, event("charge.refund.updated", failed))  # the same news again: a no-op

    part.refresh_from_db()
    withdrawal.refresh_from_db()
    assert (part.status, part.failure_reason) == (R.FAILED, "expired_or_canceled_card")
    assert (withdrawal.status, withdrawal.paid_cents, withdrawal.returned_cents) == (W.FAILED, 0, 6_000)
    assert (wallet_cents(lender), pending_cents(lender), processor_cash()) == (10_000, 0, 10_000)
    assert reconcile().ok
