"""Portfolio snapshots on a crafted portfolio, against figures computed by hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from lending.jobs.close import advance_to, close_business_day
from lending.loans.repayments import repayment_record
from lending.metrics.formulas import FORMULA_VERSION, rates, ratio
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import FIGURES, compute
from tests.loans import CLOSE_ON

pytestmark = pytest.mark.django_db


def platform(on=CLOSE_ON):
    return PortfolioSnapshot.objects.get(as_of=on, dimension="platform", currency="USD")


def test_the_close_snapshots_the_portfolio_as_computed_by_hand(portfolio):
    close_business_day(on=CLOSE_ON)
    row = platform()
    # late: 15,000 lent, 1,250 repaid, March's 1,250 15 days late; pennies: 15,000, 2,450 repaid, 50 short
    # (within tolerance); ended: 2,500 due 2026-01-12, unpaid, 67 days late; paid: 2,500 repaid.
    assert row.loans_by_status == {
        "expired": {"count": 1, "amount": 10_000},
        "fundraising": {"count": 1, "amount": 10_000},
        "paying_back": {"count": 3, "amount": 32_500},
        "repaid": {"count": 1, "amount": 2_500},
    }
    assert (row.outstanding_principal, row.amount_past_due) == (13_750 + 12_550 + 2_500, 1_250 + 50 + 2_500)
    assert (row.par_1_principal, row.par_30_principal, row.par_90_principal) == (13_750 + 2_500, 2_500, 0)
    assert (row.ended_amount, row.ended_count, row.defaulted_count, row.defaulted_balance) == (2_500, 1, 0, 0)
    assert (row.due_to_date, row.repaid_to_date, row.amount_repaid) == (10_000, 6_200, 6_200)
    assert rates({name: getattr(row, name) for name in FIGURES}) == {
        "par_1": Decimal("0.564236"),
        "par_30": Decimal("0.086806"),
        "par_90": Decimal("0.000000"),
        "delinquency_rate": Decimal("0.131944"),
        "default_rate_by_amount": Decimal("0.000000"),
        "default_rate_by_count": Decimal("0.000000"),
        "repayment_rate": Decimal("0.620000"),
    }
    assert row.formula_version == FORMULA_VERSION


def test_default_rates_after_the_six_month_rule_writes_a_loan_off(portfolio):
    advance_to(target=date(2026, 7, 12), start=CLOSE_ON)
    row = platform(date(2026, 7, 12))
    assert (row.ended_amount, row.ended_count, row.defaulted_count, row.defaulted_balance) == (5_000, 2, 1, 2_500)
    assert row.amount_lost == 2_500
    figures = {name: getattr(row, name) for name in FIGURES}
    assert rates(figures)["default_rate_by_amount"] == Decimal("0.500000")
    assert rates(figures)["default_rate_by_count"] == Decimal("0.500000")
    assert platform(CLOSE_ON).defaulted_count == 0  # history is kept as it was


def _figures(dimension: str) -> list[tuple]:
    return [
        (r.key, r.loans_by_status, r.outstanding_principal, r.amount_past_due, r.amount_repaid, r.amount_lost)
        for r in compute(CLOSE_ON, dimension)
    ]


@pytest.mark.parametrize("dimension", ["platform", "lender"])
def test_a_snapshot_of_a_past_date_ignores_what_happened_after_it_in_every_dimension(portfolio, dimension):
    # The lender dimension starts from the positions' running totals and takes later receipts off.
    before = _figures(dimension)
    late = portfolio["late"]
    repayment_record(
        loan=late, amount_cents=1_250, currency="USD", received_on=date(2026, 3, 25), source="staff",
        idempotency_key="after", actor=None,
    )  # fmt: skip
    assert _figures(dimension) == before
    assert compute(date(2026, 3, 25), dimension) != compute(CLOSE_ON, dimension)


def test_a_snapshot_of_a_past_date_ignores_what_happened_after_it(portfolio):
    before = [
        (r.key, r.loans_by_status, r.outstanding_principal, r.amount_past_due) for r in compute(CLOSE_ON, "platform")
    ]
    late = portfolio["late"]
    repayment_record(
        loan=late, amount_cents=1_250, currency="USD", received_on=date(2026, 3, 25), source="staff",
        idempotency_key="after", actor=None,
    )  # fmt: skip
    after = [
        (r.key, r.loans_by_status, r.outstanding_principal, r.amount_past_due) for r in compute(CLOSE_ON, "platform")
    ]
    assert after == before


def test_groups_add_up_to_the_platform(portfolio):
    close_business_day(on=CLOSE_ON)
    total = platform()
    for dimension in ("partner", "country", "sector"):
        groups = PortfolioSnapshot.objects.filter(as_of=CLOSE_ON, dimension=dimension)
        assert groups.exists()
        for name in FIGURES:
            assert sum(getattr(g, name) for g in groups) == getattr(total, name), (dimension, name)


def test_rates_are_none_when_there_is_nothing_to_divide_by():
    assert ratio(5, 0) is None
    assert ratio(1, 3) == Decimal("0.333333")


def test_portfolio_metrics_prints_stable_json_and_computes_a_missing_date(portfolio):
    out = StringIO()
    call_command("portfolio_metrics", "--as-of", "2026-03-20", "--by", "sector", "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    for key in ("as_of", "loans_by_status", "outstanding_principal", "par_1", "par_30", "par_90", "delinquency_rate",
                "default_rate_by_amount", "default_rate_by_count", "repayment_rate", "amount_repaid", "amount_lost",
                "currency", "groups"):  # fmt: skip
        assert key in report, key
    assert report["as_of"] == "2026-03-20"
    assert report["groups"][0]["key"] == "agriculture"
    assert 0 <= report["par_1"] <= 1
    assert PortfolioSnapshot.objects.filter(as_of=date(2026, 3, 20)).exists()
    out = StringIO()
    call_command("portfolio_metrics", "--as-of", "2026-03-20", stdout=out)
    assert "portfolio as of 2026-03-20 by platform" in out.getvalue()


def test_each_lender_gets_their_own_snapshot_of_their_stakes(portfolio):
    close_business_day(on=CLOSE_ON)
    first = portfolio["lenders"][0]  # stale 2,500 (expired), late 7,500 of 15,000, pennies 15,000 of 15,000
    row = PortfolioSnapshot.objects.get(as_of=CLOSE_ON, dimension="lender", key=str(first.pk))
    assert row.loans_by_status == {
        "expired": {"count": 1, "amount": 2_500},
        "paying_back": {"count": 2, "amount": 22_500},
    }
    assert (row.outstanding_principal, row.amount_past_due) == ((7_500 - 625) + (15_000 - 2_450), 625 + 50)
    assert (row.par_1_principal, row.par_30_principal) == (7_500 - 625, 0)
    assert row.amount_repaid == 625 + 2_450


def test_a_recovery_after_default_shrinks_what_is_lost(portfolio):
    advance_to(target=date(2026, 7, 12), start=CLOSE_ON)
    assert platform(date(2026, 7, 12)).amount_lost == 2_500
    repayment_record(
        loan=portfolio["ended"], amount_cents=1_000, currency="USD", received_on=date(2026, 7, 13), source="staff",
        idempotency_key="recovery", actor=None,
    )  # fmt: skip
    close_business_day(on=date(2026, 7, 13))
    row = platform(date(2026, 7, 13))
    assert (row.defaulted_balance, row.amount_lost, row.defaulted_count) == (1_500, 1_500, 1)
    figures = {name: getattr(row, name) for name in FIGURES}
    assert rates(figures)["default_rate_by_amount"] == Decimal("0.300000")  # 1,500 of 5,000 ended


def test_the_stored_snapshot_is_what_compute_reads_in_every_dimension_and_leaves_no_table(portfolio):
    """The close writes each dimension with one INSERT ... SELECT; compute() reads the same rows back."""
    close_business_day(on=CLOSE_ON)
    for dimension in PortfolioSnapshot.Dimension.values:
        stored = PortfolioSnapshot.objects.filter(as_of=CLOSE_ON, dimension=dimension).order_by("key", "currency")
        assert stored.exists(), dimension
        assert [_row(r) for r in stored] == [_row(r) for r in compute(CLOSE_ON, dimension)], dimension
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM snapshot_loans")  # the per-loan figures' temporary table is gone


def _row(snapshot: PortfolioSnapshot) -> tuple:
    return (snapshot.key, snapshot.currency, snapshot.loans_by_status, *(getattr(snapshot, f) for f in FIGURES))
