"""Arrears aging with a tolerance, Kiva's default rule, write-off, recoveries and staff refunds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lending.ledger.reconcile import reconcile
from lending.loans import books
from lending.loans.arrears import bucket_for, loan_arrears, loan_refresh_arrears
from lending.loans.default import default_date, loan_default_if_due, loan_refund
from lending.loans.errors import NotAllowed
from lending.loans.models import LenderSettlement, Loan
from lending.loans.repayments import repayment_record
from tests.loans import START, buy, wallet_cents

pytestmark = pytest.mark.django_db


def pay(loan, cents, on, key):
    return repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=on, source="staff", idempotency_key=key, actor=None
    )


@pytest.fixture
def two(make_lenders):
    return make_lenders(2, 50_000)


@pytest.fixture
def loan(two, disbursed):
    return disbursed([(two[0], 10_000), (two[1], 5_000)], repayments=3)  # 5,000 due monthly from 2026-02-05


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (61, "61-90"), (90, "61-90"), (91, "91-180"),
     (180, "91-180"), (181, "180+"), (2_000, "180+")],
)  # fmt: skip
def test_arrears_buckets(days, bucket):
    assert bucket_for(days) == bucket


def test_a_loan_is_current_on_the_due_date_and_late_the_day_after(loan):
    due = date(2026, 2, 5)
    assert loan_arrears(loan=loan, as_of=due).delinquent is False
    late = loan_arrears(loan=loan, as_of=due + timedelta(days=1))
    assert (late.days_past_due, late.amount_past_due_cents, late.bucket, late.delinquent) == (1, 5_000, "1-30", True)
    later = loan_arrears(loan=loan, as_of=date(2026, 3, 20))
    assert (later.days_past_due, later.amount_past_due_cents, later.bucket) == (43, 10_000, "31-60")


def test_a_few_cents_short_is_not_delinquent_but_more_is(loan):
    pay(loan, 4_950, date(2026, 2, 5), "almost")  # 50 cents short, within the 100-cent tolerance
    assert loan_arrears(loan=loan, as_of=date(2026, 2, 20)).delinquent is False
    arrears = loan_arrears(loan=loan, as_of=date(2026, 3, 6))  # the next installment is now late too
    assert (arrears.delinquent, arrears.days_past_due, arrears.amount_past_due_cents) == (True, 29, 5_050)


def test_refreshing_arrears_stores_them_on_the_loan(loan):
    loan_refresh_arrears(loan=loan, as_of=date(2026, 2, 15))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.amount_past_due_cents, loan.delinquent, loan.arrears_as_of) == (
        10, 5_000, True, date(2026, 2, 15)
    )  # fmt: skip


def test_default_waits_for_six_months_after_the_term_and_ignores_pennies(loan):
    assert default_date(loan) == date(2026, 10, 5)  # last due 2026-04-05
    pay(loan, 14_950, date(2026, 4, 5), "nearly-all")
    assert loan_default_if_due(loan=loan, as_of=date(2027, 1, 1)) is False  # 50 cents short: within tolerance
    loan.refresh_from_db()
    assert loan.status == Loan.Status.PAYING_BACK


def test_default_writes_off_each_lenders_outstanding_principal(loan, two):
    pay(loan, 6_000, date(2026, 2, 5), "some")
    assert loan_default_if_due(loan=loan, as_of=date(2026, 10, 4)) is False
    assert loan_default_if_due(loan=loan, as_of=date(2026, 10, 5)) is True
    assert loan_default_if_due(loan=loan, as_of=date(2026, 10, 6)) is False  # already defaulted: nothing twice
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_cents, loan.ended_on) == (Loan.Status.DEFAULTED, 9_000, date(2026, 10, 5))
    written_off = dict(LenderSettlement.objects.filter(loan=loan).values_list("lender_id", "principal_cents"))
    assert written_off == {two[0].pk: 6_000, two[1].pk: 3_000}
    assert [wallet_cents(lender) for lender in two] == [44_000, 47_000]
    assert books.receivable(loan).balance_cents == 0
    assert reconcile().ok


def test_staff_refund_after_disbursement_returns_each_lenders_unrepaid_principal(loan, two, staff, officer):
    pay(loan, 3_000, date(2026, 2, 5), "part")
    with pytest.raises(NotAllowed):
        loan_refund(loan=loan, actor=officer, reason="partner error")
    loan_refund(loan=loan, actor=staff, reason="partner error", on=date(2026, 2, 10))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REFUNDED
    assert [wallet_cents(lender) for lender in two] == [50_000, 50_000]
    assert books.receivable(loan).balance_cents == 0
    assert books.escrow(loan).balance_cents == 0
    assert reconcile().ok


def test_staff_refund_before_disbursement_returns_the_shares(make_lenders, listed, staff):
    lenders = make_lenders(2, 50_000)
    loan = listed(amount_cents=7_500)
    buy(loan, [(lenders[0], 5_000), (lenders[1], 2_500)])
    loan_refund(loan=loan, actor=staff, reason="duplicate listing", on=START)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REFUNDED
    assert [wallet_cents(lender) for lender in lenders] == [50_000, 50_000]
    assert books.escrow(loan).balance_cents == 0
    assert reconcile().ok
