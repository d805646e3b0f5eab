"""The real-data profile the demo draws from: seeds/data/loans.csv and seeds/data/behaviour.json.

Both files were written by `python -m seeds.derive` from Kiva's own data and are committed, so the
demo needs nothing outside the repository.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

SECTORS = {  # Kiva's sector names to ours
    "Agriculture": "agriculture", "Arts": "arts", "Clothing": "clothing", "Construction": "construction",
    "Education": "education", "Entertainment": "entertainment", "Food": "food", "Health": "health",
    "Housing": "housing", "Manufacturing": "manufacturing", "Personal Use": "personal_use", "Retail": "retail",
    "Services": "services", "Transportation": "transportation", "Wholesale": "wholesale",
}  # fmt: skip


@dataclass(frozen=True)
class LoanDraw:
    """One real loan's shape: what the demo copies (never who it was)."""

    amount_usd: int
    funded_usd: int
    term_months: int
    sector: str
    country: str
    interval: str  # monthly | irregular | bullet | weekly
    lenders: int
    partner: int  # 0: a direct loan, no field partner
    borrowers: int
    gender: str
    days_to_fund: int | None

    @property
    def fully_funded(self) -> bool:
        return self.funded_usd >= self.amount_usd


@dataclass(frozen=True)
class Behaviour:
    """How real borrowers repaid, as cut points of empirical distributions (0%, 5%, ..., 100%)."""

    days_late_cuts: tuple[float, ...]
    on_time_share: float
    short_payment_share: float
    short_payment_fraction_cuts: tuple[float, ...]
    stop_paying_share: float
    repaid_share_when_stopped: tuple[float, ...]

    @property
    def most_days_late(self) -> int:
        return int(self.days_late_cuts[-1])


def quantile(cuts: tuple[float, ...], u: float) -> float:
    """The value at probability `u` (0 <= u < 1), interpolated between the cut points."""
    position = u * (len(cuts) - 1)
    low = int(position)
    if low >= len(cuts) - 1:
        return cuts[-1]
    return cuts[low] + (cuts[low + 1] - cuts[low]) * (position - low)


@cache
def loan_draws() -> tuple[LoanDraw, ...]:
    with open(DATA / "loans.csv", encoding="utf-8") as f:
        return tuple(
            LoanDraw(
                amount_usd=int(row["amount_usd"]),
                funded_usd=int(row["funded_usd"]),
                term_months=int(row["term_months"]),
                sector=SECTORS[row["sector"]],
                country=row["country"],
                interval=row["interval"],
                lenders=int(row["lenders"]),
                partner=int(row["partner"]),
                borrowers=int(row["borrowers"]),
                gender=row["gender"],
                days_to_fund=int(row["days_to_fund"]) if row["days_to_fund"] else None,
            )
            for row in csv.DictReader(f)
        )


@cache
def behaviour() -> Behaviour:
    facts = json.loads((DATA / "behaviour.json").read_text(encoding="utf-8"))
    return Behaviour(
        days_late_cuts=tuple(facts["days_late_cuts"]),
        on_time_share=facts["on_time_share"],
        short_payment_share=facts["short_payment_share"],
        short_payment_fraction_cuts=tuple(facts["short_payment_fraction_cuts"]),
        stop_paying_share=facts["stop_paying_share"],
        repaid_share_when_stopped=tuple(facts["repaid_share_when_stopped"]),
    )
