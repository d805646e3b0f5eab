"""Prove the ledger consistent: set-based SQL checks of every invariant the posting service keeps.

1. every journal has transfers, each positive, between two distinct accounts of its currency;
2. every account's cached debit and credit totals equal the sums of its transfers;
3. no bounded account is past its bound now, nor was after any journal in its history;
4. per currency, all debits equal all credits (the books sum to zero), in the cache and in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from lending.ledger.chart import Bound
from lending.ledger.sql import ACCOUNT, JOURNAL, TRANSFER


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


@dataclass(slots=True)
class ReconcileReport:
    accounts: int = 0
    journals: int = 0
    transfers: int = 0
    totals_by_currency: dict[str, tuple[int, int]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _rows(sql: str, params: Sequence[str | int] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def reconcile() -> ReconcileReport:
    """Run every check and return the report; it writes nothing."""
    report = ReconcileReport()
    ((report.accounts,),) = _rows(f"SELECT COUNT(*) FROM {ACCOUNT}")
    ((report.journals,),) = _rows(f"SELECT COUNT(*) FROM {JOURNAL}")
    ((report.transfers,),) = _rows(f"SELECT COUNT(*) FROM {TRANSFER}")
    for check in (_journals_well_formed, _cache_matches_log, _bounds_now, _bounds_in_history, _currencies_sum_to_zero):
        report.violations.extend(check(report))
    return report


def _journals_well_formed(report: ReconcileReport) -> list[Violation]:
    found = [
        Violation("journal", f"journal {jid} ({key})", "has no transfers")
        for jid, key in _rows(
            f"SELECT j.id, j.idempotency_key FROM {JOURNAL} j "
            f"WHERE NOT EXISTS (SELECT 1 FROM {TRANSFER} t WHERE t.journal_id = j.id) ORDER BY j.id"
        )
    ]
    found += [
        Violation(
            "transfer",
            f"journal {jid} transfer {tid}",
            f"{amount} {currency} from {dcode} ({dcur}) to {ccode} ({ccur}) is not a positive amount "
            "between two distinct accounts of its currency",
        )
        for tid, jid, amount, currency, dcode, dcur, ccode, ccur in _rows(
            f"SELECT t.id, t.journal_id, t.amount_cents, t.currency, d.code, d.currency, c.code, c.currency "
            f"FROM {TRANSFER} t JOIN {ACCOUNT} d ON d.id = t.debit_account_id "
            f"JOIN {ACCOUNT} c ON c.id = t.credit_account_id "
            f"WHERE t.amount_cents <= 0 OR d.id = c.id OR t.currency <> d.currency OR t.currency <> c.currency "
            f"ORDER BY t.id"
        )
    ]
    return found


_LOGGED_TOTALS = f"""
    SELECT a.id, a.code, a.currency, a.debits_posted_cents, a.credits_posted_cents,
           COALESCE(d.total, 0), COALESCE(c.total, 0)
    FROM {ACCOUNT} a
    LEFT JOIN (SELECT debit_account_id AS id, SUM(amount_cents) AS total FROM {TRANSFER}
               GROUP BY debit_account_id) d ON d.id = a.id
    LEFT JOIN (SELECT credit_account_id AS id, SUM(amount_cents) AS total FROM {TRANSFER}
               GROUP BY credit_account_id) c ON c.id = a.id
"""


def _cache_matches_log(report: ReconcileReport) -> list[Violation]:
    return [
        Violation(
            "balance",
            code,
            f"cached debits {cached_d} / credits {cached_c} {currency}, "
            f"but its transfers sum to debits {logged_d} / credits {logged_c}",
        )
        for _, code, currency, cached_d, cached_c, logged_d, logged_c in _rows(
            f"{_LOGGED_TOTALS} WHERE a.debits_posted_cents <> COALESCE(d.total, 0) "
            "OR a.credits_posted_cents <> COALESCE(c.total, 0) ORDER BY a.code"
        )
    ]


def _bounds_now(report: ReconcileReport) -> list[Violation]:
    return [
        Violation("bound", code, f"{bound}: debits {debits}, credits {credits} {currency}")
        for code, bound, debits, credits, currency in _rows(
            f"SELECT code, bound, debits_posted_cents, credits_posted_cents, currency FROM {ACCOUNT} "
            "WHERE (bound = %s AND debits_posted_cents > credits_posted_cents) "
            "OR (bound = %s AND credits_posted_cents > debits_posted_cents) ORDER BY code",
            [Bound.DEBITS_LE_CREDITS.value, Bound.CREDITS_LE_DEBITS.value],
        )
    ]


def _bounds_in_history(report: ReconcileReport) -> list[Violation]:
    """Replay each bounded account's journals in posting order and report the first one that crossed.

    Transfers are inserted only after their accounts are locked, so on any one account transfer
    ids follow the order in which its balance changed.
    """
    rows = _rows(
        f"""
        WITH bounded AS (
            SELECT id, code, bound FROM {ACCOUNT} WHERE bound <> ''
        ), moves AS (
            SELECT t.debit_account_id AS account_id, t.journal_id, MIN(t.id) AS seq,
                   SUM(t.amount_cents) AS d, 0 AS c
            FROM {TRANSFER} t JOIN bounded b ON b.id = t.debit_account_id
            GROUP BY t.debit_account_id, t.journal_id
            UNION ALL
            SELECT t.credit_account_id, t.journal_id, MIN(t.id), 0, SUM(t.amount_cents)
            FROM {TRANSFER} t JOIN bounded b ON b.id = t.credit_account_id
            GROUP BY t.credit_account_id, t.journal_id
        ), per_journal AS (
            SELECT account_id, journal_id, MIN(seq) AS seq, SUM(d) AS d, SUM(c) AS c
            FROM moves GROUP BY account_id, journal_id
        ), running AS (
            SELECT account_id, journal_id,
                   SUM(d) OVER (PARTITION BY account_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS rd,
                   SUM(c) OVER (PARTITION BY account_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS rc
            FROM per_journal
        )
        SELECT b.code, MIN(r.journal_id) FROM running r JOIN bounded b ON b.id = r.account_id
        WHERE (b.bound = %s AND r.rd > r.rc) OR (b.bound = %s AND r.rc > r.rd)
        GROUP BY b.code ORDER BY b.code
        """,
        [Bound.DEBITS_LE_CREDITS.value, Bound.CREDITS_LE_DEBITS.value],
    )
    return [Violation("bound-history", code, f"crossed its bound at journal {jid}") for code, jid in rows]


def _currencies_sum_to_zero(report: ReconcileReport) -> list[Violation]:
    found = []
    for currency, debits, credits in _rows(
        f"SELECT currency, SUM(debits_posted_cents), SUM(credits_posted_cents) FROM {ACCOUNT} "
        "GROUP BY currency ORDER BY currency"
    ):
        report.totals_by_currency[currency] = (int(debits), int(credits))
        if debits != credits:
            found.append(Violation("zero-sum", currency, f"cached debits {debits} <> cached credits {credits}"))
    return found
