"""The schedule engine: golden schedules from Fineract, Frappe Lending and Zidisha to the minor unit, then
dates, methods, grace, day counts, rounding, validation, and properties checked against numpy-financial."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.money import to_minor
from lending.schedules import (
    Amortization,
    DayCount,
    Frequency,
    Installment,
    InstallmentRounding,
    InterestMethod,
    ScheduleError,
    ScheduleTerms,
    add_periods,
    build_schedule,
)

ORACLE_FILE = Path(__file__).parent / "data" / "schedule_oracles.json"
SHARED_ORACLE_FILE = Path(__file__).resolve().parents[3] / "shared" / "oracles" / "schedules.json"
VECTORS: list[dict[str, Any]] = json.loads(ORACLE_FILE.read_text())["vectors"]

CURRENCY_BY_DECIMALS = {2: "USD", 0: "UGX"}
FREQUENCIES = {"month": Frequency.MONTHS, "week": Frequency.WEEKS, "day": Frequency.DAYS}
WHOLE_UNIT_ROUNDING = {"up_to_whole_unit": InstallmentRounding.UP, "down_to_whole_unit": InstallmentRounding.DOWN}
# The Frappe and Zidisha vectors give no dates; only their amounts are asserted, so any date will do.
UNDATED_DISBURSEMENT = date(2024, 1, 15)

# Totals stated only in the vectors' notes (the notes are prose; these are the numbers in them).
NOTED_TOTALS: dict[str, dict[str, str]] = {
    "fineract-classic-emi-2pct-month": {"interest": "605.94", "installment": "3151.49"},
    "fineract-e2e-RS01-flat": {"principal": "5000", "interest": "900", "total": "5900"},
    "fineract-e2e-RS02-declining-emi-multiple-of-1": {
        "interest": "488.22",
        "installment": "305",
        "last_installment": "303.22",
    },
    "fineract-e2e-RS04-equal-principal": {"interest": "475.00", "total": "5475.00"},
}


def oracle_terms(inputs: dict[str, Any]) -> tuple[ScheduleTerms, str]:
    """A vector's descriptive inputs as ScheduleTerms (and the currency they are in); unknown inputs fail."""
    given_ = dict(inputs)
    decimals = given_.pop("currency_decimals")
    currency = CURRENCY_BY_DECIMALS[decimals]
    rate = Decimal(given_.pop("rate", None) or given_.pop("lender_rate"))
    per_month = given_.pop("rate_period") == "month"
    frequency = FREQUENCIES[given_.pop("frequency")]
    assert not per_month or frequency == Frequency.MONTHS, "a monthly rate only maps onto monthly periods"
    assert given_.pop("interest_period", "same_as_repayment") == "same_as_repayment"
    assert given_.pop("rounding", "cents_half_even") in {"cents_half_even", "whole_units"}
    multiple, rounding = _oracle_multiple(given_, currency)
    first_due = given_.pop("first_due_date", None)
    terms = ScheduleTerms(
        principal=to_minor(given_.pop("principal"), currency),
        minor_exponent=decimals,
        repayments=given_.pop("repayments"),
        disbursement_date=date.fromisoformat(given_.pop("disbursement_date", UNDATED_DISBURSEMENT.isoformat())),
        repayment_every=given_.pop("every"),
        repayment_frequency=frequency,
        interest_method=InterestMethod(given_.pop("interest_method")),
        amortization=Amortization(given_.pop("amortization", Amortization.EQUAL_INSTALLMENTS)),
        annual_interest_rate=Decimal(0) if per_month else rate,
        interest_rate_per_period=rate if per_month else None,
        first_repayment_date=date.fromisoformat(first_due) if first_due else None,
        installment_multiple_of=multiple,
        installment_rounding=rounding,
        annual_fee_rate=Decimal(given_.pop("platform_fee_rate", "0")),
        grace_days=given_.pop("grace_days", 0),
    )
    assert not given_, f"inputs the test does not map: {sorted(given_)}"
    return terms, currency


