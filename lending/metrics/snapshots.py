"""Compute and store the portfolio snapshot for a business date: each loan's figures once, then one
set-based statement per dimension.

Everything is taken as it stood on the date, from history rather than from today's state: a
loan's status from its last event on or before the date, payments from repayments received on
or before it. So a catch-up close of a past date writes the same snapshot a close on the day would
have, and later repayments never rewrite earlier figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from lending.loans.models import Installment, LenderPosition, Loan, LoanEvent, Repayment, RepaymentSplit
from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.models import PortfolioSnapshot

D = PortfolioSnapshot.Dimension
KEYS: dict[str, str] = {
    D.PLATFORM: "''",
    D.PARTNER: "COALESCE(CAST(partner_id AS VARCHAR(20)), '')",
    D.COUNTRY: "country",
    D.SECTOR: "sector",
}
ENDED = ("repaid", "defaulted")
FIGURES = [
    "outstanding_principal", "amount_past_due", "par_1_principal", "par_30_principal", "par_90_principal",
    "ended_amount", "ended_count", "defaulted_count", "defaulted_balance", "due_to_date", "repaid_to_date",
    "amount_repaid", "amount_lost",
]  # fmt: skip


def _days_since_oldest() -> str:
    if connection.vendor == "postgresql":
        return "(CAST(%(d)s AS date) - oldest_unpaid)"
    return "CAST(julianday(%(d)s) - julianday(oldest_unpaid) AS INTEGER)"


def _per_loan_sql() -> str:
    """One row per loan that existed on the date, with its status then and its figures as of then."""
    event, repayment = LoanEvent._meta.db_table, Repayment._meta.db_table
    installment, loan = Installment._meta.db_table, Loan._meta.db_table
    return f"""
    WITH last_event AS (
        SELECT loan_id, MAX(id) AS id FROM {event} WHERE business_date <= %(d)s GROUP BY loan_id
    ), status_then AS (
        SELECT e.loan_id, e.to_status AS status FROM {event} e JOIN last_event le ON le.id = e.id
    ), paid AS (
        SELECT loan_id,
               SUM(CASE WHEN is_recovery THEN 0 ELSE principal_cents END) AS principal,
               SUM(CASE WHEN is_recovery THEN principal_cents ELSE 0 END) AS recovered,
               SUM(principal_cents + interest_cents + fees_cents) AS applied
        FROM {repayment} WHERE received_on <= %(d)s GROUP BY loan_id
    ), schedule AS (
        SELECT loan_id, due_date, principal_cents + interest_cents + fees_cents AS total,
               SUM(principal_cents + interest_cents + fees_cents)
                   OVER (PARTITION BY loan_id ORDER BY number ROWS UNBOUNDED PRECEDING) AS running
        FROM {installment}
    ), due AS (
        SELECT s.loan_id,
               SUM(CASE WHEN s.due_date <= %(d)s THEN s.total ELSE 0 END) AS due_to_date,
               SUM(CASE WHEN s.due_date < %(d)s THEN s.total ELSE 0 END) AS due_before,
               MIN(CASE WHEN s.due_date < %(d)s AND s.running > COALESCE(p.applied, 0) THEN s.due_date END)
                   AS oldest_unpaid
        FROM schedule s LEFT JOIN paid p ON p.loan_id = s.loan_id GROUP BY s.loan_id
    ), per_loan AS (
        SELECT l.id AS loan_id, l.partner_id, l.country, l.sector, l.currency, l.amount_cents AS amount, st.status,
               COALESCE(p.principal, 0) AS principal_repaid, COALESCE(p.recovered, 0) AS recovered,
               COALESCE(p.applied, 0) AS applied, COALESCE(du.due_to_date, 0) AS due_to_date,
               COALESCE(du.due_before, 0) AS due_before, du.oldest_unpaid
        FROM {loan} l JOIN status_then st ON st.loan_id = l.id
        LEFT JOIN paid p ON p.loan_id = l.id LEFT JOIN due du ON du.loan_id = l.id
    ), figures AS (
        SELECT loan_id, partner_id, country, sector, currency, amount, status, principal_repaid, recovered,
               due_to_date, CASE WHEN applied < due_to_date THEN applied ELSE due_to_date END AS repaid_to_date,
               CASE WHEN status = 'paying_back' THEN amount - principal_repaid ELSE 0 END AS outstanding,
               CASE WHEN status = 'paying_back' AND due_before > applied THEN due_before - applied ELSE 0 END
                   AS past_due,
               CASE WHEN status = 'paying_back' AND due_before - applied > %(tolerance)s
                    THEN {_days_since_oldest()} ELSE 0 END AS days_past_due,
               CASE WHEN status = 'defaulted' THEN amount - principal_repaid - recovered ELSE 0 END AS defaulted_balance
        FROM per_loan
    )"""


LOANS = "snapshot_loans"  # a temporary table: the per-loan figures, computed once for every dimension


@contextmanager
def _loan_figures(cursor: Any, params: dict[str, Any]) -> Iterator[None]:
    """The per-loan figures as of the date in a temporary table, whole minor units, for the statements inside.

    Every dimension aggregates the same per-loan figures: computed once, they are read five times
    instead of computed five times (the schedule, repayments and events of every loan). On an error
    the caller's transaction is rolled back, which drops the table; a leftover is dropped first.
    """
    cursor.execute(f"DROP TABLE IF EXISTS {LOANS}")
    cursor.execute(
        f"""CREATE TEMPORARY TABLE {LOANS} AS {_per_loan_sql()}
        SELECT loan_id, partner_id, country, sector, currency, status, days_past_due,
               CAST(amount AS BIGINT) AS amount, CAST(outstanding AS BIGINT) AS outstanding,
               CAST(past_due AS BIGINT) AS past_due, CAST(due_to_date AS BIGINT) AS due_to_date,
               CAST(repaid_to_date AS BIGINT) AS repaid_to_date,
               CAST(principal_repaid + recovered AS BIGINT) AS repaid,
               CAST(defaulted_balance AS BIGINT) AS lost
        FROM figures""",
        params,
    )
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {LOANS}")  # temporary tables have no statistics until asked
    yield
    cursor.execute(f"DROP TABLE {LOANS}")


def _shaped_sql(dimension: str) -> str:
    """One row per loan (or, for lenders, per stake) in the dimension's groups, as CTEs ending in `shaped`."""
    if dimension != D.LENDER:
        return f"""WITH shaped AS (
            SELECT {KEYS[dimension]} AS group_key, currency, status, days_past_due, amount, outstanding, past_due,
                   due_to_date, repaid_to_date, repaid, lost
            FROM {LOANS}
        )"""
    # Per lender: their stake in each loan. Principal is theirs exactly (from their receipts); what a loan
    # has past due, due and paid to date is taken pro rata to their stake, rounded down per stake.
    # A lender's principal repaid and recovered as of the date is their position's running total less the
    # receipts of repayments received after the date: the repayment service keeps the position equal to
    # the sum of the receipts, and a nightly close reads only the few receipts of today, not every receipt
    # ever written (which made this dimension most of a large close).
    position, split, repayment = (
        LenderPosition._meta.db_table,
        RepaymentSplit._meta.db_table,
        Repayment._meta.db_table,
    )
    return f"""WITH later AS (
        SELECT s.lender_id, r.loan_id,
               SUM(CASE WHEN r.is_recovery THEN 0 ELSE s.principal_cents END) AS principal,
               SUM(CASE WHEN r.is_recovery THEN s.principal_cents ELSE 0 END) AS recovered
        FROM {split} s JOIN {repayment} r ON r.id = s.repayment_id
        WHERE r.received_on > %(d)s GROUP BY s.lender_id, r.loan_id
    ), stake AS (
        SELECT p.lender_id, p.loan_id, p.lent_cents,
               p.principal_repaid_cents - COALESCE(lt.principal, 0) AS principal,
               p.recovered_cents - COALESCE(lt.recovered, 0) AS recovered
        FROM {position} p LEFT JOIN later lt ON lt.lender_id = p.lender_id AND lt.loan_id = p.loan_id
        WHERE p.lent_cents > 0
    ), shaped AS (
        SELECT p.lender_id AS group_key, f.currency, f.status, f.days_past_due, p.lent_cents AS amount,
               CASE WHEN f.status = 'paying_back' THEN p.lent_cents - p.principal ELSE 0 END AS outstanding,
               f.past_due * p.lent_cents / f.amount AS past_due,
               f.due_to_date * p.lent_cents / f.amount AS due_to_date,
               f.repaid_to_date * p.lent_cents / f.amount AS repaid_to_date,
               p.principal + p.recovered AS repaid,
               CASE WHEN f.status = 'defaulted' THEN p.lent_cents - p.principal - p.recovered ELSE 0 END AS lost
        FROM {LOANS} f JOIN stake p ON p.loan_id = f.loan_id
    )"""


