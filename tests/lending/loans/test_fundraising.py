"""Fundraising: shares move money wallet -> escrow exactly; a loan never over-funds; expiry returns every cent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services as people
from accounts.models import Role, User
from lending.ledger.errors import InsufficientFunds
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans import books
from lending.loans.applications import loan_apply, loan_approve, loan_cancel, loan_publish, loan_submit
from lending.loans.errors import ShareRefused
from lending.loans.fundraising import loan_expire, share_purchase
from lending.loans.models import LenderPosition, LenderSettlement, Loan, LoanEvent, Share
from tests.factories import LenderFactory
from tests.loans import START, buy, fund_wallet, wallet_cents

pytestmark = pytest.mark.django_db

S = Loan.Status
DEADLINE = START + timedelta(days=30)  # date(2026, 2, 4)


def purchase(loan, lender, cents, key, on=START):
    return share_purchase(loan=loan, lender=lender, amount_cents=cents, idempotency_key=key, on=on)


def escrow_cents(loan) -> int:
    return books.escrow(loan).balance_cents


# --- buying -------------------------------------------------------------------------------------


def test_a_purchase_moves_the_money_from_the_wallet_to_escrow_exactly(listed, make_lenders):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()

    share = purchase(loan, lender, 7_500, "first")

    assert (share.loan_id, share.lender_id, share.amount_cents) == (loan.pk, lender.pk, 7_500)
    assert wallet_cents(lender) == 2_500
    assert escrow_cents(loan) == 7_500
    loan.refresh_from_db()
    assert loan.raised_cents == 7_500
    assert loan.remaining_cents == 52_500
    assert loan.status == S.FUNDRAISING
    assert share.journal.transfers.get().amount_cents == 7_500
    assert reconcile().ok


def test_several_purchases_by_one_lender_accumulate_in_one_position(listed, make_lenders):
    (lender,) = make_lenders(1, 50_000)
    loan = listed()

    purchase(loan, lender, 2_500, "a")
    purchase(loan, lender, 10_000, "b")
    purchase(loan, lender, 5_000, "c")

    position = LenderPosition.objects.get(loan=loan, lender=lender)
    assert position.lent_cents == 17_500
    assert position.outstanding_cents == 17_500
    assert Share.objects.filter(loan=loan, lender=lender).count() == 3
    assert wallet_cents(lender) == 32_500
    assert escrow_cents(loan) == 17_500


def test_a_bare_or_stale_copy_of_the_loan_buys_from_the_locked_row(listed, make_lenders):
    """The purchase reads the loan under its lock: the caller's copy only guesses which accounts to read."""
    (lender,) = make_lenders(1, 10_000)
    loan = listed()
    stale = Loan.objects.get(pk=loan.pk)
    purchase(loan, lender, 2_500, "first")

    purchase(Loan(pk=loan.pk), lender, 2_500, "bare")  # no currency: nothing to guess from
    stale.currency = "EUR"  # a wrong guess: the accounts are read again in the loan's own currency
    purchase(stale, lender, 2_500, "stale")

    loan.refresh_from_db()
    assert (loan.raised_cents, loan.lender_count) == (7_500, 1)
    assert LenderPosition.objects.get(loan=loan, lender=lender).lent_cents == 7_500
    assert wallet_cents(lender) == 2_500
    assert escrow_cents(loan) == 7_500
    assert reconcile().ok


def test_a_loan_that_does_not_exist_is_refused_by_name(make_lenders):
    (lender,) = make_lenders(1, 10_000)

    with pytest.raises(ShareRefused) as refused:
        purchase(Loan(pk=999_999), lender, 2_500, "nowhere")

    assert refused.value.field == "loan"
    assert "does not exist" in str(refused.value)
    assert not Journal.objects.filter(kind="share_purchase").exists()
    assert wallet_cents(lender) == 10_000


def test_the_loan_counts_each_lender_once_however_many_shares_they_buy(listed, make_lenders):
    first, second, poor = make_lenders(3, 50_000)
    loan = listed()
    buy(loan, [(first, 2_500), (second, 5_000), (first, 2_500)])
    with pytest.raises(ShareRefused):
        purchase(loan, poor, 1_000, "not-a-multiple")  # refused: nothing written, no one counted

    loan.refresh_from_db()
    assert loan.lender_count == 2 == LenderPosition.objects.filter(loan=loan, lent_cents__gt=0).count()


def test_each_lender_has_their_own_position(listed, make_lenders):
    first, second = make_lenders(2, 50_000)
    loan = listed()

    buy(loan, [(first, 5_000), (second, 12_500), (first, 2_500)])

    positions = {p.lender_id: p.lent_cents for p in LenderPosition.objects.filter(loan=loan)}
    assert positions == {first.pk: 7_500, second.pk: 12_500}
    loan.refresh_from_db()
    assert loan.raised_cents == 20_000 == escrow_cents(loan)


