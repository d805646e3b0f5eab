"""The chart of accounts: each account type's normal side, bound and code pattern.

Codes are stable, human-readable keys (`lender:42:wallet:USD`) so an account can be found, or
opened exactly once, from what a service already knows. The ledger knows no loans: a loan's
accounts are keyed by an opaque reference such as `loan:17`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class Bound(StrEnum):
    NONE = ""
    DEBITS_LE_CREDITS = "debits_le_credits"  # a liability that can't go below zero (wallet, escrow)
    CREDITS_LE_DEBITS = "credits_le_debits"  # an asset that can't go below zero (a receivable)


class AccountType(StrEnum):
    PROCESSOR_CASH = "processor_cash"
    LENDER_WALLET = "lender_wallet"
    LOAN_ESCROW = "loan_escrow"
    LOAN_RECEIVABLE = "loan_receivable"
    BORROWER_PAYABLE = "borrower_payable"
    PARTNER_PAYABLE = "partner_payable"
    FEE_INCOME = "fee_income"
    CREDIT_LOSSES = "credit_losses"
    SUSPENSE = "suspense"
    PENDING_WITHDRAWAL = "pending_withdrawal"
    DISPUTE_HELD = "dispute_held"
    LENDER_RECEIVABLE = "lender_receivable"


@dataclass(frozen=True, slots=True)
class AccountRule:
    label: str
    normal_side: Side
    bound: Bound
    needs_ref: bool  # per-holder accounts carry a reference (a user id, a loan reference)


_LIABILITY_FLOORED_AT_ZERO = (Side.CREDIT, Bound.DEBITS_LE_CREDITS)
_ASSET_FLOORED_AT_ZERO = (Side.DEBIT, Bound.CREDITS_LE_DEBITS)

CHART: dict[AccountType, AccountRule] = {
    AccountType.PROCESSOR_CASH: AccountRule("Cash at the payment processor", Side.DEBIT, Bound.NONE, False),
    AccountType.LENDER_WALLET: AccountRule("Lender wallet (available credit)", *_LIABILITY_FLOORED_AT_ZERO, True),
    AccountType.LOAN_ESCROW: AccountRule("Loan fundraising escrow", *_LIABILITY_FLOORED_AT_ZERO, True),
    AccountType.LOAN_RECEIVABLE: AccountRule("Loan principal receivable", *_ASSET_FLOORED_AT_ZERO, True),
    AccountType.BORROWER_PAYABLE: AccountRule("Payable to a borrower", Side.CREDIT, Bound.NONE, True),
    AccountType.PARTNER_PAYABLE: AccountRule("Payable to a field partner", Side.CREDIT, Bound.NONE, True),
    AccountType.FEE_INCOME: AccountRule("Platform fee income", Side.CREDIT, Bound.NONE, False),
    AccountType.CREDIT_LOSSES: AccountRule("Credit losses (written-off principal)", Side.DEBIT, Bound.NONE, False),
    AccountType.SUSPENSE: AccountRule("Suspense (unmatched money)", Side.DEBIT, Bound.NONE, False),
    # A lender's withdrawal between their wallet and the card refunds that pay it out.
    AccountType.PENDING_WITHDRAWAL: AccountRule("Withdrawal being paid out", *_LIABILITY_FLOORED_AT_ZERO, True),
    # Credit held while a card payment of the lender's is disputed.
    AccountType.DISPUTE_HELD: AccountRule("Held for a card dispute", *_LIABILITY_FLOORED_AT_ZERO, True),
    # What a lender owes the platform: a lost dispute beyond what their wallet held.
    AccountType.LENDER_RECEIVABLE: AccountRule("Owed by a lender", *_ASSET_FLOORED_AT_ZERO, True),
}


def account_code(account_type: AccountType, currency: str, ref: str = "") -> str:
    """The unique code of an account: `platform:fee_income:USD`, `lender:42:lender_wallet:USD`."""
    rule = CHART[account_type]
    if rule.needs_ref and not ref:
        raise ValueError(f"a {account_type} account needs a reference (its holder)")
    if not rule.needs_ref and ref:
        raise ValueError(f"a {account_type} account is platform-wide and takes no reference")
    return f"{ref or 'platform'}:{account_type}:{currency}"