def _oracle_multiple(given_: dict[str, Any], currency: str) -> tuple[int | None, InstallmentRounding]:
    """Fineract's installmentAmountInMultiplesOf rounds to nearest; Frappe's ceil and Zidisha's floor do not."""
    if "installment_rounding" in given_:
        return to_minor("1", currency), WHOLE_UNIT_ROUNDING[given_.pop("installment_rounding")]
    multiple = given_.pop("installment_multiple_of", None)
    return (to_minor(multiple, currency) if multiple else None), InstallmentRounding.NEAREST


def _row_as_oracle(row: Installment, expected: dict[str, str]) -> dict[str, Any]:
    """The row's fields that the oracle gives, in the oracle's units (minor units and dates)."""
    fields = {"n": row.number, "due_date": row.due_date, "principal": row.principal, "interest": row.interest}
    fields |= {"balance": row.balance}
    return {name: fields[name] for name in expected}


def _expected_row(expected: dict[str, Any], currency: str) -> dict[str, Any]:
    def parse(name: str, value: Any) -> Any:
        if name == "n":
            return value
        return date.fromisoformat(value) if name == "due_date" else to_minor(value, currency)

    return {name: parse(name, value) for name, value in expected.items()}


def _totals(rows: list[Installment]) -> dict[str, int]:
    return {
        "principal": sum(row.principal for row in rows),
        "interest": sum(row.interest for row in rows),
        "lender_interest": sum(row.interest for row in rows),
        "platform_fee": sum(row.fees for row in rows),
        "total": sum(row.total for row in rows),
        "last_installment": rows[-1].total,
        "rows": len(rows),
    }


def _with(key: str) -> list[Any]:
    return [pytest.param(vector, id=vector["id"]) for vector in VECTORS if key in vector]


# --- golden vectors ---------------------------------------------------------------------------------


def test_oracle_file_is_a_byte_copy_of_the_shared_oracles():
    if not SHARED_ORACLE_FILE.exists():
        pytest.skip("no ../shared beside this clone to compare with")
    assert ORACLE_FILE.read_bytes() == SHARED_ORACLE_FILE.read_bytes()


def test_every_oracle_vector_has_expectations_this_file_checks():
    checked = {"expected", "expected_partial", "expected_totals", "expected_installments"}
    assert all(checked & vector.keys() for vector in VECTORS)
    assert len(VECTORS) == 7


@pytest.mark.parametrize("vector", _with("expected"))
def test_oracle_full_schedule_is_reproduced_row_by_row(vector):
    terms, currency = oracle_terms(vector["inputs"])
    rows = build_schedule(terms)
    assert len(rows) == len(vector["expected"])
    for row, expected in zip(rows, vector["expected"], strict=True):
        assert _row_as_oracle(row, expected) == _expected_row(expected, currency)


@pytest.mark.parametrize("vector", _with("expected_partial"))
def test_oracle_partial_rows_are_reproduced(vector):
    terms, currency = oracle_terms(vector["inputs"])
    rows = build_schedule(terms)
    for expected in vector["expected_partial"]:
        row = rows[expected["n"] - 1]
        assert _row_as_oracle(row, expected) == _expected_row(expected, currency)


@pytest.mark.parametrize("vector", _with("expected_totals"))
def test_oracle_totals_are_reproduced(vector):
    terms, currency = oracle_terms(vector["inputs"])
    rows = build_schedule(terms)
    for name, value in vector["expected_totals"].items():
        if name == "installment":  # the level installment: every row but the last, which absorbs the residual
            assert {row.total for row in rows[:-1]} == {to_minor(value, currency)}
        elif name == "rows":
            assert len(rows) == value
        else:
            assert _totals(rows)[name] == to_minor(value, currency), name


@pytest.mark.parametrize("vector", _with("expected_installments"))
def test_oracle_installment_totals_are_reproduced(vector):
    terms, currency = oracle_terms(vector["inputs"])
    rows = build_schedule(terms)
    assert [row.total for row in rows] == [to_minor(value, currency) for value in vector["expected_installments"]]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["id"] in NOTED_TOTALS], ids=lambda v: v["id"])
def test_oracle_totals_stated_in_the_notes_are_reproduced(vector):
    terms, currency = oracle_terms(vector["inputs"])
    rows = build_schedule(terms)
    for name, value in NOTED_TOTALS[vector["id"]].items():
        if name == "installment":
            assert rows[0].total == to_minor(value, currency)
        else:
            assert _totals(rows)[name] == to_minor(value, currency), name


