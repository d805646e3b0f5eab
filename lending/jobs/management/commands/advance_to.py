"""`manage.py advance_to --date YYYY-MM-DD`: close every missing business date up to it, in order."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lending.jobs.close import advance_to
from lending.jobs.management.commands.close_business_day import CLOSE_ERRORS, iso_date, partitions, report
from lending.jobs.partitioned import configured_partitions


class Command(BaseCommand):
    help = "Close every business date after the last closed one, up to --date, in order (catch-up)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, required=True, help="last business date to close, YYYY-MM-DD")
        parser.add_argument("--start", type=iso_date, help="first date, when no business day was ever closed")
        parser.add_argument(
            "--partitions",
            type=partitions,
            help="close each date across the close workers in this many id ranges (default: CLOSE_PARTITIONS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = advance_to(
                target=options["date"],
                start=options["start"],
                partitions=options["partitions"] or configured_partitions(),
            )
        except CLOSE_ERRORS as exc:
            raise CommandError(str(exc)) from None
        if not results:
            self.stdout.write(f"nothing to do: business days up to {options['date']} are already closed")
        for result in results:
            report(result, self.stdout.write)
