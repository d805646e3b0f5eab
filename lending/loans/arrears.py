"""Arrears: days past due and aging buckets as of any date, with a tolerance for a few cents short.

An installment is past due from the day after its due date while anything of it is unpaid. A loan
is in arrears only when the total past due exceeds the tolerance (Kiva's "penny problem": a
borrower a few cents short because of rounding is not delinquent); its days past due count from
the oldest installment that is still unpaid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction

from lending.loans.models import Installment, Loan

# (lowest days past due, label); a loan falls in the last bucket whose lower bound it reaches.
BUCKETS: tuple[tuple[int, str], ...] = (
    (0, "current"),
    (1, "1-30"),
    (31, "31-60"),
    (61, "61-90"),
    (91, "91-180"),
    (181, "180+"),
)


def bucket_for(days_past_due: int) -> str:
    label = BUCKETS[0][1]
    for lowest, name in BUCKETS:
        if days_past_due >= lowest:
            label = name
    return label


@dataclass(frozen=True, slots=True)
class Arrears:
    as_of: date
    days_past_due: int
    amount_past_due_cents: int
    bucket: str
    delinquent: bool


def installment_days_past_due(row: Installment, as_of: date) -> int:
    if row.outstanding_cents == 0 or row.due_date >= as_of:
        return 0
    return (as_of - row.due_date).days


def arrears_of(rows: Iterable[Installment], as_of: date, tolerance_cents: int | None = None) -> Arrears:
    tolerance = settings.ARREARS_TOLERANCE_CENTS if tolerance_cents is None else tolerance_cents
    late = [r for r in rows if r.due_date < as_of and r.outstanding_cents > 0]
    amount = sum(r.outstanding_cents for r in late)
    if amount <= tolerance:
        return Arrears(as_of, 0, amount, bucket_for(0), False)
    days = (as_of - min(r.due_date for r in late)).days
    return Arrears(as_of, days, amount, bucket_for(days), True)


def loan_arrears(*, loan: Loan, as_of: date) -> Arrears:
    return arrears_of(Installment.objects.filter(loan=loan, due_date__lt=as_of, paid_on__isnull=True), as_of)


@transaction.atomic
def loan_refresh_arrears(*, loan: Loan, as_of: date) -> Arrears:
    """Store the loan's arrears as of `as_of` on the loan (the nightly job calls this, or its set-based twin)."""
    arrears = loan_arrears(loan=loan, as_of=as_of)
    Loan.objects.filter(pk=loan.pk).update(
        days_past_due=arrears.days_past_due,
        amount_past_due_cents=arrears.amount_past_due_cents,
        delinquent=arrears.delinquent,
        arrears_as_of=as_of,
    )
    return arrears
