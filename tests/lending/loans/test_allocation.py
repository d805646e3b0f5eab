"""Allocation of a payment to installments: oldest first, in the set order, never past what is due."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.loans.allocation import Due, Paid, allocate, parse_order


def test_oldest_installment_first_fees_then_interest_then_principal():
    dues = [Due(1, fees=100, interest=200, principal=1_000), Due(2, fees=100, interest=200, principal=1_000)]
    result = allocate(450, dues)
    assert result.paid == [Paid(1, fees=100, interest=200, principal=150)]
    assert result.leftover == 0


def test_a_prepayment_runs_on_into_the_next_installments():
    dues = [Due(1, 0, 0, 1_000), Due(2, 0, 0, 1_000), Due(3, 0, 0, 1_000)]
    result = allocate(2_500, dues)
    assert [(p.key, p.principal) for p in result.paid] == [(1, 1_000), (2, 1_000), (3, 500)]


def test_an_overpayment_is_left_over_never_lost():
    result = allocate(1_234, [Due(1, 10, 20, 1_000)])
    assert result.sum_of("principal") == 1_000
    assert result.leftover == 204


def test_a_custom_order_pays_principal_first():
    result = allocate(1_000, [Due(1, fees=100, interest=200, principal=900)], parse_order("principal,interest,fees"))
    assert result.paid == [Paid(1, fees=0, interest=100, principal=900)]


@pytest.mark.parametrize("order", ["principal,fees", "fees,fees,principal", "fees,interest,capital", ""])
def test_an_order_must_name_each_part_once(order):
    with pytest.raises(ValueError, match="allocation order"):
        parse_order(order)


def test_a_negative_amount_is_refused():
    with pytest.raises(ValueError, match="negative"):
        allocate(-1, [Due(1, 0, 0, 1)])


dues_strategy = st.lists(
    st.builds(
        Due,
        key=st.integers(0, 10**6),
        fees=st.integers(0, 500),
        interest=st.integers(0, 5_000),
        principal=st.integers(0, 50_000),
    ),
    max_size=24,
)


@settings(max_examples=300, print_blob=True)
@given(
    amount=st.integers(0, 10**6),
    dues=dues_strategy,
    order=st.permutations(["fees", "interest", "principal"]),
)
def test_allocation_accounts_for_every_cent_and_pays_in_order(amount, dues, order):
    result = allocate(amount, dues, order)
    assert sum(p.total for p in result.paid) + result.leftover == amount
    owed = sum(d.fees + d.interest + d.principal for d in dues)
    assert result.leftover == max(0, amount - owed)
    payable = [d for d in dues if d.fees + d.interest + d.principal > 0]  # nothing is taken from an empty row
    pairs = list(zip(payable, result.paid, strict=False))
    assert len(pairs) == len(result.paid)
    for due, paid in pairs:
        assert paid.key == due.key
        assert 0 <= paid.fees <= due.fees
        assert 0 <= paid.interest <= due.interest
        assert 0 <= paid.principal <= due.principal
    for due, paid in pairs[:-1]:  # every installment but the last one touched is paid in full
        assert paid.total == due.fees + due.interest + due.principal
