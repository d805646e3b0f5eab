"""Fundraising: lenders buy shares from their wallets; a loan never over-funds, a wallet never overdraws.

A purchase locks the loan row, checks what is left, moves the money wallet -> escrow through the
ledger (whose bound refuses an overdraft) and records the share and the lender's position, all in
one transaction. Many lenders racing for the last share: the loan lock orders them, the first
ones win, the rest are told how much is left.
"""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from lending.db import add_to_columns, insert_row, pipeline
from lending.ledger.services import (
    AccountSpec,
    Line,
    account_ids,
    journal_post,
    journal_post_transfers,
    lender_wallet_spec,
)
from lending.loans import books, sql
from lending.loans.errors import ShareRefused
from lending.loans.models import LenderPosition, LenderSettlement, Loan, Share
from lending.loans.settlements import settle_positions
from lending.loans.transitions import loan_lock, loan_transition

S = Loan.Status


def _check_purchase(loan: sql.FundraisingLoan, lender: User, amount_cents: int, on: date) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ShareRefused("amount_cents: must be a positive whole number of minor units", field="amount_cents")
    if amount_cents % loan.share_size_cents:
        raise ShareRefused(f"amount_cents: shares come in multiples of {loan.share_size_cents}", field="amount_cents")
    if not lender.is_lender:
        raise ShareRefused("only lenders can buy loan shares", field="lender")
    if loan.borrower_user_id == lender.pk:
        raise ShareRefused("a lender cannot lend to their own loan", field="lender")
    if loan.status != S.FUNDRAISING:
        raise ShareRefused(f"loan {loan.pk} is not fundraising (it is {loan.status})", field="loan")
    if loan.fundraising_deadline and on > loan.fundraising_deadline:
        raise ShareRefused(f"loan {loan.pk} stopped fundraising on {loan.fundraising_deadline}", field="loan")
    if amount_cents > loan.remaining_cents:
        raise ShareRefused(
            f"amount_cents: only {loan.remaining_cents} is still needed for loan {loan.pk}", field="amount_cents"
        )


def _specs(lender_id: int, currency: str, ledger_ref: str) -> list[AccountSpec]:
    """The two accounts a purchase posts to: the lender's wallet and the loan's escrow."""
    return [lender_wallet_spec(user_id=lender_id, currency=currency), books.escrow_spec(currency, ledger_ref)]


def _read(loan: Loan, lender: User, key: str) -> sql.PurchaseReads:
    """The locked loan and what the purchase needs of it, in one round trip when `loan` is up to date."""
    guess = [spec.code for spec in _specs(lender.pk, loan.currency, loan.ledger_ref)] if loan.currency else []
    with pipeline():
        return sql.read_for_purchase(loan.pk, lender.pk, key, guess)


@transaction.atomic
def share_purchase(
    *, loan: Loan, lender: User, amount_cents: int, idempotency_key: str, on: date | None = None
) -> Share:
    """Buy `amount_cents` of the loan (a multiple of its share size) from the lender's wallet, once per key.

    Three round trips on PostgreSQL: the loan's lock with every read, the journal with its account
    locks (which refuse an overdraft), then the transfer, the share, the position and the loan's total.
    """
    key = f"share:{lender.pk}:{idempotency_key}"
    on = on or timezone.localdate()
    reads = _read(loan, lender, key)
    locked = reads.loan
    if locked is None:
        raise ShareRefused(f"loan {loan.pk} does not exist", field="loan")
    # Checked under the loan lock, so a concurrent twin with the same key is seen once it commits.
    if reads.earlier is not None:
        share_id, loan_id, amount = reads.earlier
        if (loan_id, amount) != (locked.pk, amount_cents):
            raise ShareRefused(
                f"idempotency key {idempotency_key!r} was used for another purchase", field="idempotency_key"
            )
        return Share.objects.get(pk=share_id)
    _check_purchase(locked, lender, amount_cents, on)
    wallet, escrow = _specs(lender.pk, locked.currency, locked.ledger_ref)
    found = reads.account_ids
    if wallet.code not in found or escrow.code not in found:  # a stale guess, or an account not yet opened
        found = account_ids([wallet, escrow])
    share = Share(loan_id=locked.pk, lender_id=lender.pk, amount_cents=amount_cents, created_at=timezone.now())
    with pipeline():  # the journal's checks wait for one answer; every write after them travels in one more
        journal = journal_post_transfers(
            idempotency_key=key,
            kind="share_purchase",
            transfers=[(found[wallet.code], found[escrow.code], amount_cents)],
            description=f"Loan {locked.pk}: {amount_cents // locked.share_size_cents} share(s)",
            savepoint=False,  # this function is one atomic block: any error here abandons all of it
        )
        share.journal_id = journal.pk
        inserted = insert_row(Share, share)
        # Under the loan lock no other purchase of this loan can create the position in between.
        if reads.position_id is not None:
            add_to_columns(LenderPosition, ["lent_cents"], [(reads.position_id, amount_cents)])
        else:
            insert_row(LenderPosition, LenderPosition(loan_id=locked.pk, lender_id=lender.pk, lent_cents=amount_cents))
        sql.add_to_loan_raised(locked.pk, amount_cents, new_lenders=1 if reads.position_id is None else 0)
    share.pk = inserted()
    share._state.adding, share._state.db = False, connection.alias
    if locked.raised_cents + amount_cents == locked.amount_cents:
        loan_transition(loan=Loan(pk=locked.pk), to=S.FUNDED, actor=None, reason="fully funded", on=on, funded_on=on)
    return share


def refund_all_shares(loan: Loan, *, key: str, kind: str) -> None:
    """Return every lender's shares from escrow to their wallet in one journal (expiry, cancellation, refund)."""
    positions = list(LenderPosition.objects.filter(loan=loan, lent_cents__gt=0).order_by("lender_id"))
    if not positions:
        return
    book = books.loan_books(loan, [p.lender_id for p in positions])
    journal = journal_post(
        idempotency_key=key,
        kind=kind,
        lines=[Line(debit=book.escrow, credit=book.wallets[p.lender_id], amount_cents=p.lent_cents) for p in positions],
        description=f"Loan {loan.pk}: shares returned ({kind.replace('_', ' ')})",
    )
    settle_positions(
        loan=loan, journal=journal, kind=LenderSettlement.Kind.REFUND, amounts=[(p, p.lent_cents) for p in positions]
    )


@transaction.atomic
def loan_expire(*, loan: Loan, on: date | None = None) -> Loan:
    """A loan not fully funded by its deadline expires and every share goes back to its lender."""
    on = on or timezone.localdate()
    locked = loan_lock(loan.pk)
    if locked.status != S.FUNDRAISING or locked.fundraising_deadline is None or on <= locked.fundraising_deadline:
        raise ShareRefused(f"loan {locked.pk} is not past its fundraising deadline on {on}", field="loan")
    expired = loan_transition(loan=locked, to=S.EXPIRED, actor=None, reason="fundraising deadline passed", on=on)
    refund_all_shares(expired, key=f"loan:{locked.pk}:expiry", kind="expiry_refund")
    return expired
