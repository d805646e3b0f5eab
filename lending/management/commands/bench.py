"""`manage.py bench ledger`: throughput of the product's code next to a raw-SQL reference, in one run."""

from __future__ import annotations

import os
import platform
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from lending.bench import ledger
from lending.bench.scratch import scratch_database
from lending.ledger.reconcile import reconcile

TARGETS = {"ledger": "journals shaped like a repayment to 40 lenders (41 transfers each)"}
LEDGER_TARGET_JOURNALS_PER_S = 150
LEDGER_TARGET_RATIO = 0.5


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError
    return number


class Command(BaseCommand):
    help = "Benchmark a part of the product against a raw-SQL reference, on a scratch database. Targets: ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", choices=sorted(TARGETS), help="what to benchmark")
        parser.add_argument("--journals", type=positive, default=500, help="journals per round and method")
        parser.add_argument("--rounds", type=positive, default=5, help="timed rounds per method (median reported)")
        parser.add_argument("--lenders", type=positive, default=40, help="lenders each repayment is split among")

    def handle(self, *args: Any, **options: Any) -> None:
        out = self.stdout.write
        vendor = connection.vendor
        with scratch_database() as name:
            with connection.cursor() as cursor:
                cursor.execute("SELECT version()" if vendor == "postgresql" else "SELECT sqlite_version()")
                version = cursor.fetchone()[0]
            out(f"bench ledger: {TARGETS['ledger']}")
            out(f"database: {vendor} {str(version).split(' on ')[0]} (scratch database {name})")
            out(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, one process")
            out(f"{options['rounds']} rounds x {options['journals']} journals per method, {options['lenders']} lenders")
            figures = ledger.run(
                journals=options["journals"], rounds=options["rounds"], lenders=options["lenders"], out=out
            )
            report = reconcile()
            if not report.ok:
                raise CommandError(f"the benchmark left the ledger inconsistent: {report.violations[:3]}")
        per = figures["transfers_per_journal"]
        service, raw, ratio = figures["service_journals_per_s"], figures["raw_journals_per_s"], figures["ratio"]
        out(f"service (journal_post): {service:8.1f} journals/s  {service * per:9.0f} transfers/s  (median)")
        out(f"raw SQL reference:      {raw:8.1f} journals/s  {raw * per:9.0f} transfers/s  (median)")
        out(f"ratio service/raw: {ratio:.2f}")
        out(f"ledger reconciles after the run: {report.journals} journals, {report.transfers} transfers")
        meets = service >= LEDGER_TARGET_JOURNALS_PER_S and ratio >= LEDGER_TARGET_RATIO
        verdict = "meets" if meets else "MISSES"
        out(
            f"target (PostgreSQL): >= {LEDGER_TARGET_JOURNALS_PER_S} journals/s and ratio >= {LEDGER_TARGET_RATIO}: "
            f"{verdict}"
        )
