"""`manage.py close_business_day [--date YYYY-MM-DD]`: run the close of business for one date (default: yesterday)."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lending.jobs.close import CloseRefused, CloseResult, close_business_day
from lending.jobs.partitioned import CloseStalled, close_business_day_partitioned, configured_partitions


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


def partitions(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of id ranges, 1 or more")
    return number


# What a close across workers may raise besides CloseRefused: no Redis, or ranges that never finished.
CLOSE_ERRORS = (CloseRefused, CloseStalled, ImproperlyConfigured)


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
        parser.add_argument(
            "--partitions",
            type=partitions,
            help="split the per-loan steps into this many id ranges for the close workers on CLOSE_QUEUES "
            "(default: CLOSE_PARTITIONS; 1 closes in this process)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        on = options["date"] or timezone.localdate() - timedelta(days=1)
        ranges = options["partitions"] or configured_partitions()
        try:
            if ranges > 1:
                result = close_business_day_partitioned(on=on, partitions=ranges)
            else:
                result = close_business_day(on=on)
        except CLOSE_ERRORS as exc:
            raise CommandError(str(exc)) from None
        report(result, self.stdout.write)
