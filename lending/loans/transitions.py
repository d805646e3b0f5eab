"""The loan state machine: one table of legal moves and one service that performs every move.

`loan_transition` locks the loan row, checks the table, writes the audit event and the new status
in the caller's transaction. Two workers can never both move the same loan: the second waits for
the lock and then sees the status the first left.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from lending.loans.errors import InvalidTransition
from lending.loans.models import Loan, LoanEvent

S = Loan.Status

LOAN_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.FUNDRAISING, S.CANCELLED}),
    S.FUNDRAISING: frozenset({S.FUNDED, S.EXPIRED, S.CANCELLED}),
    S.FUNDED: frozenset({S.PAYING_BACK, S.REFUNDED}),
    S.PAYING_BACK: frozenset({S.REPAID, S.DEFAULTED, S.REFUNDED}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REPAID: frozenset(),
    S.DEFAULTED: frozenset(),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
}

ENDED = frozenset({S.REPAID, S.DEFAULTED, S.REFUNDED, S.EXPIRED, S.REJECTED, S.CANCELLED})


def loan_lock(loan_id: int) -> Loan:
    """The loan row, locked until the end of the caller's transaction."""
    return Loan.objects.select_for_update().get(pk=loan_id)


@transaction.atomic
def loan_transition(
    *, loan: Loan, to: str, actor: User | None, reason: str = "", on: date | None = None, **fields: object
) -> Loan:
    """Move the loan to `to` if the table allows it, with an audit event; `fields` are saved with the status."""
    locked = loan_lock(loan.pk)
    if to not in LOAN_TRANSITIONS[locked.status]:
        raise InvalidTransition(loan_id=locked.pk, from_status=locked.status, to_status=to)
    business_date = on or timezone.localdate()
    LoanEvent.objects.create(
        loan=locked,
        from_status=locked.status,
        to_status=to,
        actor=actor,
        reason=reason[:500],
        business_date=business_date,
    )
    locked.status = to
    for name, value in fields.items():
        setattr(locked, name, value)
    if to in ENDED and locked.ended_on is None:
        locked.ended_on = business_date
    locked.save(update_fields=["status", "ended_on", *fields])
    return locked
