"""On PostgreSQL: repayments racing on one loan lose no update, and a key sent twice at once posts once."""

from __future__ import annotations

import pytest

from lending.ledger.reconcile import reconcile
from lending.loans import books
from lending.loans.models import LenderPosition, Repayment, RepaymentSplit
from lending.loans.repayments import repayment_record
from tests.concurrency import run_together
from tests.loans import START, wallet_cents

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def pay(loan, cents, key):
    return repayment_record(
        loan=loan,
        amount_cents=cents,
        currency="USD",
        received_on=START,
        source="staff",
        idempotency_key=key,
        actor=None,
    )


@pytest.fixture
def loan(make_lenders, disbursed):
    lenders = make_lenders(5, 50_000)
    return disbursed([(lender, 5_000 * (n + 1)) for n, lender in enumerate(lenders)], repayments=6)  # 75,000


def test_the_same_repayment_sent_twice_at_once_is_recorded_once(loan):
    results = run_together(8, lambda i: pay(loan, 12_500, "partner-batch-7"))
    assert all(isinstance(r, Repayment) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Repayment.objects.count() == 1
    assert books.receivable(loan).balance_cents == 75_000 - 12_500
    assert reconcile().ok


def test_repayments_racing_on_one_loan_are_all_split_and_nothing_is_lost(loan):
    results = run_together(10, lambda i: pay(loan, 3_000 + i, f"race-{i}"))
    assert all(isinstance(r, Repayment) for r in results), results
    total = sum(3_000 + i for i in range(10))
    assert books.receivable(loan).balance_cents == 75_000 - total
    positions = LenderPosition.objects.filter(loan=loan)
    assert sum(p.principal_repaid_cents for p in positions) == total
    assert sum(s.principal_cents for s in RepaymentSplit.objects.filter(repayment__loan=loan)) == total
    gains = sorted(wallet_cents(p.lender) - (50_000 - p.lent_cents) for p in positions)
    assert sum(gains) == total
    assert reconcile().ok
