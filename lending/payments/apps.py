"""Card payments through Stripe (test mode only): deposits, withdrawals, borrower card repayments."""

from django.apps import AppConfig
from django.conf import settings


class PaymentsConfig(AppConfig):
    name = "lending.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from lending.payments.client import check_keys

        # Refuse to start at all with a live key: every process (web, worker, beat, manage.py) stops here.
        check_keys(settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY)
