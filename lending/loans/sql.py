"""The reads and writes of recording a repayment and of buying a share, as plain SQL: the hot paths of
every partner's report and every lender's click.

The ORM issues the same statements, but on a 2-core machine compiling them cost more than the
database took to run them (see `bench repayments`). Each function here is one statement on
PostgreSQL and SQLite, or a few sent together; only `lending.loans.repayments` and
`lending.loans.fundraising` call them, inside their own transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.db import connection

from accounts.models import BorrowerProfile
from lending.db import Rows, int_array, send
from lending.ledger.chart import AccountType
from lending.ledger.models import Journal, LedgerAccount
from lending.loans.allocation import Due, Paid
from lending.loans.models import Installment, LenderPosition, Loan, Repayment, RepaymentSplit, Share

LOAN = Loan._meta.db_table
REPAYMENT = Repayment._meta.db_table
INSTALLMENT = Installment._meta.db_table
POSITION = LenderPosition._meta.db_table
ACCOUNT = LedgerAccount._meta.db_table
RECEIPT = RepaymentSplit._meta.db_table
SHARE = Share._meta.db_table
JOURNAL = Journal._meta.db_table
BORROWER = BorrowerProfile._meta.db_table


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


# --- share purchases ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FundraisingLoan:
    """What a share purchase needs of its loan, read under the row lock (`Loan`'s fields of the same names)."""

    pk: int
    status: str
    currency: str
    amount_cents: int
    raised_cents: int
    share_size_cents: int
    fundraising_deadline: date | None
    borrower_user_id: int | None  # the borrower's own login, if they have one: they cannot lend to themselves

    @property
    def remaining_cents(self) -> int:
        return self.amount_cents - self.raised_cents

    @property
    def ledger_ref(self) -> str:
        return f"loan:{self.pk}"


@dataclass(frozen=True, slots=True)
class PurchaseReads:
    """Everything a share purchase reads, under the loan's row lock, in one round trip."""

    loan: FundraisingLoan | None  # None: no such loan
    earlier: tuple[int, int, int] | None  # (share id, loan id, amount) bought before under the same key
    position_id: int | None  # the lender's position in the loan, if they lent to it before
    account_ids: dict[str, int]  # {code: id} of the accounts asked for that exist


def read_for_purchase(loan_id: int, lender_id: int, key: str, account_codes: Sequence[str]) -> PurchaseReads:
    """Lock the loan, then read its terms, its borrower's login, any share bought under the journal key
    `key`, the lender's position and the ledger accounts named by `account_codes`: five statements,
    sent together (see `db.pipeline`). As in `read_for_repayment`, the statements after the lock see
    a twin that committed while this one waited; `account_codes` are the caller's guess."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    loan = send(
        f"SELECT id, status, currency, amount_cents, raised_cents, share_size_cents, fundraising_deadline "
        f"FROM {LOAN} WHERE id = %s{lock}",
        [loan_id],
    )
    borrower = send(
        f"SELECT b.user_id FROM {BORROWER} b JOIN {LOAN} l ON l.borrower_id = b.id WHERE l.id = %s", [loan_id]
    )
    earlier = send(
        f"SELECT s.id, s.loan_id, s.amount_cents FROM {SHARE} s JOIN {JOURNAL} j ON j.id = s.journal_id "
        f"WHERE j.idempotency_key = %s",
        [key],
    )
    position = send(f"SELECT id FROM {POSITION} WHERE loan_id = %s AND lender_id = %s", [loan_id, lender_id])
    codes = ", ".join(["%s"] * len(account_codes))
    accounts = send(f"SELECT code, id FROM {ACCOUNT} WHERE code IN ({codes})", account_codes) if codes else None
    rows, borrowers, earlier_rows, positions = loan(), borrower(), earlier(), position()
    found: dict[str, int] = dict(accounts() if accounts else [])
    locked = None
    if rows:
        pk, status, currency, amount, raised, share_size, deadline = rows[0]
        if isinstance(deadline, str):  # SQLite hands back text
            deadline = date.fromisoformat(deadline)
        user_id = borrowers[0][0] if borrowers else None
        locked = FundraisingLoan(pk, status, currency, amount, raised, share_size, deadline, user_id)
    return PurchaseReads(
        locked, tuple(earlier_rows[0]) if earlier_rows else None, positions[0][0] if positions else None, found
    )


def add_to_loan_raised(loan_id: int, amount_cents: int, new_lenders: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LOAN} SET raised_cents = raised_cents + %s, lender_count = lender_count + %s WHERE id = %s",
            [amount_cents, new_lenders, loan_id],
        )
