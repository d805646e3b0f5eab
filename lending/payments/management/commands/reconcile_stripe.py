"""`manage.py reconcile_stripe [--since YYYY-MM-DD]`: Stripe's payments and refunds against the ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import stripe
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lending.jobs.management.commands.close_business_day import iso_date
from lending.payments.reconcile import reconcile_stripe


class Command(BaseCommand):
    help = "Compare Stripe's PaymentIntents, refunds and balance transactions with the ledger; exit 1 on a mismatch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=iso_date, help="first day to check (default: 30 days ago)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = options["since"] or timezone.localdate() - timedelta(days=30)
        try:
            report = reconcile_stripe(since=since)
        except stripe.StripeError as exc:
            raise CommandError(f"could not read from Stripe: {exc.user_message or exc}") from exc
        for problem in report.mismatches:
            self.stderr.write(f"MISMATCH {problem}")
        self.stdout.write(f"checked {report.checked} Stripe objects since {since}: "
                          f"{len(report.mismatches)} mismatch(es)")  # fmt: skip
        if not report.ok:
            raise CommandError(f"Stripe and the ledger disagree on {len(report.mismatches)} point(s)")
