"""Repayments: partial, early, too much, with interest; split to the cent; once per key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services as people
from lending.ledger.chart import AccountType
from lending.ledger.errors import IdempotencyConflict
from lending.ledger.reconcile import reconcile
from lending.ledger.services import platform_account
from lending.loans import books
from lending.loans.errors import NotAllowed, RepaymentRefused
from lending.loans.models import Installment, Loan, Repayment
from lending.loans.repayments import repayment_record
from tests.loans import START, wallet_cents

pytestmark = pytest.mark.django_db


def pay(loan, cents, key="k", on=None, **kw):
    kw.setdefault("source", "partner")
    kw.setdefault("actor", None)
    kw.setdefault("currency", "USD")
    return repayment_record(loan=loan, amount_cents=cents, received_on=on or START, idempotency_key=key, **kw)


@pytest.fixture
def three(make_lenders):
    return make_lenders(3, 50_000)


@pytest.fixture
def loan(three, disbursed):
    # 7,500 + 5,000 + 2,500 = 15,000 over 3 monthly installments of 5,000.
    return disbursed([(three[0], 7_500), (three[1], 5_000), (three[2], 2_500)], repayments=3)


def paid(loan):
    return [(i.paid_principal_cents, i.paid_on is not None) for i in Installment.objects.filter(loan=loan)]


def test_a_partial_payment_fills_the_oldest_installment_and_is_split_pro_rata(loan, three):
    repayment = pay(loan, 2_000)
    assert paid(loan) == [(2_000, False), (0, False), (0, False)]
    assert {s.lender_id: s.principal_cents for s in repayment.splits.all()} == {
        three[0].pk: 1_000, three[1].pk: 667, three[2].pk: 333
    }  # fmt: skip
    assert [wallet_cents(lender) for lender in three] == [43_500, 45_667, 47_833]
    assert books.receivable(loan).balance_cents == 13_000
    assert reconcile().ok


def test_a_prepayment_pays_the_next_installments_too(loan):
    pay(loan, 12_000)
    assert paid(loan) == [(5_000, True), (5_000, True), (2_000, False)]
    loan.refresh_from_db()
    assert loan.status == Loan.Status.PAYING_BACK


def test_an_overpayment_repays_the_loan_and_is_held_as_the_borrowers_credit(loan, three):
    repayment = pay(loan, 15_750)
    assert (repayment.principal_cents, repayment.overpayment_cents) == (15_000, 750)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert books.borrower_credit(loan).balance_cents == 750
    assert [wallet_cents(lender) for lender in three] == [50_000, 50_000, 50_000]
    assert reconcile().ok
    with pytest.raises(RepaymentRefused, match="repaid"):
        pay(loan, 100, key="after")


def test_the_same_key_records_once_and_other_content_under_it_is_refused(loan, three):
    first = pay(loan, 3_000, key="partner-ref-77")
    assert pay(loan, 3_000, key="partner-ref-77").pk == first.pk
    assert Repayment.objects.count() == 1
    assert wallet_cents(three[0]) == 42_500 + 1_500
    with pytest.raises(IdempotencyConflict):
        pay(loan, 3_001, key="partner-ref-77")


def test_a_bare_or_stale_copy_of_the_loan_is_read_afresh_under_the_lock(loan, three):
    stale = Loan.objects.get(pk=loan.pk)
    stale.currency, stale.borrower_id = "KES", three[0].pk  # what the caller holds, not what the row says
    first = pay(stale, 2_000, key="stale")
    second = pay(Loan(pk=loan.pk), 1_000, key="bare")
    assert (first.currency, second.currency) == ("USD", "USD")
    assert [wallet_cents(lender) for lender in three] == [42_500 + 1_500, 45_000 + 1_000, 47_500 + 500]
    assert books.receivable(loan).balance_cents == 12_000
    assert reconcile().ok


def test_the_repayment_returned_is_the_row_that_was_written(loan):
    repayment = pay(loan, 2_000, key="as-written")
    assert Repayment.objects.get(pk=repayment.pk).__dict__ | {"_state": None} == repayment.__dict__ | {"_state": None}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"cents": 0}, "amount_cents"), ({"cents": -5}, "amount_cents"), ({"currency": "KES"}, "currency"),
     ({"source": "cash_in_a_hat"}, "source"), ({"key": ""}, "idempotency_key")],
)  # fmt: skip
def test_bad_repayments_are_refused_naming_the_field_and_write_nothing(loan, kwargs, field):
    cents = kwargs.pop("cents", 1_000)
    key = kwargs.pop("key", "k")
    with pytest.raises(RepaymentRefused) as caught:
        pay(loan, cents, key=key, **kwargs)
    assert caught.value.field == field
    assert Repayment.objects.count() == 0


def test_a_loan_not_yet_disbursed_takes_no_repayment(listed):
    loan = listed()
    with pytest.raises(RepaymentRefused, match="fundraising"):
        pay(loan, 1_000)


def test_a_borrower_may_pay_by_card_but_a_lender_may_not_record_a_repayment(loan, three, officer):
    borrower_user = people.borrower_create(
        display_name="Direct D.", country="KE", email="direct@example.org", password="tea-garden-ledger-43"
    ).user
    with pytest.raises(NotAllowed):
        pay(loan, 1_000, actor=three[0], source="staff")
    with pytest.raises(NotAllowed):
        pay(loan, 1_000, actor=borrower_user, source="borrower_card")  # not their loan
    assert pay(loan, 1_000, actor=officer, source="partner").amount_cents == 1_000


def test_principal_first_order_is_honoured(make_lenders, disbursed):
    lenders = make_lenders(1, 100_000)
    loan = disbursed(
        [(lenders[0], 10_000)], repayments=2, interest_method="flat", annual_interest_rate="12",
        allocation_order="principal,interest,fees",
    )  # fmt: skip
    first = loan.installments.get(number=1)
    repayment = pay(loan, first.principal_cents)
    assert (repayment.principal_cents, repayment.interest_cents) == (first.principal_cents, 0)


def test_lenders_earn_their_rate_and_the_platform_the_rest_of_the_interest(make_lenders, disbursed):
    lenders = make_lenders(2, 100_000)
    loan = disbursed(
        [(lenders[0], 30_000), (lenders[1], 10_000)], repayments=4, interest_method="declining_balance",
        annual_interest_rate="12", lender_interest_rate="4",
    )  # fmt: skip
    rows = list(loan.installments.order_by("number"))
    for row in rows:
        pay(loan, row.total_cents, key=f"i{row.number}", on=row.due_date)
    interest = sum(r.interest_cents for r in rows)
    repayments = list(Repayment.objects.filter(loan=loan))
    to_lenders = sum(r.lender_interest_cents for r in repayments)
    assert abs(to_lenders * 3 - interest) <= len(rows)  # a third of the interest, to the cent per repayment
    assert platform_account(AccountType.FEE_INCOME, "USD").balance_cents == interest - to_lenders
    gains = [wallet_cents(lender) - 100_000 for lender in lenders]
    assert sum(gains) == to_lenders
    assert abs(gains[0] - 3 * gains[1]) <= 4  # pro rata to what each lent
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert reconcile().ok


@settings(
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stakes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    cuts=st.lists(st.integers(1, 40_000), min_size=1, max_size=15),
)
def test_any_shares_and_any_payments_return_each_lender_exactly_their_principal(
    make_lenders, listed, officer, stakes, cuts
):
    from lending.loans.disbursement import loan_disburse
    from tests.loans import buy

    with transaction.atomic():
        lenders = make_lenders(len(stakes), 1_000_000)
        amount = sum(stakes) * 2_500
        loan = listed(amount_cents=amount, repayments=6)
        buy(loan, [(lender, n * 2_500) for lender, n in zip(lenders, stakes, strict=True)])
        loan = loan_disburse(loan=loan, actor=officer, on=START)
        left, day = amount, START
        for n, cut in enumerate([*cuts, amount]):
            if left == 0:
                break
            cents = min(cut, left)
            day += timedelta(days=20)
            repayment = pay(loan, cents, key=f"r{n}", on=day)
            assert sum(s.principal_cents for s in repayment.splits.all()) == cents
            left -= cents
        loan.refresh_from_db()
        assert loan.status == Loan.Status.REPAID
        assert [wallet_cents(lender) for lender in lenders] == [1_000_000] * len(lenders)
        assert reconcile().ok
        transaction.set_rollback(True)
