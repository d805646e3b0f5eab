"""API housekeeping: forget Idempotency-Key answers past their retention."""

from __future__ import annotations

from celery import shared_task

from lending.api.idempotency import forget_old_keys


@shared_task(name="lending.api.tasks.forget_idempotency_keys", acks_late=True)
def forget_idempotency_keys() -> int:
    return forget_old_keys()
