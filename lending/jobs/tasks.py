"""Celery tasks. Each is thin, takes ids or dates, calls a service, and is harmless when delivered twice."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

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
