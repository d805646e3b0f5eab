"""The close of business: run every step for one business date, exactly once, in date order.

A close claims its date with a conditional UPDATE (the row's claim is empty, or stale): of two
closes of the same date at once exactly one wins and the other returns without working. A date
already closed is never closed again, and no date before the latest closed one can be closed, so
the arrears and defaults on record only ever move forward in time. `advance_to` closes every
missing date in order, so catching up after downtime gives the same result as daily closes.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from lending.jobs.models import BusinessDay
from lending.jobs.steps import STEPS

logger = logging.getLogger(__name__)


class CloseRefused(Exception):
    """The date cannot be closed (it is before the latest closed date)."""


@dataclass(frozen=True)
class CloseResult:
    date: date
    ran: bool  # False: already closed, or another close holds the claim
    state: str
    steps: dict[str, dict[str, float]] = field(default_factory=dict)


def last_closed() -> date | None:
    return BusinessDay.objects.filter(state=BusinessDay.State.CLOSED).aggregate(d=Max("date"))["d"]


def _claim(on: date, claim: str) -> bool:
    never = timezone.now() - timedelta(days=3650)
    BusinessDay.objects.get_or_create(date=on, defaults={"claim": "", "claimed_at": never})
    stale = timezone.now() - timedelta(seconds=settings.CLOSE_CLAIM_SECONDS)
    won = (
        BusinessDay.objects.filter(date=on, state=BusinessDay.State.RUNNING)
        .filter(Q(claim="") | Q(claimed_at__lt=stale))
        .update(claim=claim, claimed_at=timezone.now())
    )
    return won == 1


def close_business_day(*, on: date) -> CloseResult:
    """Close `on`: expire, arrears, defaults. Returns ran=False if it was closed or is being closed."""
    latest = last_closed()
    if latest is not None and on < latest:
        raise CloseRefused(f"cannot close {on}: business days up to {latest} are already closed")
    claim = uuid.uuid4().hex
    if not _claim(on, claim):
        day = BusinessDay.objects.get(date=on)
        return CloseResult(on, ran=False, state=day.state, steps=day.steps)
    steps: dict[str, dict[str, float]] = {}
    try:
        for name, step in STEPS:
            started = time.perf_counter()
            rows = step(on)
            steps[name] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
            logger.info("close %s: %s touched %d rows", on, name, rows)
    except BaseException:
        BusinessDay.objects.filter(date=on, claim=claim).update(claim="")  # let the next attempt take over
        raise
    BusinessDay.objects.filter(date=on, claim=claim).update(
        state=BusinessDay.State.CLOSED, closed_at=timezone.now(), steps=steps
    )
    return CloseResult(on, ran=True, state=BusinessDay.State.CLOSED, steps=steps)


def advance_to(*, target: date, start: date | None = None) -> list[CloseResult]:
    """Close every date from the day after the last closed one up to `target`, in order.

    `start` says where to begin when no day has ever been closed (default: `target` alone).
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
        results.append(close_business_day(on=day))
        day += timedelta(days=1)
    return results
