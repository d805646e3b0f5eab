"""Loan fixtures, a pytest plugin for every suite (tests/conftest.py): people, funded wallets, loans at each stage,
built through the services only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import pytest

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, User
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from tests.factories import LenderFactory

START = date(2026, 1, 5)  # the business date the tests' calendar starts on
CLOSE_ON = date(2026, 3, 20)  # the business date the close-of-business tests close


@pytest.fixture
def staff(db: None) -> User:
    return people.platform_staff_create(
        email="staff@example.org", password="river-stone-ledger-42", full_name="Sam Staff"
    )


@pytest.fixture
def partner(db: None) -> FieldPartner:
    return people.field_partner_create(name="Jinja Growers", country="UG")


@pytest.fixture
def officer(partner: FieldPartner) -> User:
    return people.partner_staff_add(
        partner=partner, email="officer@example.org", password="tea-garden-ledger-42", full_name="Olga Officer"
    ).user


@pytest.fixture
def borrower(partner: FieldPartner) -> BorrowerProfile:
    return people.borrower_create(display_name="Grace N.", country="UG", partner=partner)


def fund_wallet(lender: User, cents: int) -> None:
    journal_post(
        idempotency_key=f"test-deposit:{lender.pk}:{cents}",
        kind="deposit",
        lines=[
            Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=lender, currency="USD"), cents)
        ],
    )


def wallet_cents(lender: User) -> int:
    wallet = lender_wallet(user=lender, currency="USD")
    wallet.refresh_from_db()
    return wallet.balance_cents


@pytest.fixture
def make_lenders(db: None) -> Callable[..., list[User]]:
    def make(n: int, cents: int = 100_000) -> list[User]:
        lenders = [LenderFactory() for _ in range(n)]
        for lender in lenders:
            fund_wallet(lender, cents)
        return lenders

    return make


@pytest.fixture
def apply(officer: User, borrower: BorrowerProfile) -> Callable[..., Loan]:
    def make(**overrides: object) -> Loan:
        fields: dict[str, object] = {
            "amount_cents": 60_000,
            "currency": "USD",
            "purpose": "Buy a dairy cow",
            "sector": "agriculture",
            "repayments": 12,
        }
        fields.update(overrides)
        return loan_apply(actor=officer, borrower=borrower, **fields)  # type: ignore[arg-type]

    return make


@pytest.fixture
def listed(apply: Callable[..., Loan], officer: User) -> Callable[..., Loan]:
    """A loan approved and fundraising from START."""

    def make(**overrides: object) -> Loan:
        loan = apply(**overrides)
        loan_submit(loan=loan, actor=officer, on=START)
        loan_approve(loan=loan, actor=officer, on=START)
        return loan_publish(loan=loan, actor=officer, on=START)

    return make


def buy(loan: Loan, purchases: Sequence[tuple[User, int]]) -> None:
    for n, (lender, cents) in enumerate(purchases):
        share_purchase(loan=loan, lender=lender, amount_cents=cents, idempotency_key=f"buy-{loan.pk}-{n}", on=START)


@pytest.fixture
def disbursed(listed: Callable[..., Loan], officer: User) -> Callable[..., Loan]:
    """A loan fully funded by `purchases` and disbursed on START."""

    def make(purchases: Sequence[tuple[User, int]], **overrides: object) -> Loan:
        loan = listed(amount_cents=sum(c for _, c in purchases), **overrides)
        buy(loan, purchases)
        loan.refresh_from_db()
        assert loan.status == Loan.Status.FUNDED
        return loan_disburse(loan=loan, actor=officer, on=START)

    return make


def _pay(loan: Loan, cents: int, on: date, key: str) -> None:
    repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=on, source="staff", idempotency_key=key, actor=None
    )


@pytest.fixture
def portfolio(make_lenders, listed, disbursed):
    """Six loans, one per situation the close must handle, named by their purpose."""
    lenders = make_lenders(2, 100_000)
    stale = listed(purpose="stale fundraising", amount_cents=10_000, fundraising_days=30)  # deadline 2026-02-04
    buy(stale, [(lenders[0], 2_500)])
    listed(purpose="fresh fundraising", amount_cents=10_000, fundraising_days=90)  # deadline 2026-04-05
    late = disbursed([(lenders[0], 7_500), (lenders[1], 7_500)], purpose="late", repayments=12)  # 1,250 on the 5th
    _pay(late, 1_250, date(2026, 2, 5), "late-1")  # paid February, not March: 15 days late on the 20th
    pennies = disbursed([(lenders[0], 15_000)], purpose="pennies", repayments=12)
    _pay(pennies, 2_450, date(2026, 3, 5), "pennies-1")  # 50 cents short of two installments: within tolerance
    ended = disbursed([(lenders[1], 2_500)], purpose="ended", repayments=1, repayment_frequency="weeks")
    paid = disbursed([(lenders[1], 2_500)], purpose="paid", repayments=1)
    _pay(paid, 2_500, date(2026, 2, 5), "paid-1")
    return {"lenders": lenders, "ended": ended, "late": late}
