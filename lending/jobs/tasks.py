"""Celery tasks. Each is thin, takes ids or dates, calls a service, and is harmless when delivered twice."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import redis
from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from lending.jobs.close import advance_to, close_business_day
from lending.jobs.partitioned import configured_partitions, range_run
from lending.ledger.reconcile import reconcile

logger = logging.getLogger(__name__)


@shared_task(name="lending.jobs.tasks.reconcile_ledger", acks_late=True, ignore_result=False)
def reconcile_ledger() -> dict[str, Any]:
    """Nightly proof that the ledger balances; read-only, so a second delivery costs only time."""
    report = reconcile()
    for violation in report.violations:
        logger.error("ledger reconcile: %s", violation)
    return {
        "ok": report.ok,
        "accounts": report.accounts,
        "journals": report.journals,
        "transfers": report.transfers,
        "violations": [str(v) for v in report.violations],
    }


# Transient database trouble (a restart, a dropped connection) is retried with backoff; anything
# else is a bug and fails loudly. A close is idempotent for its date, so a retry or a second
# delivery (acks_late) of the same task never closes a date twice.
TRANSIENT = (OperationalError,)


@shared_task(
    name="lending.jobs.tasks.close_business_day",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    max_retries=5,
)
def close_business_day_task(on: str) -> dict[str, Any]:
    result = close_business_day(on=date.fromisoformat(on))
    return {"date": on, "ran": result.ran, "state": result.state, "steps": result.steps}


@shared_task(
    name="lending.jobs.tasks.advance_to_yesterday",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    max_retries=5,
)
def advance_to_yesterday() -> list[str]:
    """Nightly: close every business date not yet closed, up to yesterday."""
    results = advance_to(target=timezone.localdate() - timedelta(days=1), partitions=configured_partitions())
    return [f"{r.date}:{'closed' if r.ran else r.state}" for r in results]


@shared_task(
    name="lending.jobs.tasks.close_range",
    acks_late=True,
    ignore_result=True,  # the close reads the range's done mark in Redis, not a Celery result
    autoretry_for=(*TRANSIENT, redis.exceptions.ConnectionError),
    retry_backoff=5,
    max_retries=5,
)
def close_range_task(on: str, step: str, index: int, lo: int, hi: int, claim: str) -> dict[str, Any] | None:
    """One id range of one per-loan step of a partitioned close; harmless twice, and a no-op once its close is over."""
    done = range_run(on=date.fromisoformat(on), step=step, index=index, ids=(lo, hi), claim=claim)
    return None if done is None else {"rows": done.rows, "seconds": done.seconds, "by": done.by}
