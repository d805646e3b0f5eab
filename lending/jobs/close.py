"""The close of business: run every step for one business date, exactly once, in date order.

A close claims its date with a conditional UPDATE (the row's claim is empty, or stale): of two
closes of the same date at once exactly one wins and the other returns without working. A date
already closed is never closed again, and no date before the latest closed one can be closed, so
the arrears and defaults on record only ever move forward in time. `advance_to` closes every
missing date in order, so catching up after downtime gives the same result as daily closes.
With `partitions` above 1 it closes each date split among Celery workers (partitioned.py), which
gives the same result as one process.
"""

from __future__ import annotations

from datetime import date, timedelta

from lending.jobs.claims import (
    CloseRefused,
    CloseResult,
    claim_date,
    last_closed,
    mark_closed,
    not_ran,
    refuse_before_latest,
    release_claim,
    run_step,
)
from lending.jobs.partitioned import close_business_day_partitioned
from lending.jobs.steps import STEPS

__all__ = ["CloseRefused", "CloseResult", "advance_to", "close_business_day", "last_closed"]


def close_business_day(*, on: date) -> CloseResult:
    """Close `on`: expire, arrears, defaults. Returns ran=False if it was closed or is being closed."""
    refuse_before_latest(on)
    claim = claim_date(on)
    if claim is None:
        return not_ran(on)
    steps: dict[str, dict[str, float]] = {}
    try:
        for name, step in STEPS:
            steps[name] = run_step(on, name, step)
    except BaseException:
        release_claim(on, claim)  # let the next attempt take over
        raise
    return mark_closed(on, claim, steps)


def advance_to(*, target: date, start: date | None = None, partitions: int = 1) -> list[CloseResult]:
    """Close every date from the day after the last closed one up to `target`, in order.

    `start` says where to begin when no day has ever been closed (default: `target` alone).
    `partitions` above 1 splits each date's per-loan steps among the close workers (CLOSE_QUEUES).
    """
    latest = last_closed()
    if latest is None:
        first = start or target
    elif start is not None and start != latest + timedelta(days=1):
        raise CloseRefused(
            f"business days up to {latest} are closed; the next one to close is {latest + timedelta(days=1)}"
        )
    else:
        first = latest + timedelta(days=1)
    results = []
    day = first
    while day <= target:
        if partitions > 1:
            results.append(close_business_day_partitioned(on=day, partitions=partitions))
        else:
            results.append(close_business_day(on=day))
        day += timedelta(days=1)
    return results
