"""The reads and writes of recording a repayment, as plain SQL: the hot path of every partner's report.

The ORM issues the same statements, but on a 2-core machine compiling them cost more than the
database took to run them (see `bench repayments`). Each function here is one statement on
PostgreSQL and SQLite (the reads, five sent together); only `lending.loans.repayments` calls them,
inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.db import connection

from lending.db import Rows, int_array, send
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.loans.allocation import Due, Paid
from lending.loans.models import Installment, LenderPosition, Loan, Repayment, RepaymentSplit

LOAN = Loan._meta.db_table
REPAYMENT = Repayment._meta.db_table
INSTALLMENT = Installment._meta.db_table
POSITION = LenderPosition._meta.db_table
ACCOUNT = LedgerAccount._meta.db_table
RECEIPT = RepaymentSplit._meta.db_table


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


@dataclass(frozen=True, slots=True)
class RepaymentReads:
    """Everything a repayment reads, under the loan's row lock, in one round trip."""

    loan: LockedLoan | None  # None: no such loan
    dues: list[Due]  # what is still owed on each installment not yet paid in full, oldest first
    positions: Rows  # see `_send_positions`; wallets joined in `currency`
    currency: str
    account_ids: dict[str, int]  # {code: id} of the accounts asked for that exist

    def stakes(self, recovery: bool) -> list[Stake]:
        """Every lender with money in the loan, by lender id, with their wallet in the loan's currency.

        A lender who lent has a wallet (the shares were paid from it); were one missing, this refuses
        rather than leave that lender out of the split.
        """
        missing = [row[1] for row in self.positions if row[7] is None]
        if missing:
            loan = self.loan.pk if self.loan is not None else "?"
            raise LookupError(f"loan {loan}: no {self.currency} wallet for lender(s) {missing}")
        if recovery:
            return [Stake(r[0], r[1], r[5], r[6], r[2], r[7]) for r in self.positions]
        return [Stake(r[0], r[1], r[2] - r[3], r[4], r[2], r[7]) for r in self.positions]


def read_for_repayment(loan_id: int, key: str, currency: str, account_codes: Sequence[str]) -> RepaymentReads:
    """Lock the loan, then read its terms, any repayment already recorded under `key`, its open
    installments, its lenders (with their wallets in `currency`) and the ledger accounts named by
    `account_codes`: five statements, sent together (see `db.pipeline`).

    The lock comes first and each later statement starts only once it is granted, so they all see
    a twin that committed while this one waited (one statement joining the tables would not: it
    reads the other tables as they were when it began). `currency` and `account_codes` are the
    caller's guess from the loan it holds; it checks them against the locked row.
    """
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    loan = send(
        f"SELECT id, status, currency, annual_interest_rate, lender_interest_rate, allocation_order, "
        f"borrower_id, partner_id FROM {LOAN} WHERE id = %s{lock}",
        [loan_id],
    )
    earlier = send(f"SELECT id FROM {REPAYMENT} WHERE idempotency_key = %s", [key])
    dues = send(
        f"SELECT id, fees_cents - paid_fees_cents, interest_cents - paid_interest_cents, "
        f"principal_cents - paid_principal_cents FROM {INSTALLMENT} "
        f"WHERE loan_id = %s AND paid_on IS NULL ORDER BY number",
        [loan_id],
    )
    positions = _send_positions(loan_id, currency)
    codes = ", ".join(["%s"] * len(account_codes))
    accounts = send(f"SELECT code, id FROM {ACCOUNT} WHERE code IN ({codes})", account_codes) if codes else None
    rows, earlier_rows = loan(), earlier()
    reads = RepaymentReads(None, [Due(*r) for r in dues()], positions(), currency, dict(accounts() if accounts else []))
    if not rows:
        return reads
    rate, lender_rate = (Decimal(str(r)) for r in rows[0][3:5])  # SQLite hands back floats
    pk, status, loan_currency, _, _, order, borrower_id, partner_id = rows[0]
    earlier_id = earlier_rows[0][0] if earlier_rows else None
    locked = LockedLoan(pk, status, loan_currency, rate, lender_rate, order, borrower_id, partner_id, earlier_id)
    return replace(reads, loan=locked)


def read_positions(reads: RepaymentReads, loan_id: int, currency: str) -> RepaymentReads:
    """`reads` with the lenders' wallets in `currency`, for a caller whose guess of the currency was wrong."""
    return replace(reads, positions=_send_positions(loan_id, currency)(), currency=currency)


def _send_positions(loan_id: int, currency: str) -> Callable[[], Rows]:
    # (position, lender, lent, refunded, principal repaid, written off, recovered, wallet account id)
    return send(
        f"SELECT p.id, p.lender_id, p.lent_cents, p.refunded_cents, p.principal_repaid_cents, "
        f"p.written_off_cents, p.recovered_cents, a.id FROM {POSITION} p "
        f"LEFT JOIN {ACCOUNT} a ON a.holder_id = p.lender_id AND a.type = %s AND a.currency = %s "
        f"WHERE p.loan_id = %s AND p.lent_cents > 0 ORDER BY p.lender_id",
        [AccountType.LENDER_WALLET.value, currency, loan_id],
    )


def insert_receipts(repayment_key: str, receipts: Sequence[tuple[int, int, int]]) -> None:
    """Each lender's (lender id, principal, interest) receipt of the repayment recorded under `repayment_key`.

    The repayment is found by its key, not its id, so this can be sent before that id has come back.
    """
    if not receipts:
        return
    columns = "repayment_id, lender_id, principal_cents, interest_cents"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {RECEIPT} ({columns}) SELECT r.id, v.lender, v.principal, v.interest FROM {REPAYMENT} r, "
                f"unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(lender, principal, interest) "
                f"WHERE r.idempotency_key = %s",
                [*(int_array(column) for column in zip(*receipts, strict=True)), repayment_key],
            )
        else:
            values = ", ".join(["(%s, %s, %s)"] * len(receipts))
            cursor.execute(
                f"INSERT INTO {RECEIPT} ({columns}) SELECT r.id, v.column1, v.column2, v.column3 "
                f"FROM {REPAYMENT} r, (VALUES {values}) AS v WHERE r.idempotency_key = %s",
                [*(value for receipt in receipts for value in receipt), repayment_key],
            )


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
