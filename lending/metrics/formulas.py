"""The portfolio formulas, in one place: stored integer figures in, rates (fractions 0..1) out.

Pure Python. A snapshot stores amounts and counts; every rate is derived here when it is read, so
a formula change is a new FORMULA_VERSION, never a silent rewrite of history.

- PAR n: outstanding principal of paying-back loans more than n days past due / all outstanding
  principal of paying-back loans.
- delinquency rate (Kiva): amount past due / outstanding principal of paying-back loans.
- default rate by amount (Kiva): principal still owed on defaulted loans / amount of ended loans
  (repaid or defaulted); by count: defaulted loans / ended loans.
- repayment rate: what was paid against installments due to date / what was due to date.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

FORMULA_VERSION = 1
RATE_PLACES = Decimal("0.000001")


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator as a fraction with six places, or None when there is nothing to divide by."""
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)


def rates(figures: dict[str, int]) -> dict[str, Decimal | None]:
    outstanding = figures["outstanding_principal"]
    return {
        "par_1": ratio(figures["par_1_principal"], outstanding),
        "par_30": ratio(figures["par_30_principal"], outstanding),
        "par_90": ratio(figures["par_90_principal"], outstanding),
        "delinquency_rate": ratio(figures["amount_past_due"], outstanding),
        "default_rate_by_amount": ratio(figures["defaulted_balance"], figures["ended_amount"]),
        "default_rate_by_count": ratio(figures["defaulted_count"], figures["ended_count"]),
        "repayment_rate": ratio(figures["repaid_to_date"], figures["due_to_date"]),
    }
