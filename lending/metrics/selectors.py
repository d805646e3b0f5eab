"""Reading snapshots as reports: the stable JSON shape documented in the README."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from lending.metrics.formulas import FORMULA_VERSION, rates
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import FIGURES, snapshot_portfolio

AMOUNTS = ["outstanding_principal", "amount_past_due", "amount_repaid", "amount_lost"]


def _as_json_rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def group_report(row: PortfolioSnapshot) -> dict[str, Any]:
    figures = {name: getattr(row, name) for name in FIGURES}
    return {
        "key": row.key,
        "currency": row.currency,
        "loans_by_status": row.loans_by_status,
        **{name: figures[name] for name in AMOUNTS},
        **{name: _as_json_rate(value) for name, value in rates(figures).items()},
        "ended_count": row.ended_count,
        "defaulted_count": row.defaulted_count,
    }


def portfolio_report(*, on: date, dimension: str) -> dict[str, Any]:
    """The platform's figures for `on` and the same per group of `dimension`; computed first if missing."""
    snapshot_portfolio(on)
    rows = PortfolioSnapshot.objects.filter(as_of=on, formula_version=FORMULA_VERSION)
    platform = rows.filter(dimension=PortfolioSnapshot.Dimension.PLATFORM, currency=settings.PLATFORM_CURRENCY).first()
    empty = PortfolioSnapshot(as_of=on, dimension="platform", key="", currency=settings.PLATFORM_CURRENCY)
    top = group_report(platform or empty)
    del top["key"]
    return {
        "as_of": on.isoformat(),
        "by": dimension,
        "formula_version": FORMULA_VERSION,
        **top,
        "groups": [group_report(row) for row in rows.filter(dimension=dimension).order_by("key", "currency")],
    }
