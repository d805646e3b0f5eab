"""Fundraising: lenders buy shares from their wallets; a loan never over-funds, a wallet never overdraws.

A purchase locks the loan row, checks what is left, moves the money wallet -> escrow through the
ledger (whose bound refuses an overdraft) and records the share and the lender's position, all in
one transaction. Many lenders racing for the last share: the loan lock orders them, the first
ones win, the rest are told how much is left.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from lending.ledger.services import Line, journal_post
from lending.loans import books
from lending.loans.errors import ShareRefused
from lending.loans.models import LenderPosition, LenderSettlement, Loan, Share
from lending.loans.settlements import settle_positions
from lending.loans.transitions import loan_lock, loan_transition

S = Loan.Status


def _check_purchase(loan: Loan, lender: User, amount_cents: int, on: date) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ShareRefused("amount_cents: must be a positive whole number of minor units", field="amount_cents")
    if amount_cents % loan.share_size_cents:
        raise ShareRefused(f"amount_cents: shares come in multiples of {loan.share_size_cents}", field="amount_cents")
    if not lender.is_lender:
        raise ShareRefused("only lenders can buy loan shares", field="lender")
    if loan.borrower.user_id == lender.pk:
        raise ShareRefused("a lender cannot lend to their own loan", field="lender")
    if loan.status != S.FUNDRAISING:
        raise ShareRefused(f"loan {loan.pk} is not fundraising (it is {loan.status})", field="loan")
    if loan.fundraising_deadline and on > loan.fundraising_deadline:
        raise ShareRefused(f"loan {loan.pk} stopped fundraising on {loan.fundraising_deadline}", field="loan")
    if amount_cents > loan.remaining_cents:
        raise ShareRefused(
            f"amount_cents: only {loan.remaining_cents} is still needed for loan {loan.pk}", field="amount_cents"
        )


@transaction.atomic
def share_purchase(
    *, loan: Loan, lender: User, amount_cents: int, idempotency_key: str, on: date | None = None
) -> Share:
    """Buy `amount_cents` of the loan (a multiple of its share size) from the lender's wallet, once per key."""
    key = f"share:{lender.pk}:{idempotency_key}"
    on = on or timezone.localdate()
    locked = loan_lock(loan.pk)
    # Checked under the loan lock, so a concurrent twin with the same key is seen once it commits.
    earlier = Share.objects.filter(journal__idempotency_key=key).first()
    if earlier is not None:
        if (earlier.loan_id, earlier.amount_cents) != (loan.pk, amount_cents):
            raise ShareRefused(
                f"idempotency key {idempotency_key!r} was used for another purchase", field="idempotency_key"
            )
        return earlier
    _check_purchase(locked, lender, amount_cents, on)
    book = books.loan_books(locked, [lender.pk])
    journal = journal_post(
        idempotency_key=key,
        kind="share_purchase",
        lines=[Line(debit=book.wallets[lender.pk], credit=book.escrow, amount_cents=amount_cents)],
        description=f"Loan {locked.pk}: {amount_cents // locked.share_size_cents} share(s)",
    )
    share = Share.objects.create(loan=locked, lender=lender, amount_cents=amount_cents, journal=journal)
    # Under the loan lock no other purchase of this loan can create the position in between.
    new_lender = not LenderPosition.objects.filter(loan=locked, lender=lender).update(
        lent_cents=F("lent_cents") + amount_cents
    )
    if new_lender:
        LenderPosition.objects.create(loan=locked, lender=lender, lent_cents=amount_cents)
    locked.raised_cents += amount_cents
    locked.lender_count += 1 if new_lender else 0
    locked.save(update_fields=["raised_cents", "lender_count"])
    if locked.raised_cents == locked.amount_cents:
        loan_transition(loan=locked, to=S.FUNDED, actor=None, reason="fully funded", on=on, funded_on=on)
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
