"""Money: exact parsing, the one rounding function, and splits that never lose or create a cent."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.money import (
    CurrencyMismatch,
    Money,
    MoneyError,
    format_money,
    round_to_minor,
    split_cumulative,
    split_pro_rata,
    to_major,
    to_minor,
)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("25", "USD", 2500), ("25.5", "USD", 2550), ("0.01", "USD", 1), ("5000", "UGX", 5000), ("1.234", "JOD", 1234)],
)
def test_to_minor_parses_exactly(text, currency, minor):
    assert to_minor(text, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("25.001", "USD"),
        ("1.5", "UGX"),
        ("abc", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("1", "usd"),
        ("1", "XYZ"),
    ],
)
def test_to_minor_refuses_what_the_currency_cannot_hold(value, currency):
    with pytest.raises(MoneyError):
        to_minor(value, currency)


def test_to_minor_refuses_floats():
    with pytest.raises(MoneyError, match="never floats"):
        to_minor(0.1, "USD")  # type: ignore[arg-type]


def test_to_major_round_trips():
    assert to_major(2550, "USD") == Decimal("25.50")
    assert to_major(5000, "UGX") == Decimal("5000")
    assert to_minor(str(to_major(123456, "KES")), "KES") == 123456


def test_round_to_minor_is_half_even_by_default_and_half_up_on_request():
    assert round_to_minor(Decimal("2.5")) == 2
    assert round_to_minor(Decimal("3.5")) == 4
    assert round_to_minor(Decimal("2.5"), mode="half_up") == 3
    assert round_to_minor(Decimal("-2.5"), mode="half_up") == -3
    with pytest.raises(MoneyError):
        round_to_minor(Decimal(1), mode="up-ish")


def test_format_money():
    assert format_money(123456, "USD") == "$1,234.56"
    assert format_money(-5, "USD") == "-$0.05"
    assert format_money(5000, "UGX") == "UGX 5,000"


def test_split_gives_leftover_cents_to_largest_remainders_then_earliest():
    assert split_pro_rata(100, [1, 1, 1]) == [34, 33, 33]
    assert split_pro_rata(10, [3, 3, 4]) == [3, 3, 4]
    assert split_pro_rata(1, [1, 1]) == [1, 0]
    assert split_pro_rata(5, [0, 1]) == [0, 5]
    assert split_pro_rata(-100, [1, 1, 1]) == [-34, -33, -33]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_split_refuses_impossible_weights(weights):
    with pytest.raises(MoneyError):
        split_pro_rata(100, weights)


def test_split_refuses_non_integer_amounts():
    with pytest.raises(MoneyError):
        split_pro_rata(Decimal("1.5"), [1, 1])  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        split_pro_rata(True, [1, 1])


@settings(max_examples=300, print_blob=True)
@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60).filter(lambda w: sum(w) > 0),
)
def test_split_parts_sum_exactly_and_each_part_is_within_a_cent_of_its_share(total, weights):
    parts = split_pro_rata(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1
        if weight == 0:
            assert part == 0


@given(total=st.integers(min_value=0, max_value=10**9), n=st.integers(min_value=1, max_value=50))
def test_split_of_equal_weights_differs_by_at_most_one_cent(total, n):
    parts = split_pro_rata(total, [25] * n)
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # ties go to the earliest


def test_money_arithmetic_refuses_mixed_currencies():
    assert Money(100, "USD") + Money(50, "USD") == Money(150, "USD")
    assert str(Money.parse("12.30", "USD")) == "$12.30"
    assert [m.amount for m in Money(100, "USD").split([1, 2])] == [33, 67]
    with pytest.raises(CurrencyMismatch):
        Money(100, "USD") + Money(100, "KES")
    with pytest.raises(MoneyError):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_split_cumulative_keeps_running_totals_pro_rata_and_ends_exact():
    weights = [2_500, 2_500, 5_000]
    received = [0, 0, 0]
    for amount in [3_333, 3_333, 3_334]:
        parts = split_cumulative(amount, weights, received)
        assert sum(parts) == amount
        received = [r + p for r, p in zip(received, parts, strict=True)]
    assert received == weights


def test_split_cumulative_refuses_paying_more_than_is_owed():
    with pytest.raises(MoneyError, match="only 100 is owed"):
        split_cumulative(101, [50, 50], [0, 0])
    with pytest.raises(MoneyError):
        split_cumulative(1, [50, 50], [60, 0])


def test_split_cumulative_after_the_alabama_paradox_stays_within_two_cents_of_exact():
    """Found by hypothesis: when splitting pro rata to what was still owed, a lender drifted 2.06 cents ahead."""
    weights = [2_500] * 7 + [27_500, 80_000, 80_000, 92_500, 95_000, 97_500, 97_500]
    total, received = sum(weights), [0] * 14
    for amount in [1, 1, 1, 329_307, 1, 2, 258_187]:
        parts = split_cumulative(amount, weights, received)
        received = [r + p for r, p in zip(received, parts, strict=True)]
        assert sum(parts) == amount
        assert min(parts) >= 0
        assert all(
            abs(Decimal(r) - Decimal(sum(received)) * w / total) < 2 for r, w in zip(received, weights, strict=True)
        )
    assert received == weights


@settings(max_examples=200, print_blob=True)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=40).map(lambda n: n * 2_500), min_size=1, max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=30),
)
def test_split_cumulative_never_negative_never_past_a_weight_and_exact_at_the_end(weights, cuts):
    total = sum(weights)
    amounts, left = [], total
    for cut in cuts:  # random repayment amounts that add up to the whole principal
        amount = min(left, cut)
        amounts.append(amount)
        left -= amount
    amounts.append(left)
    received = [0] * len(weights)
    for amount in amounts:
        parts = split_cumulative(amount, weights, received)
        assert sum(parts) == amount
        received = [r + p for r, p in zip(received, parts, strict=True)]
        assert all(0 <= r <= w for r, w in zip(received, weights, strict=True))
        so_far = sum(received)
        assert all(abs(Decimal(r) - Decimal(so_far) * w / total) < 2 for r, w in zip(received, weights, strict=True))
    assert received == weights
