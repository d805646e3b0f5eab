"""On PostgreSQL, where row locks are real: lenders racing for the last shares, one wallet spent from many threads."""

from __future__ import annotations

import pytest

from lending.ledger.errors import InsufficientFunds
from lending.ledger.reconcile import reconcile
from lending.ledger.services import lender_wallet
from lending.loans import books
from lending.loans.errors import ShareRefused
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderPosition, Loan, Share
from tests.concurrency import run_together
from tests.loans import START, wallet_cents

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = Loan.Status


def test_twelve_lenders_racing_for_five_shares_fund_the_loan_exactly(listed, make_lenders):
    lenders = make_lenders(12, 10_000)
    loan = listed(amount_cents=12_500)  # room for five shares of 2,500

    results = run_together(
        12,
        lambda i: share_purchase(
            loan=loan, lender=lenders[i], amount_cents=2_500, idempotency_key=f"race-{i}", on=START
        ),
    )

    bought = [r for r in results if isinstance(r, Share)]
    refused = [r for r in results if isinstance(r, ShareRefused)]
    assert len(bought) == 5, results
    assert len(refused) == 7, results
    loan.refresh_from_db()
    assert loan.raised_cents == loan.amount_cents == 12_500
    assert loan.lender_count == 5  # the winners only: a refused purchase counts no one
    assert loan.status == S.FUNDED
    assert loan.funded_on == START
    assert books.escrow(loan).balance_cents == 12_500
    winners = {share.lender_id for share in bought}
    assert {p.lender_id: p.lent_cents for p in LenderPosition.objects.filter(loan=loan)} == dict.fromkeys(
        winners, 2_500
    )
    for lender in lenders:
        assert wallet_cents(lender) == (7_500 if lender.pk in winners else 10_000)
    assert loan.events.filter(to_status=S.FUNDED).count() == 1
    assert reconcile().ok


def test_one_lender_buying_from_many_threads_never_overdraws_the_wallet(listed, make_lenders):
    (lender,) = make_lenders(1, 7_500)  # covers three purchases of 2,500
    loan = listed(amount_cents=100_000)

    results = run_together(
        10,
        lambda i: share_purchase(loan=loan, lender=lender, amount_cents=2_500, idempotency_key=f"tab-{i}", on=START),
    )

    bought = [r for r in results if isinstance(r, Share)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(bought) == 3, results
    assert len(refused) == 7, results
    assert wallet_cents(lender) == 0
    wallet = lender_wallet(user=lender, currency="USD")
    assert wallet.debits_posted_cents == wallet.credits_posted_cents == 7_500
    loan.refresh_from_db()
    assert loan.raised_cents == 7_500
    assert loan.status == S.FUNDRAISING
    assert LenderPosition.objects.get(loan=loan, lender=lender).lent_cents == 7_500
    assert books.escrow(loan).balance_cents == 7_500
    assert reconcile().ok


def test_the_same_key_arriving_concurrently_buys_once_and_returns_the_same_share(listed, make_lenders):
    (lender,) = make_lenders(1, 20_000)
    loan = listed()

    results = run_together(
        8,
        lambda i: share_purchase(loan=loan, lender=lender, amount_cents=5_000, idempotency_key="click-1", on=START),
    )

    assert all(isinstance(r, Share) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert wallet_cents(lender) == 15_000
    loan.refresh_from_db()
    assert loan.raised_cents == 5_000


def test_the_same_key_arriving_concurrently_moves_money_once(listed, make_lenders):
    (lender,) = make_lenders(1, 20_000)
    loan = listed()

    run_together(
        8,
        lambda i: share_purchase(loan=loan, lender=lender, amount_cents=5_000, idempotency_key="click-1", on=START),
    )

    assert Share.objects.filter(loan=loan).count() == 1
    assert wallet_cents(lender) == 15_000
    loan.refresh_from_db()
    assert loan.raised_cents == 5_000
    assert LenderPosition.objects.get(loan=loan, lender=lender).lent_cents == 5_000
    assert reconcile().ok