@pytest.mark.parametrize("cents", [2_501, 1_000, 0, -2_500, 2_500.0, True])
def test_a_malformed_amount_is_refused_by_name_and_moves_nothing(listed, make_lenders, cents):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()

    with pytest.raises(ShareRefused) as refused:
        purchase(loan, lender, cents, "bad")

    assert refused.value.field == "amount_cents"
    assert str(refused.value).startswith("amount_cents: ")
    assert not Share.objects.exists()
    assert wallet_cents(lender) == 10_000


def test_over_funding_is_refused_with_what_is_left(listed, make_lenders):
    first, second = make_lenders(2, 100_000)
    loan = listed()
    purchase(loan, first, 50_000, "most")

    with pytest.raises(ShareRefused, match=r"only 10000 is still needed") as refused:
        purchase(loan, second, 12_500, "too-much")

    assert refused.value.field == "amount_cents"
    loan.refresh_from_db()
    assert loan.raised_cents == 50_000
    assert wallet_cents(second) == 100_000
    assert not LenderPosition.objects.filter(lender=second).exists()
    assert purchase(loan, second, 10_000, "exactly-the-rest").amount_cents == 10_000


@pytest.fixture
def own_loan(partner, officer):
    """A listed loan of a borrower who has their own login, and that login with 10,000 in its wallet."""
    own = people.borrower_create(
        display_name="Amina K.",
        country="UG",
        partner=partner,
        email="amina@example.org",
        password="blue-mango-42",
    )
    loan = loan_apply(
        actor=own.user, borrower=own, amount_cents=60_000, currency="USD", purpose="Sewing machine",
        sector="clothing", repayments=6,
    )  # fmt: skip
    loan_submit(loan=loan, actor=own.user, on=START)
    loan_approve(loan=loan, actor=officer, on=START)
    loan = loan_publish(loan=loan, actor=officer, on=START)
    fund_wallet(own.user, 10_000)
    return loan, own.user


def test_the_borrower_may_not_buy_shares_of_their_own_loan(own_loan):
    loan, user = own_loan

    with pytest.raises(ShareRefused) as refused:
        purchase(loan, user, 2_500, "own")

    assert refused.value.field == "lender"
    assert not Share.objects.exists()
    assert wallet_cents(user) == 10_000


def test_a_borrower_who_is_also_a_lender_may_not_buy_shares_of_their_own_loan(own_loan):
    loan, user = own_loan
    User.objects.filter(pk=user.pk).update(role=Role.LENDER)  # test setup: the borrower became a lender too
    user.refresh_from_db()

    with pytest.raises(ShareRefused, match="own loan") as refused:
        purchase(loan, user, 2_500, "own")

    assert refused.value.field == "lender"
    assert not Share.objects.exists()
    assert wallet_cents(user) == 10_000


@pytest.mark.parametrize("who", ["officer", "staff"])
def test_someone_who_is_not_a_lender_may_not_buy_shares(listed, request, who):
    loan = listed()
    user = request.getfixturevalue(who)
    fund_wallet(user, 10_000)

    with pytest.raises(ShareRefused, match="only lenders") as refused:
        purchase(loan, user, 2_500, "not-a-lender")

    assert refused.value.field == "lender"
    assert not Share.objects.exists()
    assert wallet_cents(user) == 10_000


def test_a_wallet_with_too_little_is_refused_and_nothing_is_written(listed, make_lenders):
    (lender,) = make_lenders(1, 5_000)
    loan = listed()
    journals = Journal.objects.count()

    with pytest.raises(InsufficientFunds) as refused:
        purchase(loan, lender, 7_500, "too-much")

    assert (refused.value.available_cents, refused.value.requested_cents) == (5_000, 7_500)
    assert not Share.objects.exists()
    assert not LenderPosition.objects.exists()
    assert Journal.objects.count() == journals
    loan.refresh_from_db()
    assert loan.raised_cents == 0
    assert wallet_cents(lender) == 5_000
    assert escrow_cents(loan) == 0
    assert reconcile().ok


def test_a_lender_without_a_wallet_is_refused(listed, lender):
    loan = listed()

    with pytest.raises(InsufficientFunds):
        purchase(loan, lender, 2_500, "empty")

    loan.refresh_from_db()
    assert loan.raised_cents == 0
    assert wallet_cents(lender) == 0


@pytest.mark.parametrize("status", [S.DRAFT, S.SUBMITTED, S.APPROVED])
def test_a_loan_not_yet_listed_is_not_for_sale(apply, officer, make_lenders, status):
    (lender,) = make_lenders(1, 10_000)
    loan = apply()
    if status != S.DRAFT:
        loan_submit(loan=loan, actor=officer, on=START)
    if status == S.APPROVED:
        loan_approve(loan=loan, actor=officer, on=START)

    with pytest.raises(ShareRefused, match=f"not fundraising \\(it is {status}\\)") as refused:
        purchase(loan, lender, 2_500, "early")

    assert refused.value.field == "loan"
    assert wallet_cents(lender) == 10_000
    assert not Share.objects.exists()


