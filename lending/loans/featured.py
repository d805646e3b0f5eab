"""Loans that most need lenders now, for the home page: fundraising, the soonest deadline first,
then the least left to raise (a nudge finishes them). One query, whatever the number shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import F

from lending.loans.models import Loan


@dataclass(frozen=True, slots=True)
class FundingNeed:
    loan: Loan  # with borrower and partner loaded
    left_cents: int
    funded_percent: int  # rounded down, so 100 only when fully raised
    days_left: int


def loans_needing_funding(*, today: date, limit: int = 6) -> list[FundingNeed]:
    """Fundraising loans still open on `today`, most urgent first."""
    loans = (
        Loan.objects.filter(status=Loan.Status.FUNDRAISING, fundraising_deadline__gte=today)
        .filter(raised_cents__lt=F("amount_cents"))
        .select_related("borrower", "partner")
        .annotate(left=F("amount_cents") - F("raised_cents"))
        .order_by("fundraising_deadline", "left", "id")[:limit]
    )
    return [
        FundingNeed(
            loan=loan,
            left_cents=loan.amount_cents - loan.raised_cents,
            funded_percent=loan.raised_cents * 100 // loan.amount_cents,
            days_left=(loan.fundraising_deadline - today).days if loan.fundraising_deadline else 0,
        )
        for loan in loans
    ]
