"""What every benchmark shares: timed rounds, alternating order, medians, and the raw DB-API connection."""

from __future__ import annotations

import contextlib
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from lending.db import int_array
from lending.ledger.sql import ACCOUNT, TRANSFER

Poster = Callable[[str, int], None]


@dataclass(frozen=True)
class Comparison:
    service_per_second: float
    raw_per_second: float

    @property
    def ratio(self) -> float:
        return self.service_per_second / self.raw_per_second


def per_second(poster: Poster, count: int, label: str) -> float:
    start = time.perf_counter()
    for n in range(count):
        poster(f"{label}:{n}", n)
    return count / (time.perf_counter() - start)


def compare(
    *, service: Poster, raw: Poster, count: int, rounds: int, unit: str, out: Callable[[str], None]
) -> Comparison:
    """Warm both paths, then time `rounds` rounds of each, alternating which goes first; report medians."""
    per_second(service, min(20, count), "warm-service")
    per_second(raw, min(20, count), "warm-raw")
    rates: dict[str, list[float]] = {"service": [], "raw": []}
    for round_no in range(1, rounds + 1):
        order = [("service", service), ("raw", raw)]
        if round_no % 2 == 0:
            order.reverse()  # neither path always runs on the warmer cache
        for method, poster in order:
            rate = per_second(poster, count, f"{method}-{round_no}")
            rates[method].append(rate)
            out(f"  round {round_no} {method:<8} {rate:8.1f} {unit}/s")
    return Comparison(statistics.median(rates["service"]), statistics.median(rates["raw"]))


def commit_ms(samples: int = 100) -> float:
    """Median time of a one-row INSERT committed on its own, in the current (scratch) database.

    Write benchmarks commit once per journal or repayment, so their rates follow how fast the machine
    makes a commit durable as much as the code: printed beside the figures, it tells runs on different
    machines apart. The ratios to the raw-SQL references are the figures to compare across machines.
    """
    times = []
    with connection.cursor() as cursor:  # Django's autocommit: each statement is its own transaction
        cursor.execute("CREATE TABLE bench_commit_probe (n integer)")
        try:
            for n in range(samples):
                start = time.perf_counter()
                cursor.execute("INSERT INTO bench_commit_probe (n) VALUES (%s)", [n])
                times.append(time.perf_counter() - start)
        finally:
            cursor.execute("DROP TABLE bench_commit_probe")
    return statistics.median(times) * 1000


class RawSQL:
    """The DB-API connection underneath Django (psycopg on PostgreSQL), with explicit transactions."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.conn: Any = connection.connection
        self.postgres = connection.vendor == "postgresql"
        self.ph = "%s" if self.postgres else "?"
        if self.postgres:
            self.conn.autocommit = True  # BEGIN/COMMIT are explicit below

    def sql(self, text: str) -> str:
        """Write statements with %s; SQLite's driver wants ?."""
        return text if self.postgres else text.replace("%s", "?")

    def rows(self, names: list[str], types: list[str], rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
        """A subquery of `rows` with named columns: one array per column on PostgreSQL, VALUES on SQLite."""
        if self.postgres:
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            return f"(SELECT * FROM unnest({arrays}) AS u({', '.join(names)}))", [
                int_array(c) if t == "bigint" else list(c) for t, c in zip(types, zip(*rows, strict=True), strict=True)
            ]
        columns = ", ".join(f"column{i + 1} AS {name}" for i, name in enumerate(names))
        values = ", ".join(["(" + ", ".join(["?"] * len(names)) + ")"] * len(rows))
        return f"(SELECT {columns} FROM (VALUES {values}))", [v for row in rows for v in row]

    def pipeline(self) -> Any:
        """psycopg's pipeline mode on PostgreSQL, as `lending.db.pipeline` gives the product; else nothing."""
        return self.conn.pipeline() if self.postgres else contextlib.nullcontext()

    def send(self, text: str, params: list[Any]) -> Callable[[], list[tuple[Any, ...]]]:
        """Execute a statement that returns rows; the function returned gives them (awaited then, in a pipeline)."""
        cursor = self.conn.cursor()
        cursor.execute(self.sql(text), params)
        if not self.postgres:
            rows = cursor.fetchall()
            return lambda: rows

        def read() -> list[tuple[Any, ...]]:
            with cursor:
                return list(cursor.fetchall())

        return read

    def write_transfers(self, cursor: Any, journal_id: int, lines: list[tuple[int, int, int]], currency: str) -> None:
        """A journal's (debit, credit, amount) transfers, then every account's added totals: two statements."""
        source, params = self.rows(
            ["j", "d", "c", "a", "cur"], ["bigint", "bigint", "bigint", "bigint", "varchar"],
            [(journal_id, d, c, a, currency) for d, c, a in lines],
        )  # fmt: skip
        cursor.execute(
            f"INSERT INTO {TRANSFER} (journal_id, debit_account_id, credit_account_id, amount_cents, currency) "
            f"SELECT j, d, c, a, cur FROM {source} AS v",
            params,
        )
        deltas: dict[int, list[int]] = {}  # account: [debits, credits] to add
        for d, c, a in lines:
            deltas.setdefault(d, [0, 0])[0] += a
            deltas.setdefault(c, [0, 0])[1] += a
        source, params = self.rows(["id", "d", "c"], ["bigint"] * 3, [(i, *v) for i, v in sorted(deltas.items())])
        cursor.execute(
            f"UPDATE {ACCOUNT} SET debits_posted_cents = {ACCOUNT}.debits_posted_cents + v.d, "
            f"credits_posted_cents = {ACCOUNT}.credits_posted_cents + v.c FROM {source} AS v WHERE {ACCOUNT}.id = v.id",
            params,
        )

    def begin(self) -> Any:
        cursor = self.conn.cursor()
        cursor.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        return cursor

    @staticmethod
    def commit(cursor: Any) -> None:
        cursor.execute("COMMIT")
        cursor.close()


class NotAvailable(Exception):
    """A benchmark whose subject is not installed (or has no input here): its row says why and is skipped."""


@dataclass(frozen=True)
class Measurement:
    """One row of `manage.py bench`'s table.

    `seconds` is the time of one `per` (a journal, a request, the whole close); `rate` is `unit`s per
    second; `ratio` is the product's speed over its raw-SQL reference's (1.0: as fast as hand-written
    SQL, 0.5: half as fast), or None where there is no reference.
    """

    operation: str
    size: str
    seconds: float
    per: str
    rate: float
    unit: str
    ratio: float | None
    target: str
    meets: bool | None
    note: str = ""


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def postgres_peak_rss_mib() -> float | None:
    """Peak resident memory of this connection's PostgreSQL backend (VmHWM), when the server is on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