def test_zidisha_rows_put_lender_interest_and_platform_fee_in_their_own_columns():
    vector = next(v for v in VECTORS if v["id"] == "zidisha-flat-monthly")
    rows = build_schedule(oracle_terms(vector["inputs"])[0])
    assert [(row.principal, row.interest, row.fees) for row in rows[:2]] == [(24950, 2500, 1250)] * 2
    assert (rows[-1].principal, rows[-1].interest, rows[-1].fees) == (25550, 2500, 1250)


# --- dates --------------------------------------------------------------------------------------------


def test_add_periods_clamps_month_ends_from_the_original_day():
    start = date(2023, 1, 31)
    dates = [add_periods(start, every=1, frequency=Frequency.MONTHS, count=n) for n in (1, 2, 3)]
    assert dates == [date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]


def test_add_periods_lands_on_february_29_only_in_a_leap_year():
    assert add_periods(date(2024, 1, 31), every=1, frequency=Frequency.MONTHS, count=1) == date(2024, 2, 29)
    assert add_periods(date(2024, 2, 29), every=12, frequency=Frequency.MONTHS, count=1) == date(2025, 2, 28)
    assert add_periods(date(2024, 2, 29), every=12, frequency=Frequency.MONTHS, count=4) == date(2028, 2, 29)


def test_add_periods_counts_weeks_and_days():
    assert add_periods(date(2024, 1, 1), every=2, frequency=Frequency.WEEKS, count=3) == date(2024, 2, 12)
    assert add_periods(date(2024, 1, 1), every=10, frequency=Frequency.DAYS, count=4) == date(2024, 2, 10)


def test_add_periods_refuses_a_zero_step():
    with pytest.raises(ScheduleError, match=r"^every:"):
        add_periods(date(2024, 1, 1), every=0, frequency=Frequency.DAYS, count=1)


def test_monthly_schedule_from_a_month_end_keeps_the_month_end():
    rows = build_schedule(_terms(disbursement_date=date(2023, 1, 31), repayments=3))
    assert [row.due_date for row in rows] == [date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]


def test_first_repayment_date_anchors_the_later_due_dates():
    rows = build_schedule(_terms(disbursement_date=date(2024, 1, 10), first_repayment_date=date(2024, 1, 31)))
    due = [row.due_date for row in rows]
    assert due == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]


def test_first_repayment_date_makes_a_longer_first_actual_365_period():
    # 36.5% a year is 0.1% a day: 46 days on 1000.00, then 29 days on 500.00.
    terms = _declining(
        annual_interest_rate=Decimal("36.5"),
        amortization=Amortization.EQUAL_PRINCIPAL,
        day_count=DayCount.ACTUAL_365,
        repayments=2,
        disbursement_date=date(2024, 1, 10),
        first_repayment_date=date(2024, 2, 25),
    )
    rows = build_schedule(terms)
    assert [(row.due_date, row.principal, row.interest) for row in rows] == [
        (date(2024, 2, 25), 50000, 4600),
        (date(2024, 3, 25), 50000, 1450),
    ]


# --- frequencies, bullet, irregular -------------------------------------------------------------------


def test_weekly_declining_schedule_charges_a_fifty_second_of_the_rate():
    # 52% a year is 1% a week; EMI = 1000 x 0.01 x 1.01^2 / (1.01^2 - 1) = 507.5124 -> 507.51.
    rows = build_schedule(
        _declining(annual_interest_rate=Decimal(52), repayments=2, repayment_frequency=Frequency.WEEKS)
    )
    assert [(row.due_date, row.principal, row.interest, row.balance) for row in rows] == [
        (date(2024, 1, 22), 49751, 1000, 50249),
        (date(2024, 1, 29), 50249, 502, 0),
    ]


def test_every_two_weeks_steps_fourteen_days_and_charges_two_weeks_of_interest():
    rows = build_schedule(
        _flat(annual_interest_rate=Decimal(26), repayments=2, repayment_every=2, repayment_frequency=Frequency.WEEKS)
    )
    assert [(row.due_date, row.interest) for row in rows] == [(date(2024, 1, 29), 1000), (date(2024, 2, 12), 1000)]


