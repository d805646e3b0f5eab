"""The Celery application: configured from Django settings, tasks discovered in the installed apps."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("lending")
app.config_from_object("django.conf:settings", namespace="CELERY")


app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=30 * 60,
    task_soft_time_limit=25 * 60,
    result_expires=60 * 60 * 24,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
    # Nightly sweeps on their own queue, so a long close never delays quick work.
    task_routes={
        "lending.jobs.tasks.close_business_day": {"queue": "sweeps"},
        "lending.jobs.tasks.advance_to_yesterday": {"queue": "sweeps"},
        "lending.jobs.tasks.reconcile_ledger": {"queue": "sweeps"},
        "lending.payments.tasks.reconcile_stripe": {"queue": "sweeps"},
        # A partitioned close's id ranges; the close sends each to one of CLOSE_QUEUES, which overrides this.
        "lending.jobs.tasks.close_range": {"queue": "close"},
    },
    beat_schedule={
        # Close every business date not yet closed, up to yesterday.
        "close-business-days-nightly": {
            "task": "lending.jobs.tasks.advance_to_yesterday",
            "schedule": crontab(hour=0, minute=30),
        },
        # A nightly proof that the ledger's cached balances still equal its log.
        "reconcile-ledger-nightly": {
            "task": "lending.jobs.tasks.reconcile_ledger",
            "schedule": crontab(hour=2, minute=15),
        },
        # Stripe's payments and refunds against the ledger.
        "reconcile-stripe-nightly": {
            "task": "lending.payments.tasks.reconcile_stripe",
            "schedule": crontab(hour=2, minute=45),
        },
        # Idempotency-Key answers past their retention (IDEMPOTENCY_KEY_HOURS).
        "forget-idempotency-keys": {
            "task": "lending.api.tasks.forget_idempotency_keys",
            "schedule": crontab(minute=20),
        },
        # Events and withdrawals whose queueing was lost to a broker outage.
        "sweep-payments": {
            "task": "lending.payments.tasks.sweep_payments",
            "schedule": crontab(minute="*/5"),
        },
        # Partners' webhook events from the loans' own rows, and their deliveries queued.
        "collect-webhook-events": {
            "task": "lending.webhooks.tasks.collect",
            "schedule": crontab(),
        },
        # Webhook deliveries whose queued attempt was lost (a broker outage, a worker that died).
        "sweep-webhook-deliveries": {
            "task": "lending.webhooks.tasks.sweep",
            "schedule": crontab(),
        },
    },
)
app.autodiscover_tasks(["lending.jobs", "lending.payments", "lending.api", "lending.webhooks"])