def _rows_sql(dimension: str) -> str:
    """The dimension's snapshot rows: key, currency, loans by status (JSON), then FIGURES in order.

    Grouped by status first (the counts and amounts of `loans_by_status`), then by key and currency.
    The key is cast to text only after grouping: the lender dimension groups millions of stakes.
    """
    if connection.vendor == "postgresql":
        by_status = "jsonb_object_agg(status, jsonb_build_object('count', n, 'amount', amount))"
    else:
        by_status = "json_group_object(status, json_object('count', n, 'amount', amount))"
    return f"""{_shaped_sql(dimension)}, by_status AS (
        SELECT group_key, currency, status, COUNT(*) AS n, SUM(amount) AS amount,
               SUM(outstanding) AS outstanding, SUM(past_due) AS past_due,
               SUM(CASE WHEN days_past_due > 1 THEN outstanding ELSE 0 END) AS par_1,
               SUM(CASE WHEN days_past_due > 30 THEN outstanding ELSE 0 END) AS par_30,
               SUM(CASE WHEN days_past_due > 90 THEN outstanding ELSE 0 END) AS par_90,
               SUM(CASE WHEN status IN ('repaid', 'defaulted') THEN amount ELSE 0 END) AS ended_amount,
               SUM(CASE WHEN status IN ('repaid', 'defaulted') THEN 1 ELSE 0 END) AS ended_count,
               SUM(CASE WHEN status = 'defaulted' THEN 1 ELSE 0 END) AS defaulted_count,
               SUM(lost) AS lost, SUM(due_to_date) AS due_to_date, SUM(repaid_to_date) AS repaid_to_date,
               SUM(repaid) AS repaid
        FROM shaped GROUP BY group_key, currency, status
    )
    SELECT CAST(group_key AS VARCHAR(40)) AS key, currency, {by_status} AS loans_by_status,
           SUM(outstanding), SUM(past_due), SUM(par_1), SUM(par_30), SUM(par_90), SUM(ended_amount),
           SUM(ended_count), SUM(defaulted_count), SUM(lost), SUM(due_to_date), SUM(repaid_to_date),
           SUM(repaid), SUM(lost)
    FROM by_status GROUP BY group_key, currency"""


