"""On PostgreSQL: closes of one date racing each other; exactly one does the work."""

from __future__ import annotations

from datetime import date

import pytest

from lending.jobs.close import CloseResult, close_business_day
from lending.jobs.models import BusinessDay
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans.models import Loan
from tests.concurrency import run_together
from tests.loans import buy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_closes_of_one_date_at_once_expire_each_loan_once(make_lenders, listed):
    lenders = make_lenders(3, 50_000)
    for n in range(3):
        buy(listed(purpose=f"stale {n}", amount_cents=10_000, fundraising_days=10), [(lenders[n], 2_500)])

    results = run_together(4, lambda i: close_business_day(on=date(2026, 3, 1)))

    assert all(isinstance(r, CloseResult) for r in results), results
    assert sum(r.ran for r in results) == 1
    assert Loan.objects.filter(status=Loan.Status.EXPIRED).count() == 3
    assert Journal.objects.filter(kind="expiry_refund").count() == 3
    assert BusinessDay.objects.get().state == BusinessDay.State.CLOSED
    assert reconcile().ok
