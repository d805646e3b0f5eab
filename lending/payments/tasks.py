"""Payment tasks: thin, by id, harmless when delivered twice (every money movement has its own key)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from lending.payments.errors import StripeUnavailable
from lending.payments.events import event_process
from lending.payments.models import StripeEvent, WithdrawalRefund
from lending.payments.withdrawals import withdrawal_pay

logger = logging.getLogger(__name__)
TRANSIENT = (OperationalError, StripeUnavailable)


@shared_task(
    name="lending.payments.tasks.process_stripe_event",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=8,
)
def process_stripe_event(event_pk: int) -> str:
    return event_process(event_pk).status


@shared_task(
    name="lending.payments.tasks.withdrawal_pay",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=10,
)
def withdrawal_pay_task(withdrawal_id: int) -> str:
    return withdrawal_pay(withdrawal_id).status


@shared_task(name="lending.payments.tasks.sweep_payments", acks_late=True)
def sweep_payments() -> dict[str, int]:
    """Every few minutes: queue events and withdrawals whose first queueing was lost (a broker outage)."""
    stale = timezone.now() - timedelta(minutes=2)
    events = list(
        StripeEvent.objects.filter(
            status__in=["received", "failed"], received_at__lt=stale, attempts__lt=10
        ).values_list("pk", flat=True)[:500]
    )
    for pk in events:
        process_stripe_event.delay(pk)
    withdrawals = list(
        WithdrawalRefund.objects.filter(status=WithdrawalRefund.Status.PLANNED, created_at__lt=stale)
        .values_list("withdrawal_id", flat=True)
        .distinct()[:500]
    )
    for pk in withdrawals:
        withdrawal_pay_task.delay(pk)
    return {"events": len(events), "withdrawals": len(withdrawals)}


@shared_task(name="lending.payments.tasks.reconcile_stripe", acks_late=True)
def reconcile_stripe_task() -> dict[str, Any]:
    """Nightly: compare Stripe's payments and refunds of the last 3 days with the ledger."""
    from lending.payments.reconcile import reconcile_stripe

    report = reconcile_stripe(since=timezone.localdate() - timedelta(days=3))
    for problem in report.mismatches:
        logger.error("stripe reconcile: %s", problem)
    return {"ok": report.ok, "checked": report.checked, "mismatches": report.mismatches}
