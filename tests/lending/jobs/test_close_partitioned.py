"""The close split into id ranges, in this process: the ranges, the refusals, and ranges run twice or too late.

The two-worker runs are in test_close_workers.py; these need no worker (Redis for some: CI's second run).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from lending.jobs.claims import claim_date, release_claim
from lending.jobs.close import CloseRefused, close_business_day
from lending.jobs.models import BusinessDay
from lending.jobs.partitioned import (
    CloseStalled,
    close_business_day_partitioned,
    coordination_url,
    id_ranges,
    range_keys,
    range_run,
    ranges_wait,
)
from lending.jobs.steps import ALL_IDS, BY_RANGE
from lending.ledger.reconcile import reconcile
from lending.loans.models import Loan
from tests.lending.jobs.scaleout import CLOSE, close_state

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs Redis: CELERY_BROKER_URL=redis://..."
)
NO_REDIS = {"CELERY_BROKER_URL": "filesystem://", "CELERY_RESULT_BACKEND": "file:///nonexistent"}
S = Loan.Status


def statuses() -> Counter[str]:
    return Counter(Loan.objects.values_list("status", flat=True))


def test_id_ranges_cover_every_id_once_with_about_as_many_loans_each(every_state):
    ids = sorted(Loan.objects.values_list("pk", flat=True))
    ranges = id_ranges(partitions=4)
    assert ranges[0][0] == ALL_IDS[0]
    assert ranges[-1][1] == ALL_IDS[1]  # loans made during the close are covered
    assert all(hi + 1 == lo for (_, hi), (lo, _) in itertools.pairwise(ranges))
    assert [sum(lo <= pk <= hi for pk in ids) for lo, hi in ranges] == [3, 3, 3, 2]  # 11 loans
    assert id_ranges(partitions=1) == [ALL_IDS]
    assert len(id_ranges(partitions=50)) == len(ids)  # never an empty range
    with pytest.raises(ValueError, match="partitions: must be at least 1"):
        id_ranges(partitions=0)


def test_id_ranges_of_an_empty_portfolio_are_one_range_of_everything():
    assert id_ranges(partitions=3) == [ALL_IDS]


def test_a_split_close_without_redis_is_refused_before_it_claims_anything(every_state):
    with override_settings(**NO_REDIS), pytest.raises(ImproperlyConfigured, match="through Redis"):
        close_business_day_partitioned(on=CLOSE, partitions=2)
    assert not BusinessDay.objects.exists()


def test_a_split_close_inside_a_transaction_is_refused_since_its_workers_could_not_see_the_claim(every_state):
    never_reached = override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")  # refused before Redis
    with never_reached, pytest.raises(CloseRefused, match="inside a transaction"):
        close_business_day_partitioned(on=CLOSE, partitions=2)
    assert not BusinessDay.objects.exists()


def test_commands_refuse_a_bad_partition_count_and_a_missing_redis_clearly(every_state):
    with pytest.raises(CommandError, match="'0' is not a whole number of id ranges, 1 or more"):
        call_command("close_business_day", "--date", "2026-07-20", "--partitions", "0")
    with pytest.raises(CommandError, match="'two' is not a whole number"):
        call_command("advance_to", "--date", "2026-07-20", "--partitions", "two")
    with override_settings(**NO_REDIS), pytest.raises(CommandError, match="through Redis: set CELERY_BROKER_URL"):
        call_command("advance_to", "--date", "2026-07-20", "--partitions", "2")
    assert not BusinessDay.objects.exists()
    assert statuses()[S.EXPIRED] == 0


@needs_redis
def test_a_range_run_again_after_its_worker_died_unmarked_changes_nothing(every_state):
    claim = claim_date(CLOSE)
    assert claim is not None
    ranges = id_ranges(partitions=3)
    first = {
        (step, index): range_run(on=CLOSE, step=step, index=index, ids=ids, claim=claim)
        for step in BY_RANGE  # in STEPS' order: expire, arrears, defaults
        for index, ids in enumerate(ranges)
    }
    after_once = close_state()
    assert statuses() == {S.EXPIRED: 3, S.PAYING_BACK: 4, S.DEFAULTED: 2, S.REPAID: 1, S.FUNDRAISING: 1}
    assert sum(first[("expire_fundraising", i)].rows for i in range(3)) == 3  # type: ignore[union-attr]

    # Delivered again with the mark present (acks_late after a lost ack): the mark is returned, nothing runs.
    for (step, index), done in first.items():
        assert range_run(on=CLOSE, step=step, index=index, ids=ranges[index], claim=claim) == done
    # The worker died after the work but before the mark: the redelivered task runs it all again.
    client = redis.Redis.from_url(coordination_url())
    for step in BY_RANGE:
        client.delete(*range_keys(CLOSE, claim, step))
    again = {
        (step, index): range_run(on=CLOSE, step=step, index=index, ids=ids, claim=claim)
        for step in BY_RANGE
        for index, ids in enumerate(ranges)
    }
    assert {key: done.rows for key, done in again.items() if key[0] != "refresh_arrears"} == dict.fromkeys(  # type: ignore[union-attr]
        [(step, i) for step in ("expire_fundraising", "classify_defaults") for i in range(3)], 0
    )
    assert close_state() == after_once
    assert reconcile().ok


@needs_redis
def test_a_range_of_a_close_that_is_over_does_nothing(every_state):
    claim = claim_date(CLOSE)
    assert claim is not None
    assert range_run(on=CLOSE, step="expire_fundraising", index=0, ids=ALL_IDS, claim="a-close-taken-over") is None
    release_claim(CLOSE, claim)  # the close failed and gave the date back
    assert range_run(on=CLOSE, step="expire_fundraising", index=0, ids=ALL_IDS, claim=claim) is None
    assert statuses()[S.FUNDRAISING] == 4
    with pytest.raises(ValueError, match="step: 'snapshot_portfolio' is not one of the per-loan steps"):
        range_run(on=CLOSE, step="snapshot_portfolio", index=0, ids=ALL_IDS, claim=claim)


def started_by(client: redis.Redis, claim: str, who: str, seconds_ago: float) -> None:
    started, _ = range_keys(CLOSE, claim, "expire_fundraising")
    client.hset(started, "0", json.dumps({"by": who, "at": time.time() - seconds_ago}))


@needs_redis
def test_a_range_whose_worker_went_silent_is_run_by_the_close_itself(every_state):
    claim = claim_date(CLOSE)
    assert claim is not None
    started_by(redis.Redis.from_url(coordination_url()), claim, "dead-host:1", seconds_ago=3_600)

    figures = ranges_wait(
        on=CLOSE, step="expire_fundraising", ranges=[ALL_IDS], claim=claim, grace_seconds=3_600, stale_seconds=600,
        deadline=time.monotonic() + 60,
    )  # fmt: skip

    assert (figures["rows"], figures["ran_here"], figures["workers"]) == (3, 1, 1)
    assert statuses()[S.EXPIRED] == 3


@needs_redis
def test_a_close_whose_range_never_finishes_gives_up_at_its_deadline_and_one_taken_over_stops(every_state):
    claim = claim_date(CLOSE)
    assert claim is not None
    client = redis.Redis.from_url(coordination_url())
    started_by(client, claim, "slow-host:1", seconds_ago=0)
    wait = {"on": CLOSE, "step": "expire_fundraising", "ranges": [ALL_IDS], "grace_seconds": 0, "stale_seconds": 3_600}

    with pytest.raises(CloseStalled, match="expire_fundraising not done by all 1 ranges within CLOSE_CLAIM_SECONDS"):
        ranges_wait(**wait, claim=claim, deadline=time.monotonic() + 1.5)
    BusinessDay.objects.filter(date=CLOSE).update(claim="another-close")
    with pytest.raises(CloseRefused, match="taken over by another close"):
        ranges_wait(**wait, claim=claim, deadline=time.monotonic() + 60)
    assert statuses()[S.EXPIRED] == 0  # the slow worker's range was never run twice


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_with_no_worker_the_close_runs_every_range_itself_like_one_process(every_state):
    with transaction.atomic():
        close_business_day(on=CLOSE)
        expected = close_state()
        transaction.set_rollback(True)
    nobody = f"test-nobody-{uuid.uuid4().hex[:8]}"
    try:
        result = close_business_day_partitioned(on=CLOSE, partitions=3, queues=[nobody], grace_seconds=0)
    finally:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(nobody)  # the three unread tasks per step
    assert result.ran
    assert close_state() == expected
    assert Counter(row[1] for row in expected["loans"]) == {
        S.EXPIRED: 3, S.PAYING_BACK: 4, S.DEFAULTED: 2, S.REPAID: 1, S.FUNDRAISING: 1
    }  # fmt: skip
    steps = result.steps
    assert (steps["expire_fundraising"]["rows"], steps["classify_defaults"]["rows"]) == (3, 2)
    assert all(steps[name]["ran_here"] == steps[name]["ranges"] == 3 for name in BY_RANGE)
    assert BusinessDay.objects.get(date=CLOSE).steps == steps
    assert reconcile().ok


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_advance_to_split_among_workers_closes_each_date_in_order(every_state, capsys):
    nobody = f"test-nobody-{uuid.uuid4().hex[:8]}"
    try:
        with override_settings(CLOSE_QUEUES=[nobody], CLOSE_RANGE_GRACE_SECONDS=0):
            call_command("advance_to", "--start", "2026-07-20", "--date", "2026-07-21", "--partitions", "2")
    finally:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(nobody)
    out = capsys.readouterr().out
    assert "2026-07-20: closed (expire_fundraising 3 rows" in out
    assert "2026-07-21: closed (expire_fundraising 0 rows" in out
    closed = BusinessDay.objects.filter(state=BusinessDay.State.CLOSED).order_by("date")
    assert [day.date for day in closed] == [CLOSE, CLOSE + timedelta(days=1)]
    assert statuses()[S.DEFAULTED] == 2
