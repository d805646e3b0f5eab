"""The platform's headline figures for the public home page: the latest close, plus two live counts.

Total lent and the repayment rate need history, so they come from the latest nightly platform
snapshot (dated by `as_of`; None before the first close). How many people lent and borrowed is
counted live, so a new lender shows at once. Three queries, whatever the size of the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q

from lending.loans.models import LenderPosition, Loan
from lending.metrics.formulas import FORMULA_VERSION, rates
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import FIGURES

S = Loan.Status
# Loans whose money reached (or is on its way to) the borrower: what "lent" means on the home page.
LENT = (S.FUNDED, S.PAYING_BACK, S.REPAID, S.DEFAULTED)


@dataclass(frozen=True, slots=True)
class PlatformFigures:
    currency: str
    as_of: date | None  # the close total lent and the repayment rate come from
    total_lent_cents: int | None
    repayment_rate: Decimal | None  # a fraction, 0..1
    lender_count: int  # people who lent at least once
    borrower_count: int  # borrowers with a loan that was funded

    @property
    def repayment_percent(self) -> Decimal | None:
        return None if self.repayment_rate is None else self.repayment_rate * 100


def _latest_platform_snapshot(currency: str) -> PortfolioSnapshot | None:
    return (
        PortfolioSnapshot.objects.filter(
            dimension=PortfolioSnapshot.Dimension.PLATFORM, key="", currency=currency, formula_version=FORMULA_VERSION
        )
        .order_by("-as_of")
        .first()
    )


def platform_figures(*, currency: str) -> PlatformFigures:
    snapshot = _latest_platform_snapshot(currency)
    lenders = LenderPosition.objects.filter(lent_cents__gt=0, loan__currency=currency).aggregate(
        n=Count("lender_id", distinct=True)
    )["n"]
    borrowers = Loan.objects.aggregate(
        n=Count("borrower_id", distinct=True, filter=Q(status__in=LENT, currency=currency))
    )["n"]
    total = None
    rate = None
    if snapshot is not None:
        by_status = snapshot.loans_by_status or {}
        total = sum(int(by_status.get(status, {}).get("amount", 0)) for status in LENT)
        rate = rates({name: getattr(snapshot, name) for name in FIGURES})["repayment_rate"]
    return PlatformFigures(
        currency=currency,
        as_of=snapshot.as_of if snapshot else None,
        total_lent_cents=total,
        repayment_rate=rate,
        lender_count=int(lenders or 0),
        borrower_count=int(borrowers or 0),
    )
