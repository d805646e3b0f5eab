"""Ledger benchmark: journals shaped like a repayment to 40 lenders, via the service and via raw SQL.

Each journal debits the processor-cash account and credits 40 lender wallets plus the platform's
fee income (41 transfers), in its own transaction, as a real repayment would be posted. The raw
reference does the same inserts, row locks and balance updates with the DB-API connection
underneath Django (psycopg on PostgreSQL), so the ratio shows what the service layer costs.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from lending.ledger.chart import AccountType
from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.ledger.services import Line, account_open, journal_post, platform_account
from lending.money import split_pro_rata

FEE_BASIS_POINTS = 300  # 3% of each repayment to the platform in this synthetic shape


@dataclass(frozen=True)
class Fixture:
    source: LedgerAccount
    fee: LedgerAccount
    wallets: list[LedgerAccount]
    shares: list[int]  # each lender's number of $25 shares: the split weights


@dataclass(frozen=True)
class RoundResult:
    method: str
    journals: int
    seconds: float

    @property
    def journals_per_second(self) -> float:
        return self.journals / self.seconds


def build_fixture(lenders: int) -> Fixture:
    wallets = [
        account_open(account_type=AccountType.LENDER_WALLET, currency="USD", ref=f"bench-lender:{i}")
        for i in range(lenders)
    ]
    return Fixture(
        source=platform_account(AccountType.PROCESSOR_CASH, "USD"),
        fee=platform_account(AccountType.FEE_INCOME, "USD"),
        wallets=wallets,
        shares=[1 + (i * 7) % 5 for i in range(lenders)],  # 1 to 5 shares each, fixed
    )


def repayment_amounts(fixture: Fixture, n: int) -> tuple[list[int], int]:
    """The n-th repayment: varying totals, split pro rata to the lenders after the platform's fee."""
    total = 25_000 + (n * 137) % 10_000
    fee = total * FEE_BASIS_POINTS // 10_000
    return split_pro_rata(total - fee, fixture.shares), fee


def post_with_service(fixture: Fixture, key: str, n: int) -> None:
    parts, fee = repayment_amounts(fixture, n)
    lines = [Line(debit=fixture.source, credit=w, amount_cents=p) for w, p in zip(fixture.wallets, parts, strict=True)]
    lines.append(Line(debit=fixture.source, credit=fixture.fee, amount_cents=fee))
    journal_post(idempotency_key=key, kind="repayment", lines=lines, description="benchmark repayment")


def make_raw_poster(fixture: Fixture) -> Callable[[str, int], None]:
    """The same writes as the service, as hand-written SQL on the raw DB-API connection."""
    connection.ensure_connection()
    raw = connection.connection
    postgres = connection.vendor == "postgresql"
    ph = "%s" if postgres else "?"
    account_t, journal_t, transfer_t = (m._meta.db_table for m in (LedgerAccount, Journal, Transfer))
    ids = [fixture.source.pk, fixture.fee.pk, *(w.pk for w in fixture.wallets)]
    ordered = sorted(ids)
    lock_sql = (
        f"SELECT id, currency, bound, debits_posted_cents, credits_posted_cents FROM {account_t} "
        f"WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
    )
    journal_sql = (
        f"INSERT INTO {journal_t} (idempotency_key, kind, description, effective_at, created_at, fingerprint, "
        f"metadata) VALUES ({', '.join([ph] * 7)}) RETURNING id"
    )
    n_transfers = len(fixture.wallets) + 1
    transfer_sql = (
        f"INSERT INTO {transfer_t} (journal_id, debit_account_id, credit_account_id, amount_cents, currency) "
        f"VALUES {', '.join([f'({ph}, {ph}, {ph}, {ph}, {ph})'] * n_transfers)}"
    )
    update_sql = (
        f"UPDATE {account_t} SET debits_posted_cents = {account_t}.debits_posted_cents + v.column2, "
        f"credits_posted_cents = {account_t}.credits_posted_cents + v.column3 FROM (VALUES "
        + ", ".join([f"(CAST({ph} AS BIGINT), CAST({ph} AS BIGINT), CAST({ph} AS BIGINT))"] * (n_transfers + 1))
        + f") AS v WHERE {account_t}.id = v.column1"
    )

    def post(key: str, n: int) -> None:
        parts, fee = repayment_amounts(fixture, n)
        credits = [*zip((w.pk for w in fixture.wallets), parts, strict=True), (fixture.fee.pk, fee)]
        fingerprint = hashlib.sha256(
            ("repayment|" + ";".join(f"{fixture.source.pk}>{c}:{a}" for c, a in credits)).encode()
        ).hexdigest()
        now = timezone.now()
        cursor = raw.cursor()
        cursor.execute("BEGIN" if postgres else "BEGIN IMMEDIATE")
        cursor.execute(journal_sql, [key, "repayment", "benchmark repayment", now, now, fingerprint, "{}"])
        journal_id = cursor.fetchone()[0]
        if postgres:
            cursor.execute(lock_sql, [ordered])
            cursor.fetchall()
        params: list[object] = []
        for account_id, amount in credits:
            params += [journal_id, fixture.source.pk, account_id, amount, "USD"]
        cursor.execute(transfer_sql, params)
        deltas = [fixture.source.pk, sum(a for _, a in credits), 0]
        for account_id, amount in credits:
            deltas += [account_id, 0, amount]
        cursor.execute(update_sql, deltas)
        cursor.execute("COMMIT")
        cursor.close()

    if postgres:
        raw.autocommit = True  # explicit BEGIN/COMMIT above, as Django's autocommit mode expects
    return post


def run_round(method: str, poster: Callable[[str, int], None], journals: int, round_no: int) -> RoundResult:
    start = time.perf_counter()
    for n in range(journals):
        poster(f"bench:{method}:{round_no}:{n}", n)
    return RoundResult(method, journals, time.perf_counter() - start)


def run(*, journals: int, rounds: int, lenders: int, out: Callable[[str], None]) -> dict[str, float]:
    fixture = build_fixture(lenders)
    service = lambda key, n: post_with_service(fixture, key, n)  # noqa: E731
    raw = make_raw_poster(fixture)
    # Warm both paths (connection, statement caches, the ORM's compiled queries) before timing.
    run_round("service-warmup", service, min(20, journals), 0)
    run_round("raw-warmup", raw, min(20, journals), 0)
    results: dict[str, list[float]] = {"service": [], "raw": []}
    for round_no in range(1, rounds + 1):
        order = [("service", service), ("raw", raw)]
        if round_no % 2 == 0:
            order.reverse()  # alternate, so neither always runs on a warmer cache
        for method, poster in order:
            result = run_round(method, poster, journals, round_no)
            results[method].append(result.journals_per_second)
            out(f"  round {round_no} {method:<8} {result.journals_per_second:8.1f} journals/s")
    service_median = statistics.median(results["service"])
    raw_median = statistics.median(results["raw"])
    return {
        "service_journals_per_s": service_median,
        "raw_journals_per_s": raw_median,
        "transfers_per_journal": lenders + 1,
        "ratio": service_median / raw_median,
    }
