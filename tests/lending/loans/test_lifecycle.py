"""Whole lives of loans, through the services only, with every lender's wallet checked to the cent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lending.ledger.chart import AccountType
from lending.ledger.reconcile import reconcile
from lending.ledger.services import platform_account
from lending.loans import books
from lending.loans.arrears import loan_arrears
from lending.loans.default import default_date, loan_default_if_due
from lending.loans.models import LenderSettlement, Loan, Repayment, RepaymentSplit
from lending.loans.repayments import repayment_record
from tests.loans import wallet_cents

pytestmark = pytest.mark.django_db

SHARES = [2_500, 2_500, 5_000, 7_500, 10_000, 12_500, 20_000]  # 60,000: seven lenders, uneven stakes
FUNDED_WITH = 100_000


def pay(loan, cents, on, key):
    return repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=on, source="partner", idempotency_key=key, actor=None
    )


def test_a_loan_from_application_to_repaid_returns_every_lenders_principal_exactly(make_lenders, disbursed):
    lenders = make_lenders(len(SHARES), FUNDED_WITH)
    loan = disbursed(list(zip(lenders, SHARES, strict=True)))
    for lender, share in zip(lenders, SHARES, strict=True):
        assert wallet_cents(lender) == FUNDED_WITH - share

    installments = list(loan.installments.order_by("number"))
    assert [i.total_cents for i in installments] == [5_000] * 12
    for row in installments:
        pay(loan, row.total_cents, row.due_date, f"inst-{row.number}")

    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert loan.ended_on == installments[-1].due_date
    for lender in lenders:
        assert wallet_cents(lender) == FUNDED_WITH  # every cent lent came back, no more, no less
    for repayment in Repayment.objects.filter(loan=loan):
        split = RepaymentSplit.objects.filter(repayment=repayment)
        assert sum(s.principal_cents for s in split) == repayment.principal_cents == 5_000
    assert books.receivable(loan).balance_cents == 0
    assert books.escrow(loan).balance_cents == 0
    assert [e.to_status for e in loan.events.all()] == [
        "submitted", "approved", "fundraising", "funded", "paying_back", "repaid"
    ]  # fmt: skip
    assert reconcile().ok


def test_a_loan_that_stops_paying_defaults_six_months_after_its_term_and_lenders_bear_the_loss(make_lenders, disbursed):
    lenders = make_lenders(len(SHARES), FUNDED_WITH)
    loan = disbursed(list(zip(lenders, SHARES, strict=True)))
    installments = list(loan.installments.order_by("number"))
    for row in installments[:3]:
        pay(loan, row.total_cents, row.due_date, f"inst-{row.number}")
    repaid = 15_000

    assert installments[-1].due_date == date(2027, 1, 5)
    assert default_date(loan) == date(2027, 7, 5)  # six months after the end of the term
    day_before = default_date(loan) - timedelta(days=1)
    assert loan_arrears(loan=loan, as_of=day_before).bucket == "180+"
    assert loan_default_if_due(loan=loan, as_of=day_before) is False
    assert loan_default_if_due(loan=loan, as_of=default_date(loan)) is True

    loan.refresh_from_db()
    assert loan.status == Loan.Status.DEFAULTED
    assert loan.written_off_cents == 60_000 - repaid
    settlements = {s.lender_id: s.principal_cents for s in LenderSettlement.objects.filter(loan=loan)}
    for lender, share in zip(lenders, SHARES, strict=True):
        got_back = share // 4  # a quarter repaid: each lender has exactly a quarter of their stake back
        assert wallet_cents(lender) == FUNDED_WITH - share + got_back
        assert settlements[lender.pk] == share - got_back
    assert books.receivable(loan).balance_cents == 0
    assert books.escrow(loan).balance_cents == 0
    assert platform_account(AccountType.CREDIT_LOSSES, "USD").balance_cents == 0  # the loss is the lenders'
    assert reconcile().ok

    # A recovery after default still reaches the lenders, pro rata to what each lost.
    recovery = pay(loan, 9_000, default_date(loan) + timedelta(days=10), "late")
    assert recovery.is_recovery
    assert sum(s.principal_cents for s in recovery.splits.all()) == 9_000
    for lender, share in zip(lenders, SHARES, strict=True):
        assert wallet_cents(lender) == FUNDED_WITH - share + share * (repaid + 9_000) // 60_000
    assert reconcile().ok
