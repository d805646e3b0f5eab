"""`manage.py autolend [--date YYYY-MM-DD] [--dry-run]`: lend opted-in lenders' idle credit (or show what would be)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lending.autolending.services import autolend
from lending.jobs.management.commands.close_business_day import iso_date
from lending.money import format_money


class Command(BaseCommand):
    help = "Lend the idle credit of lenders who turned auto-lending on; --dry-run shows what would be lent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="business date, YYYY-MM-DD (default: today)")
        parser.add_argument("--dry-run", action="store_true", help="decide, print, and lend nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        on = options["date"] or timezone.localdate()
        decisions = autolend(on=on, dry_run=options["dry_run"])
        verb = "would lend" if options["dry_run"] else "lent"
        for d in decisions:
            amount = format_money(d.amount_cents, settings.PLATFORM_CURRENCY)
            self.stdout.write(f"lender {d.lender_id} {verb} {amount} to loan {d.loan_id}: {d.reason}")
        self.stdout.write(f"{len(decisions)} share purchase(s) {'planned' if options['dry_run'] else 'made'} for {on}")