def test_daily_flat_schedule_charges_a_365th_of_the_rate_per_day():
    rows = build_schedule(_flat(annual_interest_rate=Decimal("36.5"), repayments=3, repayment_frequency=Frequency.DAYS))
    assert [(row.due_date, row.principal, row.interest) for row in rows] == [
        (date(2024, 1, 16), 33333, 100),
        (date(2024, 1, 17), 33333, 100),
        (date(2024, 1, 18), 33334, 100),
    ]


@pytest.mark.parametrize("method", [InterestMethod.FLAT, InterestMethod.DECLINING_BALANCE])
def test_bullet_repays_everything_once_after_the_whole_term(method):
    terms = _terms(interest_method=method, annual_interest_rate=Decimal(12), repayments=6, bullet=True)
    assert build_schedule(terms) == [Installment(1, date(2024, 7, 15), 100000, 6000, 0, 0)]


def test_bullet_with_a_rate_per_period_charges_it_for_every_period_of_the_term():
    terms = _flat(interest_rate_per_period=Decimal(1), repayments=6, bullet=True)
    assert build_schedule(terms)[0].interest == 6000


def test_explicit_zero_interest_schedule_follows_the_given_rows():
    explicit = ((date(2024, 2, 20), 10000), (date(2024, 3, 5), 0), (date(2024, 5, 20), 40000))
    rows = build_schedule(_terms(principal=50000, explicit=explicit))
    assert [(row.due_date, row.principal, row.interest, row.balance) for row in rows] == [
        (date(2024, 2, 20), 10000, 0, 40000),
        (date(2024, 3, 5), 0, 0, 40000),
        (date(2024, 5, 20), 40000, 0, 0),
    ]


def test_explicit_rows_replace_the_repayments_count():
    explicit = ((date(2024, 2, 1), 60000), (date(2024, 3, 1), 40000))
    rows = build_schedule(_terms(repayments=0, explicit=explicit))
    assert [row.principal for row in rows] == [60000, 40000]


def test_explicit_declining_schedule_charges_actual_days_on_the_balance():
    # 0.1% a day: 10 days on 1000.00, then 20 days on 500.00.
    explicit = ((date(2024, 1, 25), 50000), (date(2024, 2, 14), 50000))
    terms = _declining(annual_interest_rate=Decimal("36.5"), day_count=DayCount.ACTUAL_365, explicit=explicit)
    assert [row.interest for row in build_schedule(terms)] == [1000, 1000]


# --- interest methods ---------------------------------------------------------------------------------


def test_zero_interest_splits_the_principal_and_the_last_row_absorbs_the_remainder():
    rows = build_schedule(_terms(principal=10000, repayments=3))
    assert [(row.principal, row.interest, row.balance) for row in rows] == [
        (3333, 0, 6667),
        (3333, 0, 3334),
        (3334, 0, 0),
    ]


def test_rate_per_period_overrides_the_annual_rate():
    terms = _declining(annual_interest_rate=Decimal(99), interest_rate_per_period=Decimal(2), principal=1200000)
    assert build_schedule(terms)[0].interest == 24000


def test_rate_per_period_with_a_day_count_is_scaled_to_a_year_first():
    # 1% a month is 12% a year: 1000.00 x 12% x 31/365 = 10.1918 -> 10.19.
    terms = _declining(interest_rate_per_period=Decimal(1), day_count=DayCount.ACTUAL_365, repayments=1)
    assert build_schedule(replace(terms, disbursement_date=date(2023, 1, 1)))[0].interest == 1019


def test_interest_method_none_charges_nothing_even_with_a_day_count():
    rows = build_schedule(_terms(day_count=DayCount.ACTUAL_ACTUAL))
    assert [row.interest for row in rows] == [0, 0, 0, 0]


def test_annual_fee_is_flat_on_the_original_principal_in_its_own_column():
    terms = _declining(principal=120000, repayments=12, annual_interest_rate=Decimal(12), annual_fee_rate=Decimal(6))
    rows = build_schedule(terms)
    assert [row.fees for row in rows] == [600] * 12
    assert rows[0].interest == 1200


