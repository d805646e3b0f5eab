"""Ledger benchmark: journals shaped like a repayment to 40 lenders, via the service and via raw SQL.

Each journal debits the processor-cash account and credits 40 lender wallets plus the platform's
fee income (41 transfers), in its own transaction, as a real repayment would be posted. The raw
reference does the same inserts, row locks and balance updates with the DB-API connection
underneath Django (psycopg on PostgreSQL), pipelined into the same round trips as the service, so
the ratio shows what the service layer costs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from lending.bench.common import Comparison, Measurement, Poster, RawSQL, compare
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import Line, account_open, journal_post, platform_account
from lending.ledger.sql import ACCOUNT, JOURNAL
from lending.money import split_pro_rata

FEE_BASIS_POINTS = 300  # 3% of each repayment to the platform in this synthetic shape


@dataclass(frozen=True)
class Fixture:
    source: LedgerAccount
    fee: LedgerAccount
    wallets: list[LedgerAccount]
    shares: list[int]  # each lender's number of $25 shares: the split weights


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


def make_raw_poster(fixture: Fixture) -> Poster:
    """The same writes as the service, as hand-written SQL on the raw DB-API connection."""
    db = RawSQL()
    ids = sorted([fixture.source.pk, fixture.fee.pk, *(w.pk for w in fixture.wallets)])
    lock_sql = db.sql(
        f"SELECT id, currency, bound, debits_posted_cents, credits_posted_cents FROM {ACCOUNT} "
        f"WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id FOR UPDATE"
    )
    journal_sql = db.sql(
        f"INSERT INTO {JOURNAL} (idempotency_key, kind, description, effective_at, created_at, fingerprint, "
        "reverses_id, metadata) VALUES (%s, %s, %s, %s, %s, %s, NULL, %s) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    adapt = connection.ops.adapt_datetimefield_value

    def post(key: str, n: int) -> None:
        parts, fee = repayment_amounts(fixture, n)
        credits = [*zip((w.pk for w in fixture.wallets), parts, strict=True), (fixture.fee.pk, fee)]
        fingerprint = hashlib.sha256(
            ("repayment|" + ";".join(f"{fixture.source.pk}>{c}:{a}" for c, a in credits)).encode()
        ).hexdigest()
        now = adapt(timezone.now())
        with db.pipeline():  # as the service: the journal row and the locks in one round trip, the writes in one
            cursor = db.begin()
            journal = db.send(journal_sql, [key, "repayment", "benchmark repayment", now, now, fingerprint, "{}"])
            # SQLite's BEGIN IMMEDIATE already holds the only write lock
            locked = db.send(lock_sql, ids) if db.postgres else list
            journal_id = journal()[0][0]
            locked()
            db.write_transfers(cursor, journal_id, [(fixture.source.pk, c, a) for c, a in credits], "USD")
        db.commit(cursor)

    return post


def run(*, journals: int, rounds: int, lenders: int, out: Callable[[str], None]) -> Comparison:
    fixture = build_fixture(lenders)
    return compare(
        service=lambda key, n: post_with_service(fixture, key, n),
        raw=make_raw_poster(fixture),
        count=journals,
        rounds=rounds,
        unit="journals",
        out=out,
    )


TARGET_PER_SECOND = 150
TARGET_RATIO = 0.5


def measure(*, out: Callable[[str], None], journals: int, rounds: int, lenders: int) -> Measurement:
    result = run(journals=journals, rounds=rounds, lenders=lenders, out=out)
    return Measurement(
        operation=f"journal_post: a repayment's journal ({lenders + 1} transfers)",
        size=f"{rounds} x {journals} journals",
        seconds=1 / result.service_per_second,
        per="journal",
        rate=result.service_per_second,
        unit="journals",
        ratio=result.ratio,
        target=f">= {TARGET_PER_SECOND}/s and >= {TARGET_RATIO}",
        meets=result.service_per_second >= TARGET_PER_SECOND and result.ratio >= TARGET_RATIO,
    )
