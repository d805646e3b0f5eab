"""Two real Celery workers, each on its own queue, share one close through Redis: the result is one process's.

Needs PostgreSQL (workers and test write one database at once) and Redis (the broker, and the close's
done marks): CI's second run has both. The one-process close of the same portfolio runs first inside a
transaction that is rolled back, so both closes start from the same rows.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connections, transaction

from lending.jobs import partitioned
from lending.jobs.close import close_business_day
from lending.jobs.models import BusinessDay
from lending.jobs.partitioned import close_business_day_partitioned, range_keys
from lending.jobs.steps import BY_RANGE
from lending.ledger.reconcile import reconcile
from lending.loans.models import Loan
from tests.lending.jobs.scaleout import CLOSE, close_state
from tests.workers import start_worker, stop_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs Redis: CELERY_BROKER_URL=redis://..."
    ),
]
GRACE = 120  # long enough for a worker to start on a busy machine: every range here is run by a worker


def one_process_close() -> dict[str, list[Any]]:
    with transaction.atomic():
        assert close_business_day(on=CLOSE).ran
        state = close_state()
        transaction.set_rollback(True)
    return state


def wait_for(condition: Any, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


@pytest.fixture
def two_queues() -> Iterator[list[str]]:
    queues = [f"test-close-a-{uuid.uuid4().hex[:8]}", f"test-close-b-{uuid.uuid4().hex[:8]}"]
    workers = [start_worker(queue) for queue in queues]
    try:
        yield queues
    finally:
        for worker in workers:
            stop_worker(worker)


def assert_ran_by_workers(steps: dict[str, dict[str, float]], *, workers: set[int], twins: bool = False) -> None:
    rows = (steps["expire_fundraising"]["rows"], steps["classify_defaults"]["rows"])
    if twins:
        # The copy that marks a range may have met loans its twin had just closed, and counts only its own:
        # the figures may be short, never over. The state after the close is what proves it right.
        assert rows[0] <= 3, steps
        assert rows[1] <= 2, steps
    else:
        assert rows == (3, 2), steps
    for name in BY_RANGE:
        assert (steps[name]["ranges"], steps[name]["ran_here"]) == (4, 0), steps
        assert steps[name]["workers"] in workers, steps


def test_two_workers_on_two_queues_close_like_one_process(every_state, two_queues):
    expected = one_process_close()

    result = close_business_day_partitioned(on=CLOSE, partitions=4, queues=two_queues, grace_seconds=GRACE)

    assert result.ran
    assert close_state() == expected
    assert_ran_by_workers(result.steps, workers={2})  # each range went to one queue, in turn
    assert BusinessDay.objects.get(date=CLOSE).state == BusinessDay.State.CLOSED
    assert reconcile().ok


def test_every_range_delivered_twice_to_both_workers_closes_like_one_process(every_state, two_queues, monkeypatch):
    expected = one_process_close()
    once = partitioned.range_dispatch

    def twice(**dispatch: Any) -> None:  # each range to both queues: run twice, often by both workers at once
        once(**dispatch)
        once(**{**dispatch, "queues": dispatch["queues"][::-1]})

    monkeypatch.setattr(partitioned, "range_dispatch", twice)

    result = close_business_day_partitioned(on=CLOSE, partitions=4, queues=two_queues, grace_seconds=GRACE)

    assert result.ran
    # The first copy of a range to finish marks it: whichever worker that was (one may be first every time).
    assert_ran_by_workers(result.steps, workers={1, 2}, twins=True)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_for(lambda: sum(broker.llen(queue) for queue in two_queues) == 0)  # the late copies, after the close
    time.sleep(1)  # the last one taken may still be running
    assert close_state() == expected
    assert reconcile().ok


def test_a_worker_killed_holding_a_range_is_replaced_and_the_close_ends_like_one_process(every_state):
    expected = one_process_close()
    queues = [f"test-close-a-{uuid.uuid4().hex[:8]}", f"test-close-b-{uuid.uuid4().hex[:8]}"]
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": "2"}
    first_a, b = start_worker(queues[0], **fast_redelivery), start_worker(queues[1], **fast_redelivery)
    outcome: dict[str, Any] = {}

    def close() -> None:
        try:
            outcome["result"] = close_business_day_partitioned(
                on=CLOSE, partitions=2, queues=queues, grace_seconds=GRACE
            )
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    driver = threading.Thread(target=close)
    second_a = None
    try:
        with transaction.atomic():
            # "expiring 0" is the first loan, so in range 0, which goes to queue a: its worker waits on this lock.
            Loan.objects.select_for_update().get(purpose="expiring 0")
            driver.start()
            wait_for(lambda: BusinessDay.objects.exclude(claim="").exists())
            claim = BusinessDay.objects.get(date=CLOSE).claim
            started, _ = range_keys(CLOSE, claim, "expire_fundraising")
            coordination = redis.Redis.from_url(settings.CELERY_BROKER_URL, decode_responses=True)
            wait_for(lambda: coordination.hexists(started, "0"))
            time.sleep(0.5)  # into the step, blocked on the lock
            os.kill(first_a.pid, signal.SIGKILL)  # dies holding range 0, unacknowledged
            first_a.wait(timeout=10)
        time.sleep(3)  # older than the visibility timeout: the new worker restores it as it starts
        second_a = start_worker(queues[0], **fast_redelivery)
        driver.join(timeout=120)
    finally:
        for worker in (first_a, b, second_a):
            if worker is not None:
                stop_worker(worker)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result.ran
    assert result.steps["expire_fundraising"]["ran_here"] == 0  # range 0 was redelivered, not taken over
    assert close_state() == expected
    assert reconcile().ok
