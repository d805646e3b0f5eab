"""`manage.py bench ledger|repayments`: the product's code next to a raw-SQL reference, in one run."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from lending.bench import ledger, repayments
from lending.bench.common import Comparison
from lending.bench.scratch import scratch_database
from lending.ledger.reconcile import reconcile


@dataclass(frozen=True)
class Target:
    what: str
    unit: str
    per_second_target: int
    ratio_target: float | None
    run: Callable[[dict[str, Any], Callable[[str], None]], Comparison]


TARGETS = {
    "ledger": Target(
        "journals shaped like a repayment to 40 lenders (41 transfers each)",
        "journals",
        150,
        0.5,
        lambda o, out: ledger.run(journals=o["count"], rounds=o["rounds"], lenders=o["lenders"], out=out),
    ),
    "repayments": Target(
        "repayment_record on loans with 40 lenders: allocation, 40-way split, journal, receipts",
        "repayments",
        150,
        None,
        lambda o, out: repayments.run(repayments=o["count"], rounds=o["rounds"], lenders=o["lenders"], out=out),
    ),
}


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError
    return number


class Command(BaseCommand):
    help = "Benchmark part of the product against a raw-SQL reference on a scratch database: ledger or repayments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", choices=sorted(TARGETS), help="what to benchmark")
        parser.add_argument("--count", "--journals", type=positive, default=500, help="operations per round and method")
        parser.add_argument("--rounds", type=positive, default=5, help="timed rounds per method (median reported)")
        parser.add_argument("--lenders", type=positive, default=40, help="lenders each repayment is split among")

    def handle(self, *args: Any, **options: Any) -> None:
        target = TARGETS[options["target"]]
        out = self.stdout.write
        with scratch_database() as name:
            with connection.cursor() as cursor:
                cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
                version = str(cursor.fetchone()[0]).split(" on ")[0]
            out(f"bench {options['target']}: {target.what}")
            out(f"database: {connection.vendor} {version} (scratch database {name})")
            out(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, one process")
            rounds, count, lenders = options["rounds"], options["count"], options["lenders"]
            out(f"{rounds} rounds x {count} {target.unit} per method, {lenders} lenders")
            result = target.run(options, out)
            report = reconcile()
            if not report.ok:
                raise CommandError(f"the benchmark left the ledger inconsistent: {report.violations[:3]}")
        out(f"service:           {result.service_per_second:8.1f} {target.unit}/s (median)")
        out(f"raw SQL reference: {result.raw_per_second:8.1f} {target.unit}/s (median)")
        if options["target"] == "ledger":
            per = options["lenders"] + 1
            out(f"transfers/s: service {result.service_per_second * per:.0f}, raw {result.raw_per_second * per:.0f}")
        out(f"ratio service/raw: {result.ratio:.2f}")
        out(f"ledger reconciles after the run: {report.journals} journals, {report.transfers} transfers")
        meets = result.service_per_second >= target.per_second_target and (
            target.ratio_target is None or result.ratio >= target.ratio_target
        )
        ratio_goal = f" and ratio >= {target.ratio_target}" if target.ratio_target else ""
        out(
            f"target (PostgreSQL, one process): >= {target.per_second_target} {target.unit}/s{ratio_goal}: "
            f"{'meets' if meets else 'MISSES'}"
        )
