"""Default, write-off and refund: how a loan ends when it is not simply repaid.

Default rule (Kiva's, configurable): still owing more than the tolerance LOAN_DEFAULT_AFTER_MONTHS
months after the last installment's due date. Default writes off each lender's outstanding
principal through the ledger: the receivable to credit losses, and the lenders' positions in the
loan against the same account, so the loss is visibly the lenders' (the platform's books net to
zero) and every lender's written-off amount is kept as a settlement row. Platform staff may default
a loan earlier (`loan_write_off`), with the same write-off.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from lending.ledger.services import Line, journal_post
from lending.loans import books, permissions
from lending.loans.errors import InvalidTransition, LoanError
from lending.loans.fundraising import refund_all_shares
from lending.loans.models import Installment, LenderPosition, LenderSettlement, Loan
from lending.loans.settlements import settle_positions
from lending.loans.transitions import loan_lock, loan_transition
from lending.schedules import Frequency, add_periods

S = Loan.Status


def default_date(loan: Loan) -> date | None:
    """The first day on which the loan counts as defaulted if it still owes money."""
    last_due = loan.maturity_date
    if last_due is None:
        return None
    end = add_periods(last_due, every=settings.LOAN_DEFAULT_AFTER_MONTHS, frequency=Frequency.MONTHS, count=1)
    return end


def _outstanding_positions(loan: Loan) -> list[LenderPosition]:
    positions = list(LenderPosition.objects.filter(loan=loan).order_by("lender_id"))
    unpaid = (
        Installment.objects.filter(loan=loan).aggregate(owed=Sum(F("principal_cents") - F("paid_principal_cents")))[
            "owed"
        ]
        or 0
    )
    if unpaid != sum(p.outstanding_cents for p in positions):
        raise LoanError(f"loan {loan.pk}: installments owe {unpaid} of principal but lender positions do not agree")
    return [p for p in positions if p.outstanding_cents > 0]


@transaction.atomic
def loan_default_if_due(*, loan: Loan, as_of: date) -> bool:
    """Default and write off the loan if the rule says so on `as_of`; True if it did."""
    locked = loan_lock(loan.pk)
    when = default_date(locked) if locked.status == S.PAYING_BACK else None
    if when is None or as_of < when:
        return False
    owed = (
        Installment.objects.filter(loan=locked).aggregate(
            owed=Sum(
                F("principal_cents")
                + F("interest_cents")
                + F("fees_cents")
                - F("paid_principal_cents")
                - F("paid_interest_cents")
                - F("paid_fees_cents")
            )
        )["owed"]
        or 0
    )
    if owed <= settings.ARREARS_TOLERANCE_CENTS:
        return False
    reason = f"still owing {owed} on {as_of}, {settings.LOAN_DEFAULT_AFTER_MONTHS} months after the end of the term"
    _default_and_write_off(locked, actor=None, reason=reason, on=as_of)
    return True


@transaction.atomic
def loan_write_off(*, loan: Loan, actor: User, reason: str, on: date | None = None) -> Loan:
    """Staff declare a paying-back loan defaulted before the automatic rule would (e.g. the borrower died or fled).

    The same write-off as an automatic default: each lender's outstanding principal goes to credit
    losses and is kept as a settlement, and later payments are recoveries split among the lenders.
    """
    permissions.require_platform_staff(actor, "write off a loan")
    if not reason.strip():
        raise LoanError("reason: a write-off needs a reason", field="reason")
    locked = loan_lock(loan.pk)
    if locked.status != S.PAYING_BACK:  # checked before any money moves, not only by the transition
        raise InvalidTransition(loan_id=locked.pk, from_status=locked.status, to_status=S.DEFAULTED)
    return _default_and_write_off(locked, actor=actor, reason=reason, on=on or timezone.localdate())


def _default_and_write_off(locked: Loan, *, actor: User | None, reason: str, on: date) -> Loan:
    """Write off each lender's outstanding principal (one journal, a settlement each) and mark the loan defaulted."""
    positions = _outstanding_positions(locked)
    total = sum(p.outstanding_cents for p in positions)
    if total:  # only interest or fees still owed: nothing of the lenders' to write off
        book = books.loan_books(locked)
        journal = journal_post(
            idempotency_key=f"loan:{locked.pk}:write_off",
            kind="write_off",
            lines=[Line(book.credit_losses, book.receivable, total)]
            + [Line(book.escrow, book.credit_losses, p.outstanding_cents) for p in positions],
            effective_at=books.moment(on),
            description=f"Loan {locked.pk} defaulted: outstanding principal written off",
            metadata={"loan": locked.pk},
        )
        settle_positions(
            loan=locked,
            journal=journal,
            kind=LenderSettlement.Kind.WRITE_OFF,
            amounts=[(p, p.outstanding_cents) for p in positions],
        )
    return loan_transition(loan=locked, to=S.DEFAULTED, actor=actor, reason=reason, on=on, written_off_cents=total)


@transaction.atomic
def loan_refund(*, loan: Loan, actor: User, reason: str, on: date | None = None) -> Loan:
    """Staff return each lender's unrepaid principal and close the loan (e.g. a partner's error or fraud)."""
    permissions.require_platform_staff(actor, "refund a loan")
    if not reason.strip():
        raise LoanError("reason: a refund needs a reason", field="reason")
    on = on or timezone.localdate()
    locked = loan_lock(loan.pk)
    was_disbursed = locked.status == S.PAYING_BACK
    refunded = loan_transition(loan=locked, to=S.REFUNDED, actor=actor, reason=reason, on=on)
    if not was_disbursed:
        refund_all_shares(refunded, key=f"loan:{locked.pk}:refund", kind="refund")
        return refunded
    positions = _outstanding_positions(refunded)
    total = sum(p.outstanding_cents for p in positions)
    if total == 0:
        return refunded
    book = books.loan_books(refunded, [p.lender_id for p in positions])
    # The partner (or borrower) hands back the outstanding principal, and it goes to the lenders.
    journal = journal_post(
        idempotency_key=f"loan:{locked.pk}:refund",
        kind="refund",
        lines=[Line(book.cash, book.receivable, total)]
        + [Line(book.escrow, book.wallets[p.lender_id], p.outstanding_cents) for p in positions],
        effective_at=books.moment(on),
        description=f"Loan {locked.pk} refunded: {reason}"[:255],
        metadata={"loan": locked.pk},
    )
    settle_positions(
        loan=refunded,
        journal=journal,
        kind=LenderSettlement.Kind.REFUND,
        amounts=[(p, p.outstanding_cents) for p in positions],
    )
    return refunded
