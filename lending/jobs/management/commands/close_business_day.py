"""`manage.py close_business_day [--date YYYY-MM-DD]`: run the close of business for one date (default: yesterday)."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lending.jobs.close import CloseRefused, CloseResult, close_business_day


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


def report(result: CloseResult, write: Any) -> None:
    if not result.ran:
        write(f"{result.date}: already {result.state}; nothing done")
        return
    done = ", ".join(f"{name} {int(s['rows'])} rows in {s['seconds']}s" for name, s in result.steps.items())
    write(f"{result.date}: closed ({done})")


class Command(BaseCommand):
    help = "Run the close of business (expiries, arrears, defaults) for one business date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="business date to close, YYYY-MM-DD (default: yesterday)")

    def handle(self, *args: Any, **options: Any) -> None:
        on = options["date"] or timezone.localdate() - timedelta(days=1)
        try:
            result = close_business_day(on=on)
        except CloseRefused as exc:
            raise CommandError(str(exc)) from None
        report(result, self.stdout.write)
