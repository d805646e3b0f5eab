"""The close-of-business steps. Each takes the business date and an id range and returns rows touched.

Selection is set-based SQL; money moves one loan at a time through the loan services (each loan's
refund or write-off is its own journal and transaction), so a crash mid-step loses nothing and a
re-run skips what is done: every step is idempotent for its date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection

from lending.autolending.services import autolend
from lending.loans.default import loan_default_if_due
from lending.loans.errors import LoanError
from lending.loans.fundraising import loan_expire
from lending.loans.models import Installment, Loan
from lending.metrics.snapshots import snapshot_portfolio
from lending.notifications.services import send_digests

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
    """Whole days from `column` to the business date %(d)s."""
    if connection.vendor == "postgresql":
        return f"(CAST(%(d)s AS date) - {column})"
    return f"CAST(julianday(%(d)s) - julianday({column}) AS INTEGER)"


def refresh_arrears(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """2-3. Days past due, amount past due and the delinquent flag of every loan paying back, as of `on`.

    The same rule as lending.loans.arrears.arrears_of, in one statement for the whole id range: an
    installment is late from the day after its due date while unpaid; a loan is delinquent only
    when more than ARREARS_TOLERANCE_CENTS is late. Loans that stopped paying back (repaid,
    refunded) have stale flags cleared; defaulted loans keep the arrears they defaulted with.
    """
    paying = S.PAYING_BACK
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LOAN} SET "
            f"amount_past_due_cents = CASE WHEN x.status = %(paying)s THEN COALESCE(x.amount, 0) ELSE 0 END, "
            f"delinquent = x.status = %(paying)s AND COALESCE(x.amount, 0) > %(tol)s, "
            f"days_past_due = CASE WHEN x.status = %(paying)s AND COALESCE(x.amount, 0) > %(tol)s "
            f"THEN {_days_since('x.oldest')} ELSE 0 END, "
            f"arrears_as_of = CASE WHEN x.status = %(paying)s THEN %(d)s ELSE {LOAN}.arrears_as_of END "
            f"FROM (SELECT l.id, l.status, late.amount, late.oldest FROM {LOAN} l LEFT JOIN ("
            f"  SELECT loan_id, MIN(due_date) AS oldest, SUM(principal_cents + interest_cents + fees_cents"
            f"  - paid_principal_cents - paid_interest_cents - paid_fees_cents) AS amount FROM {INSTALLMENT}"
            f"  WHERE due_date < %(d)s AND paid_on IS NULL AND loan_id BETWEEN %(lo)s AND %(hi)s GROUP BY loan_id"
            f") late ON late.loan_id = l.id WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status <> %(defaulted)s "
            f"AND (l.status = %(paying)s OR l.delinquent OR l.days_past_due > 0 OR l.amount_past_due_cents > 0)"
            f") x WHERE {LOAN}.id = x.id",
            {"paying": paying, "defaulted": S.DEFAULTED, "tol": settings.ARREARS_TOLERANCE_CENTS, "d": on,
             "lo": ids[0], "hi": ids[1]},
        )  # fmt: skip
        return cursor.rowcount


def classify_defaults(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """3. Loans still owing LOAN_DEFAULT_AFTER_MONTHS after their last due date default and are written off."""
    # Candidates: matured at least the rule's months ago, give or take month-end clamping (a few days
    # of slack); the exact rule then runs per candidate, inside its own locked transaction.
    latest_maturity = on - relativedelta(months=settings.LOAN_DEFAULT_AFTER_MONTHS) + timedelta(days=3)
    candidates = Loan.objects.filter(status=S.PAYING_BACK, maturity_date__lte=latest_maturity, pk__range=ids)
    return sum(1 for loan in candidates.only("pk").order_by("pk") if loan_default_if_due(loan=loan, as_of=on))


def snapshot(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """4. The portfolio's figures as of `on`, per platform, partner, country and sector."""
    return snapshot_portfolio(on)


def auto_lend(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """5. Lend opted-in lenders' idle credit to matching loans."""
    return len(autolend(on=on))


def notify(on: date, ids: tuple[int, int] = ALL_IDS) -> int:
    """6. Each lender's digest: repayments received, loans funded, loans late."""
    return send_digests(on)


STEPS = (
    ("expire_fundraising", expire_fundraising),
    ("refresh_arrears", refresh_arrears),
    ("classify_defaults", classify_defaults),
    ("snapshot_portfolio", snapshot),
    ("auto_lend", auto_lend),
    ("notify", notify),
)

# The steps that work loan by loan within an id range: a partitioned close splits these among workers, and
# runs the rest (which read or write the whole portfolio) once, in STEPS' order either way.
BY_RANGE: dict[str, Callable[[date, tuple[int, int]], int]] = {
    "expire_fundraising": expire_fundraising,
    "refresh_arrears": refresh_arrears,
    "classify_defaults": classify_defaults,
}