@pytest.mark.parametrize(("mode", "interest"), [("half_even", 122), ("half_up", 123)])
def test_rounding_mode_decides_a_half_way_interest(mode, interest):
    # 122.50 minor units of interest: half-even keeps 122, half-up makes 123.
    terms = _flat(principal=12250, repayments=1, annual_interest_rate=Decimal(12), rounding_mode=mode)
    assert build_schedule(terms)[0].interest == interest


# --- grace ---------------------------------------------------------------------------------------------


def test_grace_on_principal_charges_interest_only_then_amortizes_over_the_rest():
    terms = _declining(annual_interest_rate=Decimal(12), grace_on_principal_periods=2)
    rows = build_schedule(terms)
    assert [(row.principal, row.interest, row.balance) for row in rows] == [
        (0, 1000, 100000),
        (0, 1000, 100000),
        (49751, 1000, 50249),
        (50249, 502, 0),
    ]


def test_grace_on_interest_defers_it_to_the_first_installment_after_the_grace():
    rows = build_schedule(_flat(annual_interest_rate=Decimal(12), repayments=3, grace_on_interest_periods=2))
    assert [(row.principal, row.interest) for row in rows] == [(33333, 0), (33333, 0), (33334, 3000)]


def test_grace_on_interest_with_declining_balance_still_accrues_on_the_balance():
    terms = _declining(annual_interest_rate=Decimal(12), amortization=Amortization.EQUAL_PRINCIPAL)
    rows = build_schedule(replace(terms, grace_on_interest_periods=1))
    assert [row.interest for row in rows] == [0, 1000 + 750, 500, 250]


# --- day counts ----------------------------------------------------------------------------------------


def test_actual_365_charges_the_days_of_each_period():
    # 0.1% a day: January's 31 days on 1000.00, February's 28 on 500.00.
    terms = _declining(
        annual_interest_rate=Decimal("36.5"),
        amortization=Amortization.EQUAL_PRINCIPAL,
        day_count=DayCount.ACTUAL_365,
        repayments=2,
        disbursement_date=date(2023, 1, 1),
    )
    assert [row.interest for row in build_schedule(terms)] == [3100, 1400]


def test_thirty_360_counts_bond_basis_days():
    # Jan 31 -> Feb 28 is 28 days (31st read as 30th); Feb 28 -> Mar 31 is 33 (the start was not the 30th).
    terms = _declining(
        annual_interest_rate=Decimal(12),
        amortization=Amortization.EQUAL_PRINCIPAL,
        day_count=DayCount.THIRTY_360,
        repayments=2,
        disbursement_date=date(2023, 1, 31),
    )
    # 1000.00 x 12% x 28/360 = 9.3333 -> 9.33; 500.00 x 12% x 33/360 = 5.50
    assert [row.interest for row in build_schedule(terms)] == [933, 550]


def test_thirty_360_keeps_a_half_way_tie_exact():
    # 123.50 x ... : 12350 x 12% x 30/360 is exactly 123.5 minor units, half-even 124; a truncated
    # decimal 30/360 would give 123.4999... and round down.
    terms = _declining(principal=12350, annual_interest_rate=Decimal(12), day_count=DayCount.THIRTY_360, repayments=1)
    assert build_schedule(terms)[0].interest == 124


def test_actual_actual_splits_a_period_across_the_year_end():
    # 13359.00 at 10%: 17 days of 2023 over 365 plus 14 days of 2024 over 366 = 62.22 + 51.10.
    terms = _declining(
        principal=1335900,
        annual_interest_rate=Decimal(10),
        day_count=DayCount.ACTUAL_ACTUAL,
        repayments=1,
        disbursement_date=date(2023, 12, 15),
    )
    assert build_schedule(terms)[0].interest == 11332
    assert build_schedule(replace(terms, day_count=DayCount.ACTUAL_365))[0].interest == 11346


