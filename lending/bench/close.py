"""Close-of-business benchmark: N paying-back loans (12 installments each) closed for one date.

The portfolio is seeded set-based from one template loan made through the services (its row,
schedule and events copied N times with shifted dates, so loans are at every stage of their
term), because seeding a million loans through the services would take hours. The figures: the
whole close and each step, and the arrears classification next to a hand-written single-statement
SQL reference doing the same classification on the same rows.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from accounts import services as people
from lending.jobs.close import close_business_day
from lending.jobs.steps import refresh_arrears
from lending.loans.applications import loan_apply
from lending.loans.models import Installment, Loan, LoanEvent

START = date(2026, 1, 5)
SPREAD_DAYS = 360  # loans disbursed over the year before the close


def _template() -> Loan:
    staff = people.platform_staff_create(email="bench-close@example.org", password=None, full_name="Bench")
    partner = people.field_partner_create(name="Bench Close Partner", country="KE")
    borrower = people.borrower_create(display_name="Bench Borrower", country="KE", partner=partner)
    loan = loan_apply(
        actor=staff, borrower=borrower, amount_cents=120_000, currency="USD", purpose="bench",
        sector="retail", repayments=12,
    )  # fmt: skip
    # Give the template a disbursed shape without moving money: the close's arrears step reads rows only.
    Loan.objects.filter(pk=loan.pk).update(
        status=Loan.Status.PAYING_BACK,
        raised_cents=120_000,
        disbursed_on=START,
        maturity_date=START + timedelta(days=360),
    )
    Installment.objects.bulk_create(
        Installment(loan=loan, number=n, due_date=START + timedelta(days=30 * n), principal_cents=10_000,
                    interest_cents=0, fees_cents=0)
        for n in range(1, 13)
    )  # fmt: skip
    LoanEvent.objects.create(
        loan=loan, from_status="funded", to_status="paying_back", reason="bench", business_date=START
    )
    return loan


def seed(loans: int) -> tuple[int, int]:
    """Copy the template `loans` times; every third loan has paid its first installments. Returns the id range."""
    template = _template()
    loan_t, inst_t, event_t = Loan._meta.db_table, Installment._meta.db_table, LoanEvent._meta.db_table
    columns = [f.column for f in Loan._meta.concrete_fields if f.column != "id"]
    shifted = {"disbursed_on", "maturity_date"}  # loans at every stage of their term
    copied = ", ".join(f"(t.{c} - (g %% {SPREAD_DAYS}))" if c in shifted else f"t.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {loan_t} ({', '.join(columns)}) SELECT {copied} "
            f"FROM {loan_t} t CROSS JOIN generate_series(1, %s) g WHERE t.id = %s",
            [loans, template.pk],
        )
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {loan_t} WHERE id > %s", [template.pk])
        first, last = cursor.fetchone()
        cursor.execute(
            f"INSERT INTO {inst_t} (loan_id, number, due_date, principal_cents, interest_cents, fees_cents, "
            f"paid_principal_cents, paid_interest_cents, paid_fees_cents, paid_on) "
            f"SELECT l.id, i.number, i.due_date - (%s - l.disbursed_on), i.principal_cents, 0, 0, "
            f"CASE WHEN l.id %% 3 = 0 AND i.number <= 4 THEN i.principal_cents ELSE 0 END, 0, 0, "
            f"CASE WHEN l.id %% 3 = 0 AND i.number <= 4 THEN i.due_date ELSE NULL END "
            f"FROM {loan_t} l JOIN {inst_t} i ON i.loan_id = %s WHERE l.id BETWEEN %s AND %s",
            [START, template.pk, first, last],
        )
        cursor.execute(
            f"INSERT INTO {event_t} (loan_id, from_status, to_status, actor_id, reason, business_date, created_at) "
            f"SELECT l.id, 'funded', 'paying_back', NULL, 'bench', l.disbursed_on, NOW() "
            f"FROM {loan_t} l WHERE l.id BETWEEN %s AND %s",
            [first, last],
        )
        cursor.execute("ANALYZE")
    return first, last


def reference_classification(on: date) -> int:
    """The arrears classification as one hand-written statement over every paying-back loan."""
    tolerance = settings.ARREARS_TOLERANCE_CENTS
    loan_t, inst_t = Loan._meta.db_table, Installment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {loan_t} SET amount_past_due_cents = COALESCE(late.amount, 0), "
            f"delinquent = COALESCE(late.amount, 0) > %(tol)s, arrears_as_of = %(d)s, "
            f"days_past_due = CASE WHEN COALESCE(late.amount, 0) > %(tol)s THEN %(d)s::date - late.oldest ELSE 0 END "
            f"FROM {loan_t} l LEFT JOIN (SELECT loan_id, MIN(due_date) AS oldest, SUM(principal_cents + interest_cents "
            f"+ fees_cents - paid_principal_cents - paid_interest_cents - paid_fees_cents) AS amount FROM {inst_t} "
            f"WHERE due_date < %(d)s AND paid_on IS NULL GROUP BY loan_id) late ON late.loan_id = l.id "
            f"WHERE {loan_t}.id = l.id AND l.status = 'paying_back'",
            {"tol": tolerance, "d": on},
        )
        return cursor.rowcount


def median_seconds(work: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(*, loans: int, repeats: int, out: Callable[[str], None]) -> dict[str, float]:
    started = time.perf_counter()
    seed(loans)
    out(f"seeded {loans} paying-back loans ({loans * 12} installments) in {time.perf_counter() - started:.1f}s")
    on = START + timedelta(days=SPREAD_DAYS // 2)
    started = time.perf_counter()
    result = close_business_day(on=on)
    close_seconds = time.perf_counter() - started
    for name, step in result.steps.items():
        out(f"  step {name:<20} {step['rows']:>9} rows {step['seconds']:8.2f}s")
    service = median_seconds(lambda: refresh_arrears(on), repeats)
    reference = median_seconds(lambda: reference_classification(on), repeats)
    return {"close_seconds": close_seconds, "loans_per_second": loans / close_seconds, "arrears_seconds": service,
            "reference_seconds": reference, "ratio": reference / service}  # fmt: skip
