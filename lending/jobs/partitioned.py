"""The close of business split among Celery workers: per-loan steps in id ranges, coordinated through Redis.

The per-loan steps (expire, arrears, defaults) act on each loan alone, so workers on several queues
(machines) can each take an id range; the whole-portfolio steps (snapshot, auto-lend, digests) read
everything and run once, here. It stays the same close as one process's because:

- The date is claimed in the database exactly as by close_business_day (one winner), and only the
  claim's holder marks it closed, after every step.
- Steps keep their order across ranges: a step's ranges are all done before the next step's are
  sent, so every expiry precedes every arrears update, which precedes every default.
- A range is idempotent. Every step is idempotent for its date, and a range's done mark is written
  with HSETNX, so a task delivered twice (acks_late), run by two workers at once, or redelivered after
  its worker died counts once. A Celery chord would not do: its Redis counter counts a redelivered
  task's second result as one more part and can fire the next step before a range is done.
- A range task whose close is over (closed, failed, taken over) does nothing.
- A range no worker has started within the grace period is run here, so a missing worker slows the
  close but never stalls it; so is a range started longer ago than CLOSE_RANGE_STALE_SECONDS (its
  worker presumed dead) without waiting for the broker to redeliver it after its visibility timeout.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

import redis
from celery import current_app
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from lending.jobs.claims import (
    CloseRefused,
    CloseResult,
    claim_date,
    holds_claim,
    mark_closed,
    not_ran,
    refuse_before_latest,
    release_claim,
    run_step,
)
from lending.jobs.steps import ALL_IDS, BY_RANGE, LOAN, STEPS

logger = logging.getLogger("lending.jobs.close")

RANGE_TASK = "lending.jobs.tasks.close_range"
KEY_TTL_SECONDS = 2 * 24 * 60 * 60  # long after any close; the keys name their claim, so no run reads another's
POLL_SECONDS = 0.05
CLAIM_CHECK_SECONDS = 1.0


class CloseStalled(Exception):
    """A partitioned close waited longer than CLOSE_CLAIM_SECONDS for its ranges; the date was given back."""


@dataclass(frozen=True)
class RangeDone:
    rows: int
    seconds: float
    by: str  # host:pid of the process that ran it


def configured_partitions() -> int:
    """CLOSE_PARTITIONS: how many id ranges the nightly close splits into (1: one process, no workers)."""
    return int(getattr(settings, "CLOSE_PARTITIONS", 1))


def configured_queues() -> list[str]:
    """CLOSE_QUEUES: the queues the ranges go to, in turn (one per group of close workers)."""
    return list(getattr(settings, "CLOSE_QUEUES", ["close"]))


def configured_grace_seconds() -> float:
    """CLOSE_RANGE_GRACE_SECONDS: a range no worker has started after this long is run by the close itself."""
    return float(getattr(settings, "CLOSE_RANGE_GRACE_SECONDS", 60))


def configured_stale_seconds() -> float:
    """CLOSE_RANGE_STALE_SECONDS: a range started this long ago and not done is run again by the close itself."""
    return float(getattr(settings, "CLOSE_RANGE_STALE_SECONDS", 600))


def coordination_url() -> str:
    """The Redis the driver and its workers share: the broker's, else the result backend's."""
    for url in (settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND):
        if url.startswith(("redis://", "rediss://")):
            return url
    raise ImproperlyConfigured(
        "A partitioned close coordinates its workers through Redis: set CELERY_BROKER_URL to redis://..."
    )


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def range_keys(on: date, claim: str, step: str) -> tuple[str, str]:
    """The Redis hashes of a step's ranges, started and done, by range index: one pair per claim, so per attempt."""
    base = f"lending:close:{on.isoformat()}:{claim}:{step}"
    return f"{base}:started", f"{base}:done"


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _started_mark() -> str:
    return json.dumps({"by": _me(), "at": time.time()})  # wall clock: the driver may be on another machine


def id_ranges(*, partitions: int) -> list[tuple[int, int]]:
    """Up to `partitions` contiguous id ranges with about as many loans each, covering every id, even future ones."""
    if partitions < 1:
        raise ValueError("partitions: must be at least 1")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX(id) FROM (SELECT id, NTILE(%s) OVER (ORDER BY id) AS part FROM {LOAN}) t "
            f"GROUP BY part ORDER BY part",
            [partitions],
        )
        uppers = [row[0] for row in cursor.fetchall()][:-1]  # the last range runs on to the end of the ids
    lows = [ALL_IDS[0], *(upper + 1 for upper in uppers)]
    return list(zip(lows, [*uppers, ALL_IDS[1]], strict=True))


def _execute(*, on: date, step: str, index: int, ids: tuple[int, int], claim: str) -> RangeDone:
    started = time.perf_counter()
    rows = BY_RANGE[step](on, ids)
    done = RangeDone(rows=rows, seconds=round(time.perf_counter() - started, 3), by=_me())
    _, done_key = range_keys(on, claim, step)
    client = _redis(coordination_url())
    with client.pipeline() as pipe:  # the first run's mark stands: a second run counts once
        pipe.hsetnx(done_key, str(index), json.dumps(asdict(done)))
        pipe.expire(done_key, KEY_TTL_SECONDS)
        pipe.execute()
    return done