def _params(on: date) -> dict[str, Any]:
    return {"d": on, "tolerance": settings.ARREARS_TOLERANCE_CENTS}


def compute(on: date, dimension: str) -> list[PortfolioSnapshot]:
    """The snapshot rows of one dimension for `on` (not saved), sorted by key and currency."""
    params = _params(on)
    with transaction.atomic(), connection.cursor() as cursor, _loan_figures(cursor, params):
        cursor.execute(_rows_sql(dimension), params)
        found = cursor.fetchall()
    return [
        PortfolioSnapshot(
            as_of=on,
            dimension=dimension,
            key=key,
            currency=currency,
            formula_version=FORMULA_VERSION,
            loans_by_status=json.loads(by_status) if isinstance(by_status, str) else by_status,
            **{name: int(value or 0) for name, value in zip(FIGURES, sums, strict=True)},
        )
        for key, currency, by_status, *sums in sorted(found, key=lambda row: (row[0], row[1]))
    ]


@transaction.atomic
def snapshot_portfolio(on: date) -> int:
    """Store the snapshot for `on` in every dimension, once; returns the rows written (0 if it existed).

    Each dimension is one INSERT ... SELECT over the per-loan figures: no row passes through Python
    (the lender dimension alone is one row per lender, 60,000 of them for 100,000 loans).
    """
    if PortfolioSnapshot.objects.filter(as_of=on, formula_version=FORMULA_VERSION).exists():
        return 0
    table, columns = PortfolioSnapshot._meta.db_table, ", ".join(["key", "currency", "loans_by_status", *FIGURES])
    params = {**_params(on), "version": FORMULA_VERSION,
              "now": connection.ops.adapt_datetimefield_value(timezone.now())}  # fmt: skip
    written = 0
    with connection.cursor() as cursor, _loan_figures(cursor, params):
        for dimension in D.values:
            cursor.execute(
                f"""INSERT INTO {table} (as_of, dimension, formula_version, created_at, {columns})
                SELECT %(d)s, %(dimension)s, %(version)s, %(now)s, figures.*
                FROM ({_rows_sql(dimension)}) AS figures""",
                {**params, "dimension": dimension},
            )
            written += cursor.rowcount
    return written
