"""`manage.py seed_demo [--loans N] [--seed S] [--days D]`: the demo people and a living portfolio."""

from __future__ import annotations

from argparse import ArgumentTypeError
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from seeds.demo import DEMO_PASSWORD, build_demo, build_portfolio
from seeds.simulation import SimulationError, portfolio_summary


def bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


class Command(BaseCommand):
    help = (
        "Create the demo people, then a portfolio of real-shaped Kiva loans living through --days of history "
        "up to yesterday (funded, repaid, late, defaulted), closed each night. Running it again only carries "
        "the world on to yesterday."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loans", type=bounded(0, 1_000_000), default=600, help="loans posted over the history")
        parser.add_argument("--seed", type=bounded(0, 2**62), default=1, help="the world's random seed")
        parser.add_argument("--days", type=bounded(1, 3_650), default=365, help="days of history before today")

    def handle(self, *args: Any, **options: Any) -> None:
        logins = build_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for login in logins:
            self.stdout.write(f"  {login.email:<22} {login.role:<20} {login.note}")
        if not options["loans"]:
            return
        yesterday = timezone.localdate() - timedelta(days=1)
        try:
            report = build_portfolio(
                loans=options["loans"], seed=options["seed"], days=options["days"], until=yesterday,
                out=self.stdout.write,
            )  # fmt: skip
        except SimulationError as exc:
            raise CommandError(str(exc)) from None
        if report.days:
            totals = ", ".join(f"{v} {k}" for k, v in report.totals.items())
            self.stdout.write(f"Simulated {report.first} to {report.last} in {report.seconds:.0f}s: {totals}")
        summary = portfolio_summary()
        self.stdout.write(f"Portfolio: {summary['loans']} loans {summary['by_status']}")
