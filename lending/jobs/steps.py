"""The close-of-business steps. Each takes the business date and an id range and returns rows touched.

Selection is set-based SQL; money moves one loan at a time through the loan services (each loan's
refund or write-off is its own journal and transaction), so a crash mid-step loses nothing and a
re-run skips what is done: every step is idempotent for its date.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import connection

from lending.loans.default import loan_default_if_due
from lending.loans.errors import LoanError
from lending.loans.fundraising import loan_expire
from lending.loans.models import Installment, Loan
from lending.metrics.snapshots import snapshot_portfolio

LOAN = Loan._meta.db_table
INSTALLMENT = Installment._meta.db_table
S = Loan.Status
ALL_IDS = (1, 2**62)


def expire_fundraising(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """1. Loans still fundraising after their deadline expire; their shares go back to the lenders."""
    expired = 0
    due = Loan.objects.filter(status=S.FUNDRAISING, fundraising_deadline__lt=on, pk__range=ids).order_by("pk")
    for loan in due.only("pk").iterator():
        try:
            loan_expire(loan=loan, on=on)
        except LoanError:
            continue  # funded or cancelled since the selection: nothing to expire
        expired += 1
    return expired


def _days_since(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(CAST(%s AS date) - {column})"
    return f"CAST(julianday(%s) - julianday({column}) AS INTEGER)"


def refresh_arrears(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """2-3. Days past due, amount past due and the delinquent flag of every loan paying back, as of `on`.

    The same rule as lending.loans.arrears.arrears_of, in two statements for the whole range: an
    installment is late from the day after its due date while unpaid; a loan is delinquent only
    when more than ARREARS_TOLERANCE_CENTS is late.
    """
    tolerance = settings.ARREARS_TOLERANCE_CENTS
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LOAN} SET days_past_due = 0, amount_past_due_cents = 0, delinquent = %s, "
            f"arrears_as_of = CASE WHEN status = %s THEN %s ELSE arrears_as_of END "
            f"WHERE id BETWEEN %s AND %s AND status <> %s "
            f"AND (status = %s OR delinquent OR days_past_due > 0 OR amount_past_due_cents > 0)",
            [False, S.PAYING_BACK, on, *ids, S.DEFAULTED, S.PAYING_BACK],
        )
        cursor.execute(
            f"UPDATE {LOAN} SET amount_past_due_cents = late.amount, delinquent = late.amount > %s, "
            f"days_past_due = CASE WHEN late.amount > %s THEN {_days_since('late.oldest')} ELSE 0 END "
            f"FROM (SELECT loan_id, MIN(due_date) AS oldest, "
            f"SUM(principal_cents + interest_cents + fees_cents - paid_principal_cents - paid_interest_cents "
            f"- paid_fees_cents) AS amount FROM {INSTALLMENT} "
            f"WHERE due_date < %s AND paid_on IS NULL AND loan_id BETWEEN %s AND %s GROUP BY loan_id) AS late "
            f"WHERE {LOAN}.id = late.loan_id AND {LOAN}.status = %s",
            [tolerance, tolerance, on, on, *ids, S.PAYING_BACK],
        )
        return cursor.rowcount


def classify_defaults(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """3. Loans still owing LOAN_DEFAULT_AFTER_MONTHS after their last due date default and are written off."""
    # Candidates by a day count that no month-length can beat; the exact month rule runs per loan.
    latest_last_due = on - timedelta(days=28 * settings.LOAN_DEFAULT_AFTER_MONTHS - 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.loan_id FROM {INSTALLMENT} i JOIN {LOAN} l ON l.id = i.loan_id "
            f"WHERE l.status = %s AND l.id BETWEEN %s AND %s "
            f"GROUP BY i.loan_id HAVING MAX(i.due_date) <= %s ORDER BY i.loan_id",
            [S.PAYING_BACK, *ids, latest_last_due],
        )
        candidates = [row[0] for row in cursor.fetchall()]
    return sum(
        1 for loan in Loan.objects.filter(pk__in=candidates).only("pk") if loan_default_if_due(loan=loan, as_of=on)
    )


def snapshot(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """4. The portfolio's figures as of `on`, per platform, partner, country and sector."""
    return snapshot_portfolio(on)


STEPS = (
    ("expire_fundraising", expire_fundraising),
    ("refresh_arrears", refresh_arrears),
    ("classify_defaults", classify_defaults),
    ("snapshot_portfolio", snapshot),
)