def test_a_cancelled_loan_is_not_for_sale(listed, staff, make_lenders):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()
    loan_cancel(loan=loan, actor=staff, reason="withdrawn", on=START)

    with pytest.raises(ShareRefused) as refused:
        purchase(loan, lender, 2_500, "late")

    assert refused.value.field == "loan"
    assert wallet_cents(lender) == 10_000


def test_a_loan_can_be_bought_on_its_deadline_but_not_the_day_after(listed, make_lenders):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()

    assert purchase(loan, lender, 2_500, "on-the-day", on=DEADLINE).amount_cents == 2_500
    with pytest.raises(ShareRefused, match="stopped fundraising on 2026-02-04") as refused:
        purchase(loan, lender, 2_500, "a-day-late", on=DEADLINE + timedelta(days=1))

    assert refused.value.field == "loan"
    loan.refresh_from_db()
    assert loan.raised_cents == 2_500
    assert wallet_cents(lender) == 7_500


def test_the_last_share_funds_the_loan(listed, make_lenders):
    first, second = make_lenders(2, 100_000)
    loan = listed()
    purchase(loan, first, 40_000, "a")

    purchase(loan, second, 20_000, "b", on=date(2026, 1, 9))

    loan.refresh_from_db()
    assert loan.status == S.FUNDED
    assert loan.funded_on == date(2026, 1, 9)
    assert loan.raised_cents == loan.amount_cents == 60_000
    assert loan.ended_on is None
    event = LoanEvent.objects.filter(loan=loan).last()
    assert (event.from_status, event.to_status, event.actor_id) == (S.FUNDRAISING, S.FUNDED, None)
    assert event.business_date == date(2026, 1, 9)
    assert escrow_cents(loan) == 60_000
    assert wallet_cents(first) + wallet_cents(second) == 140_000


def test_a_funded_loan_sells_no_more_shares(listed, make_lenders):
    first, second = make_lenders(2, 100_000)
    loan = listed()
    purchase(loan, first, 60_000, "all")

    with pytest.raises(ShareRefused, match="not fundraising") as refused:
        purchase(loan, second, 2_500, "after")

    assert refused.value.field == "loan"
    assert wallet_cents(second) == 100_000


def test_the_same_key_twice_returns_the_same_share_and_moves_money_once(listed, make_lenders):
    (lender,) = make_lenders(1, 20_000)
    loan = listed()

    first = purchase(loan, lender, 5_000, "click-1")
    again = purchase(loan, lender, 5_000, "click-1")

    assert again.pk == first.pk
    assert Share.objects.count() == 1
    assert wallet_cents(lender) == 15_000
    loan.refresh_from_db()
    assert loan.raised_cents == 5_000
    assert LenderPosition.objects.get(loan=loan, lender=lender).lent_cents == 5_000


def test_the_same_key_for_a_different_amount_is_refused(listed, make_lenders):
    (lender,) = make_lenders(1, 20_000)
    loan = listed()
    purchase(loan, lender, 5_000, "click-1")

    with pytest.raises(ShareRefused) as refused:
        purchase(loan, lender, 7_500, "click-1")

    assert refused.value.field == "idempotency_key"
    assert wallet_cents(lender) == 15_000
    loan.refresh_from_db()
    assert loan.raised_cents == 5_000


def test_the_same_key_for_another_loan_is_refused(listed, make_lenders):
    (lender,) = make_lenders(1, 20_000)
    one, other = listed(), listed()
    purchase(one, lender, 5_000, "click-1")

    with pytest.raises(ShareRefused) as refused:
        purchase(other, lender, 5_000, "click-1")

    assert refused.value.field == "idempotency_key"
    other.refresh_from_db()
    assert other.raised_cents == 0
    assert wallet_cents(lender) == 15_000


def test_two_lenders_may_use_the_same_key(listed, make_lenders):
    first, second = make_lenders(2, 20_000)
    loan = listed()

    a = purchase(loan, first, 5_000, "click-1")
    b = purchase(loan, second, 5_000, "click-1")

    assert a.pk != b.pk
    loan.refresh_from_db()
    assert loan.raised_cents == 10_000


# --- expiry -------------------------------------------------------------------------------------


def test_a_loan_does_not_expire_on_or_before_its_deadline(listed, make_lenders):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()
    purchase(loan, lender, 5_000, "a")

    for on in (START, DEADLINE):
        with pytest.raises(ShareRefused) as refused:
            loan_expire(loan=loan, on=on)
        assert refused.value.field == "loan"

    loan.refresh_from_db()
    assert loan.status == S.FUNDRAISING
    assert wallet_cents(lender) == 5_000
    assert not LenderSettlement.objects.exists()


