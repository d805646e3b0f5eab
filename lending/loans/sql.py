"""The reads and writes of recording a repayment, as plain SQL: the hot path of every partner's report.

The ORM issues the same statements, but on a 2-core machine compiling them cost more than the
database took to run them (see `bench repayments`). Each function here is one statement on
PostgreSQL and SQLite; only `lending.loans.repayments` calls them, inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.loans.allocation import Due, Paid
from lending.loans.models import Installment, LenderPosition, Loan, Repayment

LOAN = Loan._meta.db_table
REPAYMENT = Repayment._meta.db_table
INSTALLMENT = Installment._meta.db_table
POSITION = LenderPosition._meta.db_table
ACCOUNT = LedgerAccount._meta.db_table


@dataclass(frozen=True, slots=True)
class LockedLoan:
    """What a repayment needs of its loan, read under the row lock (`Loan`'s fields of the same names)."""

    pk: int
    status: str
    currency: str
    annual_interest_rate: Decimal
    lender_interest_rate: Decimal
    allocation_order: str
    borrower_id: int
    partner_id: int | None
    earlier_repayment_id: int | None  # already recorded under this idempotency key

    @property
    def ledger_ref(self) -> str:
        return f"loan:{self.pk}"


@dataclass(frozen=True, slots=True)
class Stake:
    """A lender's position in the loan, with their wallet's ledger account."""

    position_id: int
    lender_id: int
    weight: int  # what the principal is split by: lent less refunded, or written off for a recovery
    received: int  # principal received so far against that weight
    lent: int
    wallet_id: int


def lock_for_repayment(loan_id: int, key: str) -> LockedLoan | None:
    """Lock the loan row and read its terms and any repayment already recorded under `key`; None if no loan.

    Two statements, not one join: a statement that waited for the lock still reads the other tables
    as they were when it started, so a twin that committed meanwhile would go unseen. The lookup
    after the lock sees it.
    """
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, currency, annual_interest_rate, lender_interest_rate, allocation_order, "
            f"borrower_id, partner_id FROM {LOAN} WHERE id = %s{lock}",
            [loan_id],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(f"SELECT id FROM {REPAYMENT} WHERE idempotency_key = %s", [key])
        earlier = cursor.fetchone()
    rate, lender_rate = (Decimal(str(r)) for r in row[3:5])  # SQLite hands back floats
    pk, status, currency, _, _, order, borrower_id, partner_id = row
    return LockedLoan(pk, status, currency, rate, lender_rate, order, borrower_id, partner_id, earlier and earlier[0])


def open_dues(loan_id: int) -> list[Due]:
    """What is still owed on each installment not yet paid in full, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, fees_cents - paid_fees_cents, interest_cents - paid_interest_cents, "
            f"principal_cents - paid_principal_cents FROM {INSTALLMENT} "
            f"WHERE loan_id = %s AND paid_on IS NULL ORDER BY number",
            [loan_id],
        )
        return [Due(*row) for row in cursor.fetchall()]


def stakes(loan_id: int, currency: str, recovery: bool) -> list[Stake]:
    """Every lender with money in the loan, by lender id, with their wallet in the loan's currency.

    A lender who lent has a wallet (the shares were paid from it); were one missing, this refuses
    rather than leave that lender out of the split.
    """
    if recovery:
        weight, received = "p.written_off_cents", "p.recovered_cents"
    else:
        weight, received = "p.lent_cents - p.refunded_cents", "p.principal_repaid_cents"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.lender_id, {weight}, {received}, p.lent_cents, a.id FROM {POSITION} p "
            f"LEFT JOIN {ACCOUNT} a ON a.holder_id = p.lender_id AND a.type = %s AND a.currency = %s "
            f"WHERE p.loan_id = %s AND p.lent_cents > 0 ORDER BY p.lender_id",
            [AccountType.LENDER_WALLET.value, currency, loan_id],
        )
        rows = cursor.fetchall()
    missing = [row[1] for row in rows if row[5] is None]
    if missing:
        raise LookupError(f"loan {loan_id}: no {currency} wallet for lender(s) {missing}")
    return [Stake(*row) for row in rows]


def pay_installments(paid: Sequence[Paid], owed: dict[int, int], on: date) -> None:
    """Add what was paid to each installment, dating those now paid in full (usually one statement)."""
    with connection.cursor() as cursor:
        for part in paid:
            cursor.execute(
                f"UPDATE {INSTALLMENT} SET paid_fees_cents = paid_fees_cents + %s, "
                f"paid_interest_cents = paid_interest_cents + %s, paid_principal_cents = paid_principal_cents + %s, "
                f"paid_on = %s WHERE id = %s",
                [part.fees, part.interest, part.principal, on if part.total == owed[part.key] else None, part.key],
            )