def range_run(*, on: date, step: str, index: int, ids: tuple[int, int], claim: str) -> RangeDone | None:
    """Run one per-loan step over one id range for the close holding `claim` (what a close worker does).

    None, having done nothing, if that close is over. A range already marked done returns its mark
    without running again; one started and not marked (its worker died) runs again, harmlessly.
    """
    if step not in BY_RANGE:
        raise ValueError(f"step: {step!r} is not one of the per-loan steps {sorted(BY_RANGE)}")
    if not holds_claim(on, claim):
        return None
    client = _redis(coordination_url())
    started_key, done_key = range_keys(on, claim, step)
    if (mark := client.hget(done_key, str(index))) is not None:
        return RangeDone(**json.loads(mark))
    with client.pipeline() as pipe:  # a redelivered copy restarts the clock: its first worker is presumed dead
        pipe.hset(started_key, str(index), _started_mark())
        pipe.expire(started_key, KEY_TTL_SECONDS)
        pipe.execute()
    return _execute(on=on, step=step, index=index, ids=ids, claim=claim)


def range_dispatch(
    *, on: date, step: str, ranges: Sequence[tuple[int, int]], claim: str, queues: Sequence[str]
) -> None:
    """One task per range, to the queues in turn (addressed by name: the driver needs no worker module)."""
    for index, (lo, hi) in enumerate(ranges):
        current_app.send_task(
            RANGE_TASK, args=[on.isoformat(), step, index, lo, hi, claim], queue=queues[index % len(queues)]
        )


def _abandoned(started: str | bytes | None, *, waited: float, grace_seconds: float, stale_seconds: float) -> bool:
    """Not started within the grace period, or started longer ago than stale_seconds and not done."""
    if started is None:
        return waited >= grace_seconds
    return time.time() - json.loads(started)["at"] >= stale_seconds


def ranges_wait(
    *,
    on: date,
    step: str,
    ranges: Sequence[tuple[int, int]],
    claim: str,
    grace_seconds: float,
    stale_seconds: float,
    deadline: float,
) -> dict[str, float]:
    """Wait until every range of `step` is marked done, running here any range its worker abandoned (or never took)."""
    client = _redis(coordination_url())
    started_key, done_key = range_keys(on, claim, step)
    sent = next_check = time.monotonic()
    me = _me()
    while client.hlen(done_key) < len(ranges):
        now = time.monotonic()
        if now > deadline:
            raise CloseStalled(f"close {on}: {step} not done by all {len(ranges)} ranges within CLOSE_CLAIM_SECONDS")
        if now >= next_check:
            if not holds_claim(on, claim):
                raise CloseRefused(f"close {on}: the claim was taken over by another close while {step} ran")
            next_check = now + CLAIM_CHECK_SECONDS
            done, started = client.hgetall(done_key), client.hgetall(started_key)
            for index, ids in enumerate(ranges):
                key = str(index)
                if key not in done and _abandoned(
                    started.get(key), waited=now - sent, grace_seconds=grace_seconds, stale_seconds=stale_seconds
                ):
                    logger.warning("close %s: %s range %d (%s-%s) run by the close itself", on, step, index, *ids)
                    client.hset(started_key, key, _started_mark())
                    _execute(on=on, step=step, index=index, ids=ids, claim=claim)
        time.sleep(POLL_SECONDS)
    marks = [RangeDone(**json.loads(mark)) for mark in client.hgetall(done_key).values()]
    return {
        "rows": sum(mark.rows for mark in marks),
        "seconds": round(time.monotonic() - sent, 3),
        "range_seconds": round(sum(mark.seconds for mark in marks), 3),  # over "seconds": how parallel it ran
        "ranges": len(ranges),
        "workers": len({mark.by for mark in marks}),
        "ran_here": sum(mark.by == me for mark in marks),
    }


def close_business_day_partitioned(
    *, on: date, partitions: int, queues: Sequence[str] | None = None, grace_seconds: float | None = None
) -> CloseResult:
    """Close `on` as close_business_day does, with each per-loan step split into `partitions` id ranges run by
    the workers consuming `queues` (default CLOSE_QUEUES). Blocks until the date is closed; same result."""
    queues = list(queues if queues is not None else configured_queues())
    if not queues:
        raise ValueError("queues: name at least one queue for the close workers")
    coordination_url()  # no Redis: refuse before claiming anything
    if connection.in_atomic_block:
        raise CloseRefused(f"cannot close {on} across workers inside a transaction: they would not see its claim")
    refuse_before_latest(on)
    claim = claim_date(on)
    if claim is None:
        return not_ran(on)
    grace = configured_grace_seconds() if grace_seconds is None else grace_seconds
    stale = configured_stale_seconds()
    deadline = time.monotonic() + settings.CLOSE_CLAIM_SECONDS  # then the claim is stale: another close may take it
    steps: dict[str, dict[str, float]] = {}
    try:
        ranges = id_ranges(partitions=partitions)
        for name, step in STEPS:
            if name not in BY_RANGE:
                steps[name] = run_step(on, name, step)
                continue
            range_dispatch(on=on, step=name, ranges=ranges, claim=claim, queues=queues)
            steps[name] = ranges_wait(
                on=on,
                step=name,
                ranges=ranges,
                claim=claim,
                grace_seconds=grace,
                stale_seconds=stale,
                deadline=deadline,
            )
            logger.info("close %s: %s touched %d rows in %d ranges", on, name, steps[name]["rows"], len(ranges))
    except BaseException:
        release_claim(on, claim)  # let the next attempt take over; stray range tasks then find the claim gone
        raise
    return mark_closed(on, claim, steps)
