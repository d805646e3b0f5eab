"""Who closes a business date: the claim (one winner, by a conditional UPDATE), its release, and the closed mark.

Shared by the one-process close (close.py) and the close split among workers (partitioned.py), so both
take a date, give it back after a failure and mark it closed in exactly the same way: a date is closed
once, only by its claim's holder, and never before a date already closed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from lending.jobs.models import BusinessDay

logger = logging.getLogger("lending.jobs.close")


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


def refuse_before_latest(on: date) -> None:
    """Arrears and defaults on record only move forward in time: no date before the latest closed one."""
    latest = last_closed()
    if latest is not None and on < latest:
        raise CloseRefused(f"cannot close {on}: business days up to {latest} are already closed")


def claim_date(on: date) -> str | None:
    """Take `on` for one close; the claim's token, or None if it is closed or another live close holds it."""
    never = timezone.now() - timedelta(days=3650)
    BusinessDay.objects.get_or_create(date=on, defaults={"claim": "", "claimed_at": never})
    stale = timezone.now() - timedelta(seconds=settings.CLOSE_CLAIM_SECONDS)
    claim = uuid.uuid4().hex
    won = (
        BusinessDay.objects.filter(date=on, state=BusinessDay.State.RUNNING)
        .filter(Q(claim="") | Q(claimed_at__lt=stale))
        .update(claim=claim, claimed_at=timezone.now())
    )
    return claim if won == 1 else None


def holds_claim(on: date, claim: str) -> bool:
    """True while the close holding `claim` may still work on `on` (not closed, not taken over)."""
    return BusinessDay.objects.filter(date=on, claim=claim, state=BusinessDay.State.RUNNING).exists()


def release_claim(on: date, claim: str) -> None:
    """Give the date back after a failure, so the next attempt takes it over at once."""
    BusinessDay.objects.filter(date=on, claim=claim).update(claim="")


def mark_closed(on: date, claim: str, steps: dict[str, dict[str, float]]) -> CloseResult:
    BusinessDay.objects.filter(date=on, claim=claim).update(
        state=BusinessDay.State.CLOSED, closed_at=timezone.now(), steps=steps
    )
    return CloseResult(on, ran=True, state=BusinessDay.State.CLOSED, steps=steps)


def not_ran(on: date) -> CloseResult:
    day = BusinessDay.objects.get(date=on)
    return CloseResult(on, ran=False, state=day.state, steps=day.steps)


def run_step(on: date, name: str, step: Callable[[date], int]) -> dict[str, float]:
    """Run one step over every loan, here; its rows touched and seconds taken."""
    started = time.perf_counter()
    rows = step(on)
    logger.info("close %s: %s touched %d rows", on, name, rows)
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
