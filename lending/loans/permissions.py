"""Who may do what to a loan. Services call these; faces (API, pages) map NotAllowed to 403."""

from __future__ import annotations

from accounts.models import BorrowerProfile, User
from lending.loans.errors import NotAllowed
from lending.loans.models import Loan, Repayment


def _is_partner_staff_of(actor: User, partner_id: int | None) -> bool:
    staff = getattr(actor, "partner_staff", None) if actor.is_partner_staff else None
    return staff is not None and partner_id is not None and staff.partner_id == partner_id


def require_can_apply_for(actor: User, borrower: BorrowerProfile) -> None:
    """The borrower themself, staff of the borrower's field partner, or platform staff."""
    if actor.is_platform_staff or (borrower.user_id is not None and borrower.user_id == actor.pk):
        return
    if _is_partner_staff_of(actor, borrower.partner_id):
        return
    raise NotAllowed(f"{actor.email} may not apply for a loan on behalf of borrower {borrower.pk}")


def require_can_edit(actor: User, loan: Loan) -> None:
    """Whoever applied (borrower or partner staff), or platform staff."""
    require_can_apply_for(actor, loan.borrower)


def require_can_review(actor: User, loan: Loan) -> None:
    """Approve, reject, publish, disburse: platform staff, or staff of the loan's field partner."""
    if actor.is_platform_staff or _is_partner_staff_of(actor, loan.partner_id):
        return
    raise NotAllowed(f"{actor.email} may not review loan {loan.pk}")


def require_platform_staff(actor: User, action: str) -> None:
    if not actor.is_platform_staff:
        raise NotAllowed(f"only platform staff may {action}")


def require_can_record_repayment(actor: User, loan: Loan, source: str) -> None:
    """Staff record any source; partner staff their partner's reports; a borrower pays by card."""
    if actor.is_platform_staff:
        return
    if source == Repayment.Source.PARTNER and _is_partner_staff_of(actor, loan.partner_id):
        return
    if source == Repayment.Source.BORROWER_CARD and loan.borrower.user_id == actor.pk:
        return
    raise NotAllowed(f"{actor.email} may not record a {source} repayment for loan {loan.pk}")
