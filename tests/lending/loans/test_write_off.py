"""loan_write_off: platform staff default a paying-back loan before the six-month rule, with the same write-off
journal and lender settlements as an automatic default; the ledger still reconciles and later payments are
recoveries split among the lenders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans import books
from lending.loans.default import loan_default_if_due, loan_write_off
from lending.loans.errors import InvalidTransition, LoanError, NotAllowed
from lending.loans.models import LenderPosition, LenderSettlement, Loan, RepaymentSplit
from lending.loans.repayments import repayment_record
from tests.loans import wallet_cents

pytestmark = pytest.mark.django_db
S = Loan.Status


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


def test_staff_write_off_defaults_the_loan_and_writes_off_each_lenders_outstanding_principal(loan, two, staff):
    pay(loan, 6_000, date(2026, 2, 5), "some")

    written = loan_write_off(loan=loan, actor=staff, reason="borrower left the country", on=date(2026, 3, 1))

    loan.refresh_from_db()
    assert written.status == loan.status == S.DEFAULTED
    assert (loan.written_off_cents, loan.ended_on) == (9_000, date(2026, 3, 1))
    settlements = LenderSettlement.objects.filter(loan=loan).order_by("lender_id")
    assert [(s.lender_id, s.kind, s.principal_cents) for s in settlements] == [
        (two[0].pk, "write_off", 6_000),
        (two[1].pk, "write_off", 3_000),
    ]
    journal = Journal.objects.get(idempotency_key=f"loan:{loan.pk}:write_off")
    assert journal.kind == "write_off"
    assert {s.journal_id for s in settlements} == {journal.pk}
    assert [p.outstanding_cents for p in LenderPosition.objects.filter(loan=loan).order_by("lender_id")] == [0, 0]
    assert [wallet_cents(lender) for lender in two] == [44_000, 47_000]  # what was repaid, no more
    assert books.receivable(loan).balance_cents == 0
    event = loan.events.last()
    assert (event.from_status, event.to_status, event.actor_id, event.reason, event.business_date) == (
        S.PAYING_BACK, S.DEFAULTED, staff.pk, "borrower left the country", date(2026, 3, 1)
    )  # fmt: skip
    assert reconcile().ok
    call_command("reconcile")  # exits 1 (CommandError) on any violation


def test_a_payment_after_a_write_off_is_a_recovery_split_by_what_each_lender_lost(loan, two, staff):
    loan_write_off(loan=loan, actor=staff, reason="fraud at the branch", on=date(2026, 2, 1))

    recovery = pay(loan, 3_000, date(2026, 3, 1), "recovered")

    assert recovery.is_recovery is True
    parts = dict(RepaymentSplit.objects.filter(repayment=recovery).values_list("lender_id", "principal_cents"))
    assert parts == {two[0].pk: 2_000, two[1].pk: 1_000}
    assert [wallet_cents(lender) for lender in two] == [42_000, 46_000]
    recovered = dict(LenderPosition.objects.filter(loan=loan).values_list("lender_id", "recovered_cents"))
    assert recovered == {two[0].pk: 2_000, two[1].pk: 1_000}
    assert reconcile().ok


def test_the_automatic_rule_leaves_a_written_off_loan_alone(loan, staff):
    loan_write_off(loan=loan, actor=staff, reason="fraud", on=date(2026, 2, 1))

    assert loan_default_if_due(loan=loan, as_of=date(2026, 12, 1)) is False
    assert LenderSettlement.objects.filter(loan=loan).count() == 2
    assert Journal.objects.filter(kind="write_off").count() == 1


def test_the_automatic_default_keeps_its_own_reason_and_no_actor(loan):
    assert loan_default_if_due(loan=loan, as_of=date(2026, 10, 5)) is True

    event = loan.events.last()
    assert event.actor_id is None
    assert event.reason == "still owing 15000 on 2026-10-05, 6 months after the end of the term"
    assert Journal.objects.filter(kind="write_off").count() == 1


def test_when_only_interest_is_owed_nothing_of_the_lenders_is_written_off(make_lenders, disbursed, staff):
    (ann,) = make_lenders(1, 50_000)
    loan = disbursed([(ann, 10_000)], repayments=2, interest_method="flat", annual_interest_rate=Decimal("12"),
                     allocation_order="principal,interest,fees")  # fmt: skip
    pay(loan, 10_100, date(2026, 2, 5), "all-principal")  # installment 1 in full, then 2's principal

    loan_write_off(loan=loan, actor=staff, reason="interest forgiven", on=date(2026, 4, 1))

    loan.refresh_from_db()
    assert (loan.status, loan.written_off_cents) == (S.DEFAULTED, 0)
    assert not LenderSettlement.objects.filter(loan=loan).exists()
    assert not Journal.objects.filter(kind="write_off").exists()
    assert reconcile().ok


@pytest.mark.parametrize("who", ["officer", "lender"])
def test_only_platform_staff_may_write_off(loan, officer, lender, who):
    actor = {"officer": officer, "lender": lender}[who]

    with pytest.raises(NotAllowed):
        loan_write_off(loan=loan, actor=actor, reason="fraud")

    loan.refresh_from_db()
    assert loan.status == S.PAYING_BACK
    assert not LenderSettlement.objects.exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_write_off_needs_a_reason(loan, staff, reason):
    with pytest.raises(LoanError) as refused:
        loan_write_off(loan=loan, actor=staff, reason=reason)

    assert refused.value.field == "reason"
    loan.refresh_from_db()
    assert loan.status == S.PAYING_BACK


def test_a_loan_not_paying_back_cannot_be_written_off_and_nothing_moves(listed, loan, staff):
    fundraising = listed(amount_cents=5_000)
    loan_write_off(loan=loan, actor=staff, reason="fraud")
    journals = Journal.objects.count()

    for target in (fundraising, loan):
        with pytest.raises(InvalidTransition):
            loan_write_off(loan=target, actor=staff, reason="again")

    assert Journal.objects.count() == journals
    assert LenderSettlement.objects.count() == 2
    fundraising.refresh_from_db()
    assert fundraising.status == S.FUNDRAISING
