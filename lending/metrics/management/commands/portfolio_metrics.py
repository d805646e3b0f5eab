"""`manage.py portfolio_metrics [--as-of DATE] [--by DIMENSION] [--format table|json]`: print a snapshot."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lending.jobs.close import last_closed
from lending.jobs.management.commands.close_business_day import iso_date
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.selectors import portfolio_report
from lending.money import format_money

RATES = [
    "par_1",
    "par_30",
    "par_90",
    "delinquency_rate",
    "default_rate_by_amount",
    "default_rate_by_count",
    "repayment_rate",
]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


class Command(BaseCommand):
    help = "Print the portfolio snapshot for a business date (computed first if that date has none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=iso_date, help="business date, YYYY-MM-DD (default: the last closed date)")
        parser.add_argument("--by", choices=PortfolioSnapshot.Dimension.values, default="platform")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        on = options["as_of"] or last_closed() or timezone.localdate() - timedelta(days=1)
        report = portfolio_report(on=on, dimension=options["by"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        self.stdout.write(f"portfolio as of {report['as_of']} by {report['by']} (formula v{report['formula_version']})")
        header = f"{'group':<16} {'outstanding':>14} {'past due':>12} " + " ".join(f"{r[:12]:>12}" for r in RATES)
        self.stdout.write(header)
        for group in report["groups"]:
            cur = group["currency"]
            self.stdout.write(
                f"{(group['key'] or 'all')[:16]:<16} {format_money(group['outstanding_principal'], cur):>14} "
                f"{format_money(group['amount_past_due'], cur):>12} " + " ".join(f"{_pct(group[r]):>12}" for r in RATES)
            )
