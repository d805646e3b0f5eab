"""`manage.py bench [target]`: the product's code next to a raw-SQL reference, in one run.

With no target, every benchmark at `--scale small|medium|full`, printed as one table
(`lending.bench.table`); with one, that benchmark alone with its details.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from lending.bench import close, dashboard, ledger, repayments, scale, table
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


CLOSE_SECONDS_PER_100K = 30  # target: 100,000 loans in 30 s, 1,000,000 in 5 minutes

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
    help = "Benchmark the product against raw-SQL references on scratch databases: every benchmark as a table, or one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target", nargs="?", choices=[*sorted(TARGETS), "close", "dashboard", "scale"],
            help="one benchmark; none: every benchmark at --scale, as one table",
        )  # fmt: skip
        parser.add_argument("--scale", choices=table.SCALES, default="small",
                            help="the table's sizes: small (CI), medium, full (the README's figures)")  # fmt: skip
        parser.add_argument("--only", default="", help="the table: only these benchmarks, comma-separated")
        parser.add_argument("--count", "--journals", type=positive, default=500, help="operations per round and method")
        parser.add_argument("--rounds", type=positive, default=5, help="timed rounds per method (median reported)")
        parser.add_argument("--lenders", type=positive, default=None,
                            help="lenders a repayment is split among (40); scale: lenders per loan (30)")  # fmt: skip
        parser.add_argument("--loans", type=positive, default=100_000, help="close, scale: paying-back loans to seed")
        parser.add_argument("--lender-loans", type=positive, default=2_000, help="dashboard: the lender's loans")
        parser.add_argument("--overdue-per-mille", type=int, default=scale.OVERDUE_PER_MILLE,
                            help="scale: loans per thousand overdue past the 6-month default rule (10)")  # fmt: skip
        parser.add_argument("--no-reconcile", action="store_true", help="scale: skip reconcile after the close")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["target"] is None:
            self._table(options)
            return
        if options["target"] == "scale":
            self._scale(options)
            return
        options["lenders"] = options["lenders"] or 40
        if options["target"] == "close":
            self._close(options)
            return
        if options["target"] == "dashboard":
            self._dashboard(options)
            return
        target = TARGETS[options["target"]]
        out = self.stdout.write
        # DEBUG makes Django record every query it runs; production does not, so neither does the bench.
        with override_settings(DEBUG=False), scratch_database() as name:
            out(f"bench {options['target']}: {target.what}")
            out(f"scratch database {name}; machine: {table.machine()}; DEBUG off")
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

    def _close(self, options: dict[str, Any]) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench close needs PostgreSQL (it seeds with generate_series): set DATABASE_URL")
        out = self.stdout.write
        loans = options["loans"]
        with scratch_database() as name:
            out(f"bench close: one close of business over {loans} paying-back loans")
            out(f"scratch database {name}; machine: {table.machine()}; one process")
            figures = close.run(loans=loans, repeats=options["rounds"], out=out)
        target = CLOSE_SECONDS_PER_100K * loans / 100_000
        out(f"close: {figures['close_seconds']:.1f}s, {figures['loans_per_second']:.0f} loans/s")
        out(
            f"arrears step {figures['arrears_seconds']:.2f}s vs single-statement SQL reference "
            f"{figures['reference_seconds']:.2f}s (median of {options['rounds']}): ratio {figures['ratio']:.2f}"
        )
        out(f"target: {loans} loans in {target:.0f}s: {'meets' if figures['close_seconds'] <= target else 'MISSES'}")

    def _dashboard(self, options: dict[str, Any]) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench dashboard needs PostgreSQL (it seeds with generate_series): set DATABASE_URL")
        out = self.stdout.write
        with override_settings(DEBUG=False), scratch_database() as name:
            out(f"bench dashboard: scratch database {name}; machine: {table.machine()}; one process, DEBUG off")
            dashboard.report(dashboard.run(loans=options["lender_loans"], rounds=options["rounds"], out=out), out)

    def _table(self, options: dict[str, Any]) -> None:
        known = [b.name for b in table.BENCHMARKS]
        only = [name.strip() for name in options["only"].split(",") if name.strip()]
        unknown = [name for name in only if name not in known]
        if unknown:
            raise CommandError(f"--only: {', '.join(unknown)} is not a benchmark; choose from {', '.join(known)}.")
        started = time.perf_counter()
        rows, machine = table.run_all(scale=options["scale"], only=only, out=self.stdout.write, err=self.stderr.write)
        self.stdout.write("")
        self.stdout.write(f"bench --scale {options['scale']} on {machine}, one process (funding: threads)")
        for line in [*table.format_table(rows), *table.footer(rows, time.perf_counter() - started)]:
            self.stdout.write(line)
        failed = [row.benchmark for row in rows if row.error]
        if failed:
            raise CommandError(f"{len(failed)} benchmark(s) failed: {', '.join(failed)} (traceback above).")

    def _scale(self, options: dict[str, Any]) -> None:
        lenders = options["lenders"] or 30
        if lenders > 200:
            raise CommandError(f"--lenders: {lenders} lenders of $25-50 would make a loan above LOAN_MAX_CENTS; "
                               "use at most 200.")  # fmt: skip
        overdue = options["overdue_per_mille"]
        if not 0 <= overdue <= 1000 - scale.LATE_PER_MILLE:
            raise CommandError(f"--overdue-per-mille: {overdue} is not between 0 and {1000 - scale.LATE_PER_MILLE}.")
        if connection.vendor != "postgresql":
            raise CommandError("bench scale needs PostgreSQL (it seeds with generate_series): set DATABASE_URL.")
        out = self.stdout.write
        with override_settings(DEBUG=False), scratch_database() as name:
            out(f"bench scale: {options['loans']:,} paying-back loans x {lenders} lenders, ledger-consistent; "
                f"scratch database {name}; {table.machine()}; one process")  # fmt: skip
            figures = scale.run(
                loans=options["loans"], lenders=lenders, rounds=options["rounds"], overdue_per_mille=overdue,
                check=not options["no_reconcile"], out=out,
            )  # fmt: skip
        target = scale.CLOSE_SECONDS_PER_100K * options["loans"] / 100_000
        seed_target = scale.SEED_SECONDS_PER_100K_X30 * options["loans"] * lenders / 3_000_000
        seeded = "meets" if figures["portfolio"].seconds <= seed_target else "MISSES"
        closed = "meets" if figures["close_seconds"] <= target else "MISSES"
        out(f"target: seed in {seed_target:.1f}s: {seeded}; close in {target:.1f}s: {closed}")
        if figures.get("reconciled") is False:
            raise CommandError("the seeded portfolio does not reconcile after the close (violations above).")