# --- installment multiples -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("multiple", "rounding", "principals"),
    [
        (1000, InstallmentRounding.NEAREST, [33000, 33000, 34000]),
        (1000, InstallmentRounding.UP, [34000, 34000, 32000]),
        (500, InstallmentRounding.NEAREST, [33500, 33500, 33000]),
        (500, InstallmentRounding.DOWN, [33000, 33000, 34000]),
    ],
)
def test_installments_round_to_the_multiple_and_the_last_absorbs_the_residual(multiple, rounding, principals):
    terms = _terms(repayments=3, installment_multiple_of=multiple, installment_rounding=rounding)
    assert [row.principal for row in build_schedule(terms)] == principals


# --- validation ----------------------------------------------------------------------------------------

_EXPLICIT = ((date(2024, 2, 1), 60000), (date(2024, 3, 1), 40000))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": 0}, "principal"),
        ({"principal": -5}, "principal"),
        ({"principal": True}, "principal"),
        ({"minor_exponent": -1}, "minor_exponent"),
        ({"repayments": 0}, "repayments"),
        ({"repayment_every": 0}, "repayment_every"),
        ({"repayment_frequency": "years"}, "repayment_frequency"),
        ({"interest_method": "compound"}, "interest_method"),
        ({"amortization": "balloon"}, "amortization"),
        ({"day_count": "actual/360"}, "day_count"),
        ({"installment_rounding": "sideways"}, "installment_rounding"),
        ({"interest_method": "flat", "annual_interest_rate": Decimal(-1)}, "annual_interest_rate"),
        ({"interest_method": "flat", "annual_interest_rate": 0.12}, "annual_interest_rate"),
        ({"interest_method": "flat", "annual_interest_rate": Decimal("NaN")}, "annual_interest_rate"),
        ({"interest_method": "flat", "interest_rate_per_period": Decimal(-1)}, "interest_rate_per_period"),
        ({"annual_interest_rate": Decimal(12)}, "annual_interest_rate"),
        ({"interest_rate_per_period": Decimal(1)}, "interest_rate_per_period"),
        ({"annual_fee_rate": Decimal(-1)}, "annual_fee_rate"),
        ({"disbursement_date": datetime(2024, 1, 15, 9, 0)}, "disbursement_date"),
        ({"first_repayment_date": date(2024, 1, 15)}, "first_repayment_date"),
        ({"first_repayment_date": date(2024, 1, 1)}, "first_repayment_date"),
        ({"grace_on_principal_periods": 4}, "grace_on_principal_periods"),
        ({"grace_on_principal_periods": -1}, "grace_on_principal_periods"),
        ({"grace_on_interest_periods": 4}, "grace_on_interest_periods"),
        ({"bullet": True, "grace_on_principal_periods": 1}, "grace_on_principal_periods"),
        ({"bullet": "yes"}, "bullet"),
        ({"installment_multiple_of": 0}, "installment_multiple_of"),
        ({"grace_days": -1}, "grace_days"),
        ({"rounding_mode": "ceiling"}, "rounding_mode"),
        ({"repayments": 10_000, "repayment_every": 12}, "repayments"),
        ({"explicit": ((date(2024, 3, 1), 60000), (date(2024, 2, 1), 40000))}, "explicit"),
        ({"explicit": ((date(2024, 1, 15), 60000), (date(2024, 2, 1), 40000))}, "explicit"),
        ({"explicit": ((date(2024, 2, 1), 60000), (date(2024, 3, 1), 30000))}, "explicit"),
        ({"explicit": ((date(2024, 2, 1), 110000), (date(2024, 3, 1), -10000))}, "explicit"),
        ({"explicit": _EXPLICIT, "bullet": True}, "bullet"),
        ({"explicit": _EXPLICIT, "first_repayment_date": date(2024, 2, 1)}, "first_repayment_date"),
        ({"explicit": _EXPLICIT, "grace_on_principal_periods": 1}, "grace_on_principal_periods"),
        ({"explicit": _EXPLICIT, "installment_multiple_of": 100}, "installment_multiple_of"),
        ({"explicit": _EXPLICIT, "interest_method": "flat", "annual_interest_rate": Decimal(5)}, "day_count"),
    ],
)
def test_bad_terms_raise_a_schedule_error_naming_the_field(overrides, field):
    with pytest.raises(ScheduleError) as caught:
        build_schedule(_terms(**overrides))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_schedule_error_is_a_value_error():
    with pytest.raises(ValueError, match=r"^repayments: must be at least 1$"):
        build_schedule(_terms(repayments=0))


