"""A lender's own statistics: live money figures from their positions, rates from the last nightly close.

Amounts come from LenderPosition, which every share, repayment and settlement keeps in step, so a
lender who lent a minute ago sees it at once. Rates need history (what was past due, which loans
ended), so they come from the latest close's PortfolioSnapshot: the lender's row and the platform's
of the same date, side by side. Two queries, whatever the number of loans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, Subquery, Sum

from lending.loans.models import LenderPosition
from lending.metrics.formulas import FORMULA_VERSION, rates
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import FIGURES

D = PortfolioSnapshot.Dimension
# The rates shown next to each other for the lender and the platform (names as in formulas.rates).
RATES = ("default_rate_by_amount", "default_rate_by_count", "delinquency_rate", "par_30", "repayment_rate")
_SUMS = {
    "lent": "lent_cents",
    "repaid": "principal_repaid_cents",
    "interest": "interest_received_cents",
    "written_off": "written_off_cents",
    "recovered": "recovered_cents",
    "refunded": "refunded_cents",
}


@dataclass(frozen=True, slots=True)
class StatusFigures:
    count: int
    lent_cents: int


@dataclass(frozen=True, slots=True)
class LenderStatistics:
    currency: str
    lent_cents: int
    repaid_cents: int
    interest_received_cents: int
    outstanding_cents: int
    written_off_cents: int
    recovered_cents: int
    refunded_cents: int
    loans_by_status: dict[str, StatusFigures]
    as_of: date | None  # the close the rates come from; None before the first close
    mine: dict[str, Decimal | None]
    platform: dict[str, Decimal | None]

    @property
    def defaulted_cents(self) -> int:
        """Principal lost to default: written off, less what was recovered afterwards."""
        return self.written_off_cents - self.recovered_cents

    @property
    def loan_count(self) -> int:
        return sum(s.count for s in self.loans_by_status.values())


def _no_rates() -> dict[str, Decimal | None]:
    return dict.fromkeys(RATES, None)


def _rates_of(row: PortfolioSnapshot | None) -> dict[str, Decimal | None]:
    if row is None:
        return _no_rates()
    every = rates({name: getattr(row, name) for name in FIGURES})
    return {name: every[name] for name in RATES}


def _position_sums(lender_id: int, currency: str) -> dict[str, dict[str, int]]:
    """{loan status: {count, lent, repaid, ...}} over the lender's stakes, in one grouped query."""
    rows = (
        LenderPosition.objects.filter(lender_id=lender_id, lent_cents__gt=0, loan__currency=currency)
        .values("loan__status")
        .annotate(count=Count("id"), **{name: Sum(F(column)) for name, column in _SUMS.items()})
        .order_by()
    )
    return {row.pop("loan__status"): {k: int(v or 0) for k, v in row.items()} for row in rows}


def _latest_close(lender_id: int, currency: str) -> tuple[PortfolioSnapshot | None, PortfolioSnapshot | None]:
    """The platform's and the lender's snapshot rows of the latest close (either may be missing)."""
    latest = (
        PortfolioSnapshot.objects.filter(dimension=D.PLATFORM, key="", currency=currency,
                                         formula_version=FORMULA_VERSION)
        .order_by("-as_of").values("as_of")[:1]
    )  # fmt: skip
    rows = PortfolioSnapshot.objects.filter(
        Q(dimension=D.PLATFORM, key="") | Q(dimension=D.LENDER, key=str(lender_id)),
        as_of=Subquery(latest), currency=currency, formula_version=FORMULA_VERSION,
    )  # fmt: skip
    by_dimension = {row.dimension: row for row in rows}
    return by_dimension.get(D.PLATFORM), by_dimension.get(D.LENDER)


def lender_statistics(*, lender_id: int, currency: str) -> LenderStatistics:
    """Kiva's "my statistics" for one lender, in `currency` (loans in other currencies are left out)."""
    groups = _position_sums(lender_id, currency)

    def total(name: str) -> int:
        return sum(g[name] for g in groups.values())

    platform, mine = _latest_close(lender_id, currency)
    return LenderStatistics(
        currency=currency,
        lent_cents=total("lent"),
        repaid_cents=total("repaid"),
        interest_received_cents=total("interest"),
        outstanding_cents=total("lent") - total("repaid") - total("written_off") - total("refunded"),
        written_off_cents=total("written_off"),
        recovered_cents=total("recovered"),
        refunded_cents=total("refunded"),
        loans_by_status={s: StatusFigures(count=g["count"], lent_cents=g["lent"]) for s, g in sorted(groups.items())},
        as_of=platform.as_of if platform else None,
        mine=_rates_of(mine),
        platform=_rates_of(platform),
    )
