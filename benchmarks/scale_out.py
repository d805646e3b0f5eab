"""The close of business in one process, then split among 1, 2, ... Celery workers each on its own queue.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME CELERY_BROKER_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python benchmarks/scale_out.py --loans 100000 --expiring 5000 --workers 1 2 --rounds 3

Seeds `manage.py bench close`'s portfolio once in a scratch database (bench_NAME): --loans paying-back
loans with 12 installments each, every (loans / expiring)-th of them turned into a loan still
fundraising past its deadline, so the close has per-loan Python work (expiries) besides its set-based
SQL (arrears). Before every timed close the seeded database is copied (CREATE DATABASE ... TEMPLATE),
so each close starts from the same rows; the workers (`celery worker -Q close-<k> --pool=solo`, one
queue each, concurrency 1) are started and ready before the clock starts. Prints each close's time,
its steps, and a fingerprint of what it wrote (loan rows, loan events, ledger balances, snapshot
rows): one fingerprint for every run means every way of closing gave the same result.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PER_LOAN = ("expire_fundraising", "refresh_arrears", "classify_defaults")


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def _sql(statement: str) -> None:
    from django.db import connection

    with connection._nodb_cursor() as cursor:  # the server's maintenance database, as Django's test runner does
        cursor.execute(statement)


def _make_expiring(first: int, last: int, expiring: int, on: Any) -> int:
    """Turn every n-th seeded loan into one still fundraising after its deadline (spread over the ids)."""
    from django.db import connection

    from lending.loans.models import Installment, Loan, LoanEvent

    if expiring == 0:
        return 0
    every = max(1, (last - first + 1) // expiring)
    loan, inst, event = Loan._meta.db_table, Installment._meta.db_table, LoanEvent._meta.db_table
    chosen = f"SELECT id FROM {loan} WHERE id BETWEEN %(first)s AND %(last)s AND (id - %(first)s) %% %(every)s = 0"
    params = {"first": first, "last": last, "every": every, "on": on}
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {inst} WHERE loan_id IN ({chosen})", params)
        cursor.execute(f"DELETE FROM {event} WHERE loan_id IN ({chosen})", params)
        cursor.execute(
            f"UPDATE {loan} SET status = 'fundraising', raised_cents = 0, disbursed_on = NULL, maturity_date = NULL, "
            f"fundraising_deadline = CAST(%(on)s AS date) - CAST(1 + id %% 30 AS integer) WHERE id IN ({chosen})",
            params,
        )
        count = cursor.rowcount
        cursor.execute("ANALYZE")
    return count


def _fingerprint() -> str:
    """md5 of everything a close writes, keyed by what every copy shares (ids seeded once, codes, dates)."""
    from django.db import connection

    from lending.ledger.models import LedgerAccount
    from lending.loans.models import Loan, LoanEvent
    from lending.metrics.models import PortfolioSnapshot

    figures = [f.column for f in PortfolioSnapshot._meta.concrete_fields if f.name not in {"id", "created_at"}]
    parts = [
        f"SELECT string_agg(concat_ws(',', id, status, days_past_due, amount_past_due_cents, delinquent, "
        f"arrears_as_of, written_off_cents, ended_on), ';' ORDER BY id) FROM {Loan._meta.db_table}",
        f"SELECT string_agg(concat_ws(',', loan_id, from_status, to_status, business_date), ';' "
        f"ORDER BY loan_id, business_date, to_status) FROM {LoanEvent._meta.db_table}",
        f"SELECT string_agg(concat_ws(',', code, debits_posted_cents, credits_posted_cents), ';' ORDER BY code) "
        f"FROM {LedgerAccount._meta.db_table}",
        f"SELECT string_agg(concat_ws(',', {', '.join(figures)}), ';' ORDER BY dimension, key, currency) "
        f"FROM {PortfolioSnapshot._meta.db_table}",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT md5(concat_ws('|', ({'), ('.join(parts)})))")
        return str(cursor.fetchone()[0])


def _start_workers(count: int, database: str) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    queues = [f"close-{chr(ord('a') + k)}" for k in range(count)]
    workers, logs = [], []
    for queue in queues:
        log = Path(tempfile.mkstemp(prefix=f"scale-out-{queue}-", suffix=".log")[1])
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool=solo",
                   "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "--loglevel=INFO"]  # fmt: skip
        with log.open("wb") as out:
            workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))  # noqa: S603
        logs.append(log)
    deadline = time.monotonic() + 120
    while not all(" ready." in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            _stop(workers)
            raise SystemExit(f"close workers did not start; see {', '.join(map(str, logs))}")
        time.sleep(0.2)
    return workers, queues


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def _close_once(template: str, workers: int, ranges_per_worker: int, on: Any) -> dict[str, Any]:
    """Copy the seeded database, close `on` in it (here, or with `workers` workers), fingerprint, drop it."""
    from django.db import connection

    from lending.jobs.close import close_business_day
    from lending.jobs.partitioned import close_business_day_partitioned

    copy = f"{template}_run"
    _sql(f'DROP DATABASE IF EXISTS "{copy}"')
    _sql(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
    connection.settings_dict["NAME"] = copy
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if workers:
            processes, queues = _start_workers(workers, copy)
        before = f"{os.getloadavg()[0]:.1f}"
        started = time.perf_counter()
        if workers:
            result = close_business_day_partitioned(
                on=on, partitions=workers * ranges_per_worker, queues=queues, grace_seconds=600
            )
        else:
            result = close_business_day(on=on)
        seconds = time.perf_counter() - started
        assert result.ran, result
        return {"seconds": seconds, "steps": result.steps, "fingerprint": _fingerprint(), "load": before}
    finally:
        _stop(processes)
        connection.close()
        connection.settings_dict["NAME"] = template
        _sql(f'DROP DATABASE IF EXISTS "{copy}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=100_000, help="paying-back loans to seed (12 installments each)")
    parser.add_argument("--expiring", type=int, default=5_000, help="of those, loans still fundraising past deadline")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time (0: one process)")
    parser.add_argument("--ranges-per-worker", type=int, default=1, help="id ranges per worker and step")
    parser.add_argument("--rounds", type=int, default=3, help="closes per way of closing (median reported)")
    options = parser.parse_args()
    _setup_django()

    from django.conf import settings
    from django.db import connection
    from django.test.utils import override_settings

    from lending.bench.close import SPREAD_DAYS, START, seed
    from lending.bench.scratch import scratch_database

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        raise SystemExit("needs PostgreSQL and Redis: set DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://...")
    on = START + timedelta(days=SPREAD_DAYS // 2)
    ways = [0, *[w for w in options.workers if w > 0]]
    runs: dict[int, list[dict[str, Any]]] = {way: [] for way in ways}
    with override_settings(DEBUG=False), scratch_database() as template:
        started = time.perf_counter()
        first, last = seed(options.loans)
        expiring = _make_expiring(first, last, options.expiring, on)
        print(f"seeded {options.loans} loans ({expiring} fundraising past deadline) in "
              f"{time.perf_counter() - started:.0f}s; closing {on}; {os.cpu_count()} cores")  # fmt: skip
        connection.close()  # a template database must have no connection
        for round_ in range(options.rounds):
            for way in ways:
                run = _close_once(template, way, options.ranges_per_worker, on)
                runs[way].append(run)
                steps = ", ".join(
                    f"{name} {s['seconds']:.2f}s" + (f" ({s['range_seconds']:.2f}s in ranges)" if "ranges" in s else "")
                    for name, s in run["steps"].items()
                )
                label = "one process" if way == 0 else f"{way} worker{'s' * (way > 1)}"
                print(f"round {round_ + 1} {label:<12} {run['seconds']:7.2f}s  (load {run['load']}) "
                      f"{run['fingerprint'][:12]}  {steps}")  # fmt: skip
    print("\nmedian close seconds, and of its per-loan steps (expire, arrears, defaults):")
    for way, done in runs.items():
        label = (
            "one process" if way == 0 else f"{way} worker{'s' * (way > 1)} ({way * options.ranges_per_worker} ranges)"
        )
        per_loan = [sum(r["steps"][s]["seconds"] for s in PER_LOAN) for r in done]
        print(f"  {label:<24} {statistics.median(r['seconds'] for r in done):7.2f}s   "
              f"per-loan steps {statistics.median(per_loan):6.2f}s")  # fmt: skip
    prints = {r["fingerprint"] for done in runs.values() for r in done}
    print(
        f"results: {'identical' if len(prints) == 1 else 'DIFFERENT'} across all {sum(map(len, runs.values()))} closes"
    )
    if len(prints) != 1:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
