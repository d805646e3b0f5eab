"""A real Celery worker, on whichever broker the environment names, runs the nightly reconcile."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from lending.jobs.tasks import close_business_day_task, reconcile_ledger
from lending.ledger.services import Line, journal_post
from lending.loans.models import Loan
from tests.loans import buy
from tests.workers import start_worker, stop_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue() -> Iterator[str]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = start_worker(queue)
    try:
        yield queue
    finally:
        stop_worker(process)


def test_worker_runs_reconcile_and_reports_tampering(worker_queue, cash, wallet):
    journal_post(idempotency_key="d", kind="deposit", lines=[Line(debit=cash, credit=wallet, amount_cents=2500)])

    result = reconcile_ledger.apply_async(queue=worker_queue).get(timeout=90)
    assert result == {"ok": True, "accounts": 2, "journals": 1, "transfers": 1, "violations": []}

    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_ledgeraccount SET credits_posted_cents = 2600 WHERE id = %s", [wallet.pk])
    result = reconcile_ledger.apply_async(queue=worker_queue).get(timeout=60)
    assert result["ok"] is False
    assert any(wallet.code in violation for violation in result["violations"])


def test_worker_runs_a_close_of_business_end_to_end(worker_queue, make_lenders, listed):
    lender = make_lenders(1, 10_000)[0]
    stale = listed(purpose="stale", amount_cents=10_000, fundraising_days=10)
    buy(stale, [(lender, 2_500)])

    result = close_business_day_task.apply_async(args=["2026-03-01"], queue=worker_queue).get(timeout=90)

    assert result["ran"] is True
    assert result["steps"]["expire_fundraising"]["rows"] == 1
    stale.refresh_from_db()
    assert stale.status == Loan.Status.EXPIRED
    again = close_business_day_task.apply_async(args=["2026-03-01"], queue=worker_queue).get(timeout=60)
    assert (again["ran"], again["state"]) == (False, "closed")
