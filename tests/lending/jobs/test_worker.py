"""A real Celery worker, on whichever broker the environment names, runs the nightly reconcile."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from lending.jobs.tasks import close_business_day_task, reconcile_ledger
from lending.ledger.services import Line, journal_post
from lending.loans.models import Loan
from tests.lending.conftest import buy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue() -> Iterator[str]:
    """Start a worker that consumes only a queue of its own, so no other worker can take our tasks."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test_database(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


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