# --- properties ----------------------------------------------------------------------------------------


@st.composite
def schedule_terms(draw: st.DrawFn) -> ScheduleTerms:
    repayments = draw(st.integers(1, 60))
    bullet = draw(st.booleans())
    installments = 1 if bullet else repayments
    method = draw(st.sampled_from(InterestMethod))
    percent = st.decimals(min_value=0, max_value=100, places=2)
    disbursement = draw(st.dates(date(2000, 1, 1), date(2040, 12, 31)))
    first_repayment = st.integers(1, 60).map(lambda days: date.fromordinal(disbursement.toordinal() + days))
    return ScheduleTerms(
        principal=draw(st.integers(1, 10**10)),
        minor_exponent=2,
        repayments=repayments,
        disbursement_date=disbursement,
        repayment_every=draw(st.integers(1, 4)),
        repayment_frequency=draw(st.sampled_from(Frequency)),
        bullet=bullet,
        interest_method=method,
        amortization=draw(st.sampled_from(Amortization)),
        annual_interest_rate=Decimal(0) if method == InterestMethod.NONE else draw(percent),
        day_count=draw(st.sampled_from(DayCount)),
        first_repayment_date=draw(st.none() | first_repayment),
        grace_on_principal_periods=draw(st.integers(0, installments - 1)),
        grace_on_interest_periods=draw(st.integers(0, installments - 1)),
        installment_multiple_of=draw(st.none() | st.integers(1, 10_000)),
        installment_rounding=draw(st.sampled_from(InstallmentRounding)),
        annual_fee_rate=draw(st.decimals(min_value=0, max_value=20, places=2)),
        grace_days=draw(st.integers(0, 30)),
        rounding_mode=draw(st.sampled_from(["half_even", "half_up"])),
    )


@st.composite
def explicit_terms(draw: st.DrawFn) -> ScheduleTerms:
    principal = draw(st.integers(1, 10**9))
    gaps = draw(st.lists(st.integers(1, 120), min_size=1, max_size=24))
    cuts = sorted(draw(st.lists(st.integers(0, principal), min_size=len(gaps) - 1, max_size=len(gaps) - 1)))
    principals = [b - a for a, b in zip([0, *cuts], [*cuts, principal], strict=True)]
    disbursement = date(2024, 1, 15)
    dues = [date.fromordinal(disbursement.toordinal() + sum(gaps[: i + 1])) for i in range(len(gaps))]
    method = draw(st.sampled_from(InterestMethod))
    return ScheduleTerms(
        principal=principal,
        minor_exponent=2,
        repayments=1,
        disbursement_date=disbursement,
        interest_method=method,
        annual_interest_rate=Decimal(0) if method == InterestMethod.NONE else draw(st.decimals(0, 100, places=2)),
        day_count=draw(st.sampled_from([DayCount.THIRTY_360, DayCount.ACTUAL_365, DayCount.ACTUAL_ACTUAL])),
        grace_on_interest_periods=draw(st.integers(0, len(gaps) - 1)),
        annual_fee_rate=draw(st.decimals(0, 20, places=2)),
        explicit=tuple(zip(dues, principals, strict=True)),
    )


def _assert_repays_exactly(terms: ScheduleTerms, rows: list[Installment]) -> None:
    assert sum(row.principal for row in rows) == terms.principal
    assert rows[-1].balance == 0
    assert [row.number for row in rows] == list(range(1, len(rows) + 1))
    balance = terms.principal
    for row in rows:
        assert min(row.principal, row.interest, row.fees, row.balance) >= 0
        assert row.balance == balance - row.principal
        balance = row.balance
    assert all(a.due_date < b.due_date for a, b in itertools.pairwise(rows))


@settings(print_blob=True, max_examples=300)
@given(schedule_terms())
def test_any_schedule_repays_the_principal_exactly_with_no_negative_part(terms):
    _assert_repays_exactly(terms, build_schedule(terms))


