"""A direct borrower repays by card at the real local Stripe server; the webhook records and splits it.

Covered: the repayment recorded once with source borrower_card and split to each lender to the cent;
a partner's loan and someone else's loan refuse card repayment.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts import services as people
from lending.ledger.reconcile import reconcile
from lending.loans import books
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.models import Loan, Repayment, RepaymentSplit
from lending.payments.cards import card_repayment_start, outstanding_cents
from lending.payments.errors import PaymentRefused
from lending.payments.models import CardPayment, Dispute
from lending.payments.reconcile import reconcile_stripe
from tests.lending.payments.stripe_flows import (
    delivered_ok,
    direct_borrower,
    direct_loan_disbursed,
    dispute,
    event,
    journals,
    pay,
    settled,
    stripe_list,
)
from tests.loans import START, buy, wallet_cents

pytestmark = pytest.mark.django_db(transaction=True)
STAKES = (2_500, 5_000, 7_500)


@pytest.fixture
def direct_loan(staff, make_lenders):
    """A direct loan of 15,000 in three monthly repayments, lent by three lenders (2,500, 5,000, 7,500)."""
    lenders = make_lenders(3, 10_000)
    return direct_loan_disbursed(staff, list(zip(lenders, STAKES, strict=True))), lenders


def test_a_card_repayment_is_recorded_and_split_to_the_lenders_to_the_cent(stripe_settings, direct_loan):
    loan, lenders = direct_loan
    before = [wallet_cents(lender) for lender in lenders]
    assert before == [7_500, 5_000, 2_500]
    payment = card_repayment_start(borrower=loan.borrower.user, loan=loan, amount_cents=4_999, request_key="card-rep-1")
    assert (payment.purpose, payment.loan_id, payment.currency) == (CardPayment.Purpose.REPAYMENT, loan.pk, "USD")
    (intent,) = stripe_list(stripe_settings, "payment_intents")
    assert intent["metadata"] == {"purpose": "repayment", "card_payment": str(payment.pk),
                                  "user": str(loan.borrower.user_id), "loan": str(loan.pk)}  # fmt: skip
    pay(payment)
    assert not Repayment.objects.exists()  # recorded when Stripe says so, not before
    (payment,) = settled(stripe_settings, payment)
    assert payment.status == CardPayment.Status.SUCCEEDED
    repayment = Repayment.objects.get()
    assert payment.repayment_id == repayment.pk
    assert payment.journal_id == repayment.journal_id
    assert (repayment.source, repayment.amount_cents) == (Repayment.Source.BORROWER_CARD, 4_999)
    assert repayment.principal_cents == 4_999  # an interest-free loan: all of it is principal
    # 4,999 split 1:2:3 by the largest remainder: 833.17, 1,666.33, 2,499.50 -> 833, 1,666, 2,500
    gains = [wallet_cents(lender) - cents for lender, cents in zip(lenders, before, strict=True)]
    assert gains == [833, 1_666, 2_500]
    splits = dict(RepaymentSplit.objects.filter(repayment=repayment).values_list("lender_id", "principal_cents"))
    assert splits == {lender.pk: gain for lender, gain in zip(lenders, gains, strict=True)}
    assert outstanding_cents(loan) == 15_000 - 4_999
    assert reconcile().ok
    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches


def test_card_repayments_that_pay_the_loan_off_give_every_lender_exactly_what_they_lent(stripe_settings, direct_loan):
    loan, lenders = direct_loan
    user = loan.borrower.user
    first = pay(card_repayment_start(borrower=user, loan=loan, amount_cents=4_999, request_key="card-off-1"))
    settled(stripe_settings, first)
    rest = pay(card_repayment_start(borrower=user, loan=loan, amount_cents=10_001, request_key="card-off-2"))
    settled(stripe_settings, first, rest)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert [wallet_cents(lender) for lender in lenders] == [10_000, 10_000, 10_000]
    assert Repayment.objects.filter(source=Repayment.Source.BORROWER_CARD).count() == 2
    with pytest.raises(PaymentRefused) as refused:
        card_repayment_start(borrower=user, loan=loan, amount_cents=100, request_key="card-off-3")
    assert refused.value.field == "loan"
    assert reconcile().ok
    assert reconcile_stripe(since=timezone.localdate()).ok


def test_a_dispute_of_a_card_repayment_is_recorded_but_moves_no_money(stripe_settings, live_server, direct_loan):
    loan, lenders = direct_loan
    user = loan.borrower.user
    payment = pay(card_repayment_start(borrower=user, loan=loan, amount_cents=5_000, request_key="repay-disputed"))
    (payment,) = settled(stripe_settings, payment)
    wallets = [wallet_cents(lender) for lender in lenders]
    delivered_ok(live_server.url, event("charge.dispute.created", dispute(payment, "needs_response", "dp_rep")))
    row = Dispute.objects.get()
    assert (row.payment_id, row.amount_cents, row.hold_journal_id) == (payment.pk, 5_000, None)
    delivered_ok(live_server.url, event("charge.dispute.closed", dispute(payment, "lost", "dp_rep")))
    closed = Dispute.objects.get()
    assert closed.close_journal_id is None  # taking it back from the lenders is staff's decision
    assert closed.status == Dispute.Status.LOST  # but staff see how it ended
    assert [wallet_cents(lender) for lender in lenders] == wallets
    assert (journals("dispute_hold"), journals("dispute_lost")) == (0, 0)
    assert reconcile().ok


def test_a_partner_loan_cannot_be_repaid_by_card(stripe_settings, partner, officer, make_lenders):
    own = people.borrower_create(
        display_name="Amina K.", country="UG", partner=partner, email="amina@example.org",
        password="blue-mango-ledger-42",
    )  # fmt: skip
    loan = loan_apply(
        actor=officer, borrower=own, amount_cents=5_000, currency="USD", purpose="Sewing machine",
        sector="clothing", repayments=2,
    )  # fmt: skip
    loan_submit(loan=loan, actor=officer, on=START)
    loan_approve(loan=loan, actor=officer, on=START)
    loan_publish(loan=loan, actor=officer, on=START)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    loan = loan_disburse(loan=loan, actor=officer, on=START)
    with pytest.raises(PaymentRefused) as refused:
        card_repayment_start(borrower=own.user, loan=loan, amount_cents=2_500, request_key="partner-card-1")
    assert refused.value.field == "loan"
    assert "field partner" in str(refused.value)
    assert not CardPayment.objects.exists()
    assert stripe_list(stripe_settings, "payment_intents") == []


def test_nobody_else_may_repay_a_loan_by_card(stripe_settings, direct_loan):
    loan, lenders = direct_loan
    stranger = direct_borrower("stranger@example.org").user
    for user in (stranger, lenders[0]):
        with pytest.raises(PaymentRefused) as refused:
            card_repayment_start(borrower=user, loan=loan, amount_cents=2_500, request_key="not-mine-1")
        assert refused.value.field == "loan"
        assert str(refused.value) == f"loan {loan.pk} is not yours to repay"
    assert not CardPayment.objects.exists()
    assert stripe_list(stripe_settings, "payment_intents") == []


def test_a_card_repayment_arriving_after_the_loan_was_repaid_is_held_as_the_borrowers_credit(
    stripe_settings, direct_loan
):
    loan, lenders = direct_loan
    user = loan.borrower.user
    credit_before = books.borrower_credit(loan).balance_cents  # what the loan's disbursement left payable
    # Two tabs, each paying everything owed: both are started while the loan still owes 15,000.
    first = card_repayment_start(borrower=user, loan=loan, amount_cents=15_000, request_key="two-tabs-1")
    second = card_repayment_start(borrower=user, loan=loan, amount_cents=15_000, request_key="two-tabs-2")
    settled(stripe_settings, pay(first))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    (first, second) = settled(stripe_settings, first, pay(second))
    assert second.status == CardPayment.Status.SUCCEEDED
    assert second.repayment_id is None
    assert second.failure_message.startswith("Received but not applied")
    assert Repayment.objects.count() == 1
    assert books.borrower_credit(loan).balance_cents - credit_before == 15_000
    assert [wallet_cents(lender) for lender in lenders] == [10_000, 10_000, 10_000]
    assert reconcile().ok
    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches
