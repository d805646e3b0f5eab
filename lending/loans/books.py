"""The ledger accounts a loan's money moves through (the ledger itself knows no loans, only references).

escrow           lenders' money in the loan: shares while fundraising, their outstanding principal after
receivable       principal the borrower owes (an asset, never below zero)
payable          money owed out at disbursement: to the field partner, or to a direct borrower
borrower credit  a borrower's overpayments, held for them, never lost
wallets          the lenders' wallets

`loan_books` finds all of them in one query (opening any that are new), because a repayment to
40 lenders touches 44 accounts and looking each up alone cost more than posting the journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from django.utils import timezone

from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import AccountSpec, accounts_open, lender_wallet_spec
from lending.loans.models import Loan


@dataclass(frozen=True, slots=True)
class LoanBooks:
    cash: LedgerAccount
    escrow: LedgerAccount
    receivable: LedgerAccount
    payable: LedgerAccount
    borrower_credit: LedgerAccount
    fee_income: LedgerAccount
    credit_losses: LedgerAccount
    wallets: dict[int, LedgerAccount]  # by lender id


class LoanLike(Protocol):
    """What the books need to know of a loan: a `Loan`, or the repayment path's plain row."""

    @property
    def currency(self) -> str: ...
    @property
    def ledger_ref(self) -> str: ...
    @property
    def borrower_id(self) -> int: ...
    @property
    def partner_id(self) -> int | None: ...


def escrow_spec(currency: str, ledger_ref: str) -> AccountSpec:
    """The loan's escrow: its lenders' money in it (what a share purchase credits)."""
    return AccountSpec(AccountType.LOAN_ESCROW, currency, ref=ledger_ref)


def account_specs(loan: LoanLike) -> dict[str, AccountSpec]:
    """The loan's own accounts and the platform's it posts to, by role (cash, escrow, receivable, ...)."""
    cur, ref = loan.currency, loan.ledger_ref
    borrower = AccountSpec(AccountType.BORROWER_PAYABLE, cur, ref=f"borrower:{loan.borrower_id}")
    return {
        "cash": AccountSpec(AccountType.PROCESSOR_CASH, cur),
        "escrow": escrow_spec(cur, ref),
        "receivable": AccountSpec(AccountType.LOAN_RECEIVABLE, cur, ref=ref),
        "payable": AccountSpec(AccountType.PARTNER_PAYABLE, cur, ref=f"partner:{loan.partner_id}")
        if loan.partner_id
        else borrower,
        "borrower_credit": borrower,
        "fee_income": AccountSpec(AccountType.FEE_INCOME, cur),
        "credit_losses": AccountSpec(AccountType.CREDIT_LOSSES, cur),
    }


def loan_books(loan: Loan, lender_ids: Iterable[int] = ()) -> LoanBooks:
    specs = account_specs(loan)
    wallet_specs = {
        lender_id: lender_wallet_spec(user_id=lender_id, currency=loan.currency) for lender_id in lender_ids
    }
    found = accounts_open([*specs.values(), *wallet_specs.values()])
    return LoanBooks(
        **{name: found[spec.code] for name, spec in specs.items()},
        wallets={lender_id: found[spec.code] for lender_id, spec in wallet_specs.items()},
    )


def escrow(loan: Loan) -> LedgerAccount:
    return loan_books(loan).escrow


def receivable(loan: Loan) -> LedgerAccount:
    return loan_books(loan).receivable


def borrower_credit(loan: Loan) -> LedgerAccount:
    return loan_books(loan).borrower_credit


def moment(on: date) -> datetime:
    """The ledger timestamp of a business event dated `on`: now if it is today, else noon that day."""
    if on == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.combine(on, time(12)))