@settings(print_blob=True, max_examples=200)
@given(explicit_terms())
def test_any_explicit_schedule_repays_the_given_principals_exactly(terms):
    rows = build_schedule(terms)
    _assert_repays_exactly(terms, rows)
    assert [(row.due_date, row.principal) for row in rows] == list(terms.explicit)


def _numpy_bounds(rate: float, k: int) -> tuple[float, float, float]:
    """How far row k (1-based) may stray from numpy's exact annuity, in minor units.

    Our level payment is rounded (error e, |e| <= 1/2) and each interest is rounded (error d, |d| <= 1/2),
    so the balance drifts: D_k = (1 + r) D_(k-1) + (d_k - e), |D_k| <= ((1 + r)^k - 1) / r. Hence
    |interest - ipmt| <= (1 + r)^(k-1) - 1/2, |principal - ppmt| <= (1 + r)^(k-1), and the last row,
    which takes the whole remaining balance, may differ by the drift |D_(n-1)|.
    """
    growth = (1 + rate) ** (k - 1)
    drift = (growth - 1) / rate if rate else float(k - 1)
    return growth - 0.5, growth, drift


@settings(print_blob=True, max_examples=300, deadline=None)
@given(
    # From 1000.00: a smaller principal over many periods can have its drift reach the last rows' balance,
    # where a row is cut to what is left and the bound below no longer describes it.
    principal=st.integers(100_000, 10**9),
    # Below 1% a year numpy's (1 + r)^n - 1 loses digits to cancellation; 0% is its own exact case.
    annual=st.just(Decimal(0)) | st.decimals(min_value=1, max_value=60, places=2),
    repayments=st.integers(1, 60),
    frequency=st.sampled_from([Frequency.MONTHS, Frequency.WEEKS]),
)
def test_declining_equal_installments_stay_within_the_rounding_drift_of_numpy_financial(
    principal, annual, repayments, frequency
):
    terms = _declining(principal=principal, annual_interest_rate=annual, repayments=repayments)
    rows = build_schedule(replace(terms, repayment_frequency=frequency))
    rate = float(annual) / 100 / (12 if frequency == Frequency.MONTHS else 52)
    periods = np.arange(1, repayments + 1)
    ipmt = -npf.ipmt(rate, periods, repayments, principal) if rate else np.zeros(repayments)
    ppmt = -npf.ppmt(rate, periods, repayments, principal) if rate else np.full(repayments, principal / repayments)
    slack = 1e-3  # numpy's float error (under 1e-3 of a minor unit for these rates and principals)
    for k, row in enumerate(rows, start=1):
        interest_bound, principal_bound, drift = _numpy_bounds(rate, k)
        assert abs(row.interest - ipmt[k - 1]) <= interest_bound + slack
        # The last row repays the balance left, so it carries the drift of the rows before it.
        assert abs(row.principal - ppmt[k - 1]) <= (drift if k == repayments else principal_bound) + slack


def test_short_microloans_track_numpy_financial_within_one_minor_unit_of_interest():
    # 12 monthly installments at 36% a year: the drift bound is (1.03^11 - 1)/0.03 = 12.8 minor units on the
    # last row, and every earlier interest is within (1.03)^10 - 0.5 = 0.84.
    terms = _declining(principal=427136233, annual_interest_rate=Decimal("36"), repayments=12)
    rows = build_schedule(terms)
    ipmt = -npf.ipmt(0.03, np.arange(1, 13), 12, 427136233)
    assert max(abs(row.interest - ipmt[i]) for i, row in enumerate(rows[:-1])) < 1


# --- helpers --------------------------------------------------------------------------------------------


def _terms(**overrides: Any) -> ScheduleTerms:
    base: dict[str, Any] = {
        "principal": 100000,
        "minor_exponent": 2,
        "repayments": 4,
        "disbursement_date": date(2024, 1, 15),
    }
    return ScheduleTerms(**(base | overrides))


def _declining(**overrides: Any) -> ScheduleTerms:
    return _terms(**({"interest_method": InterestMethod.DECLINING_BALANCE} | overrides))


def _flat(**overrides: Any) -> ScheduleTerms:
    return _terms(**({"interest_method": InterestMethod.FLAT} | overrides))
