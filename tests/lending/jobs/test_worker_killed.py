"""A worker killed in the middle of a close: the task is redelivered (acks_late) and its effect happens once.

Needs Redis (a broker that keeps unacknowledged messages) and PostgreSQL (a row lock holds the
close mid-step until the worker is dead): CI's second run has both.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import date

import pytest
from django.conf import settings
from django.db import transaction

from lending.jobs.models import BusinessDay
from lending.jobs.tasks import close_business_day_task
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans.models import Loan
from tests.loans import buy, wallet_cents
from tests.workers import start_worker, stop_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs Redis: CELERY_BROKER_URL=redis://..."
    ),
]
CLOSE = date(2026, 3, 1)


def wait_for(condition, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def test_a_close_whose_worker_dies_is_redelivered_and_expires_each_loan_once(make_lenders, listed):
    lender = make_lenders(1, 10_000)[0]
    stale = listed(purpose="stale", amount_cents=10_000, fundraising_days=10)
    buy(stale, [(lender, 2_500)])
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # Redis hands an unacknowledged task to another worker after the visibility timeout.
    first = start_worker(queue, CELERY_VISIBILITY_TIMEOUT="2")
    try:
        with transaction.atomic():
            Loan.objects.select_for_update().get(pk=stale.pk)  # the close will wait on this lock, mid-step
            result = close_business_day_task.apply_async(args=[CLOSE.isoformat()], queue=queue)
            wait_for(lambda: BusinessDay.objects.filter(date=CLOSE).exclude(claim="").exists())
            os.kill(first.pid, signal.SIGKILL)  # the worker dies holding the task, unacknowledged
            first.wait(timeout=10)
    finally:
        stop_worker(first)
    assert Loan.objects.get(pk=stale.pk).status == Loan.Status.FUNDRAISING

    # A new worker takes the redelivered task and, the dead worker's claim being stale, the date.
    # It looks for unacknowledged tasks older than the visibility timeout as it starts: let 3 s pass.
    time.sleep(3)
    second = start_worker(queue, CELERY_VISIBILITY_TIMEOUT="2", CLOSE_CLAIM_SECONDS="1")
    try:
        outcome = result.get(timeout=90)
    finally:
        stop_worker(second)
    assert outcome["ran"] is True
    assert Loan.objects.get(pk=stale.pk).status == Loan.Status.EXPIRED
    assert Journal.objects.filter(kind="expiry_refund").count() == 1
    assert wallet_cents(lender) == 10_000
    assert BusinessDay.objects.get(date=CLOSE).state == BusinessDay.State.CLOSED
    assert reconcile().ok
