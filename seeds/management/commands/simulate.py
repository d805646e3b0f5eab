"""`manage.py simulate --until YYYY-MM-DD`: carry the demo world on, day by day, closing each night."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lending.jobs.close import CloseRefused
from lending.jobs.management.commands.close_business_day import iso_date
from seeds.demo import LENDERS
from seeds.simulation import SimulationError, portfolio_summary, simulate


class Command(BaseCommand):
    help = (
        "Live the demo world from its last closed day up to --until: new loans posted and funded, borrowers "
        "repaying on time, late, partly or not at all, and the close of business each night."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until", type=iso_date, required=True, help="last business date to simulate")

    def handle(self, *args: Any, **options: Any) -> None:
        until = options["until"]
        if until >= timezone.localdate():
            raise CommandError(f"--until must be before today ({timezone.localdate()}): a day is closed after it ends")
        try:
            report = simulate(until=until, named_lenders=[email for email, *_ in LENDERS], out=self.stdout.write)
        except (SimulationError, CloseRefused) as exc:
            raise CommandError(str(exc)) from None
        if not report.days:
            self.stdout.write(f"nothing to do: the world has lived up to {until} already")
            return
        totals = ", ".join(f"{v} {k}" for k, v in report.totals.items())
        self.stdout.write(f"Simulated {report.first} to {report.last} in {report.seconds:.0f}s: {totals}")
        summary = portfolio_summary()
        self.stdout.write(f"Portfolio: {summary['loans']} loans {summary['by_status']}")