def test_a_loan_not_fundraising_cannot_expire(apply, listed, make_lenders):
    (lender,) = make_lenders(1, 100_000)
    draft = apply()
    funded = listed()
    purchase(funded, lender, 60_000, "all")

    for loan in (draft, funded):
        with pytest.raises(ShareRefused):
            loan_expire(loan=loan, on=DEADLINE + timedelta(days=1))

    funded.refresh_from_db()
    assert funded.status == S.FUNDED
    assert escrow_cents(funded) == 60_000


def test_an_expired_loan_returns_every_lenders_money_exactly(listed, make_lenders):
    lenders = make_lenders(3, 30_000)
    loan = listed()
    buy(loan, [(lenders[0], 2_500), (lenders[1], 12_500), (lenders[0], 7_500), (lenders[2], 30_000)])
    assert [wallet_cents(x) for x in lenders] == [20_000, 17_500, 0]

    expired = loan_expire(loan=loan, on=DEADLINE + timedelta(days=1))

    assert expired.status == S.EXPIRED
    assert expired.ended_on == date(2026, 2, 5)
    assert [wallet_cents(x) for x in lenders] == [30_000, 30_000, 30_000]
    assert escrow_cents(loan) == 0
    refunds = {(s.lender_id, s.kind): s.principal_cents for s in LenderSettlement.objects.filter(loan=loan)}
    assert refunds == {
        (lenders[0].pk, "refund"): 10_000,
        (lenders[1].pk, "refund"): 12_500,
        (lenders[2].pk, "refund"): 30_000,
    }
    assert all(p.outstanding_cents == 0 for p in LenderPosition.objects.filter(loan=loan))
    event = LoanEvent.objects.filter(loan=loan).last()
    assert (event.from_status, event.to_status, event.actor_id) == (S.FUNDRAISING, S.EXPIRED, None)
    assert reconcile().ok


def test_a_loan_nobody_bought_expires_without_moving_money(listed):
    loan = listed()

    expired = loan_expire(loan=loan, on=date(2026, 3, 1))

    assert expired.status == S.EXPIRED
    assert not LenderSettlement.objects.exists()
    assert escrow_cents(loan) == 0


def test_a_loan_expires_once(listed, make_lenders):
    (lender,) = make_lenders(1, 10_000)
    loan = listed()
    purchase(loan, lender, 5_000, "a")
    loan_expire(loan=loan, on=date(2026, 2, 5))

    with pytest.raises(ShareRefused):
        loan_expire(loan=loan, on=date(2026, 2, 6))

    assert wallet_cents(lender) == 10_000
    assert LenderSettlement.objects.count() == 1
    assert reconcile().ok


# --- random purchases ---------------------------------------------------------------------------

N_LENDERS = 3
WALLET = 30_000
LOAN_AMOUNT = 50_000
purchases = st.lists(
    st.tuples(st.integers(0, N_LENDERS - 1), st.sampled_from([2_500, 5_000, 7_500, 12_500, 25_000, 3_000])),
    min_size=1,
    max_size=15,
)


@settings(
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=purchases)
def test_random_purchases_never_over_fund_and_keep_positions_raised_and_escrow_equal(listed, steps):
    with transaction.atomic():
        lenders = [LenderFactory() for _ in range(N_LENDERS)]
        for lender in lenders:
            fund_wallet(lender, WALLET)
        loan = listed(amount_cents=LOAN_AMOUNT)
        spent = [0] * N_LENDERS
        raised = 0
        for n, (who, cents) in enumerate(steps):
            lender = lenders[who]
            if cents % 2_500 or raised == LOAN_AMOUNT or cents > LOAN_AMOUNT - raised:
                expected: type[Exception] | None = ShareRefused
            elif cents > WALLET - spent[who]:
                expected = InsufficientFunds
            else:
                expected = None
            if expected is not None:
                with pytest.raises(expected):
                    purchase(loan, lender, cents, f"step-{n}")
            else:
                purchase(loan, lender, cents, f"step-{n}")
                spent[who] += cents
                raised += cents

            loan.refresh_from_db()
            assert loan.raised_cents == raised <= loan.amount_cents
            positions = LenderPosition.objects.filter(loan=loan)
            assert sum(p.lent_cents for p in positions) == raised
            assert escrow_cents(loan) == raised
            assert [wallet_cents(x) for x in lenders] == [WALLET - s for s in spent]
            assert loan.status == (S.FUNDED if raised == LOAN_AMOUNT else S.FUNDRAISING)
        assert reconcile().ok
        transaction.set_rollback(True)
