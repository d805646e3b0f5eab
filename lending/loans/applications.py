"""Applying for a loan, and the reviews before it is listed: submit, approve, reject, publish, cancel."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import BorrowerProfile, FieldPartner, User
from lending.loans import permissions
from lending.loans.errors import InvalidApplication, InvalidTransition
from lending.loans.fundraising import refund_all_shares
from lending.loans.models import Loan, Sector
from lending.loans.terms import schedule_terms
from lending.loans.transitions import loan_lock, loan_transition
from lending.money import MoneyError, check_currency
from lending.schedules import ScheduleError, build_schedule

S = Loan.Status
ALLOCATION_PARTS = ("fees", "interest", "principal")
TERM_FIELDS = (
    "repayments", "repayment_every", "repayment_frequency", "bullet", "interest_method", "amortization",
    "annual_interest_rate", "lender_interest_rate", "day_count", "grace_on_principal_periods",
    "grace_on_interest_periods", "installment_multiple_of_cents", "installment_rounding", "irregular_schedule",
    "allocation_order",
)  # fmt: skip


# The schedule engine's names for the loan's own fields, so an error names what the applicant typed.
SCHEDULE_FIELDS = {
    "installment_multiple_of": "installment_multiple_of_cents",
    "explicit": "irregular_schedule",
    "principal": "amount_cents",
    "first_repayment_date": "first_repayment_date",
}


def _bad(field: str, message: str) -> InvalidApplication:
    return InvalidApplication(f"{field}: {message}", field=field)


def _check_money(amount_cents: Any, currency: Any, share_size_cents: int) -> None:
    try:
        check_currency(currency)
    except MoneyError as exc:
        raise _bad("currency", str(exc)) from None
    if currency not in settings.LENDING_CURRENCIES:
        raise _bad("currency", f"loans are listed in {', '.join(settings.LENDING_CURRENCIES)}")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise _bad("amount_cents", "must be a positive whole number of minor units")
    if amount_cents > settings.LOAN_MAX_CENTS:
        raise _bad("amount_cents", f"must be at most {settings.LOAN_MAX_CENTS}")
    if isinstance(share_size_cents, bool) or not isinstance(share_size_cents, int) or share_size_cents <= 0:
        raise _bad("share_size_cents", "must be a positive whole number of minor units")
    if amount_cents % share_size_cents:
        raise _bad("amount_cents", f"must be a multiple of the share size ({share_size_cents})")


def _check_terms(loan: Loan) -> None:
    """Dry-run the schedule with today as disbursement date, so bad terms fail at application, not payout."""
    for rate_field in ("annual_interest_rate", "lender_interest_rate"):
        try:
            rate = Decimal(str(getattr(loan, rate_field)))
        except InvalidOperation:
            raise _bad(rate_field, "must be a decimal percentage") from None
        if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
            raise _bad(rate_field, "must be a percentage from 0 to 100")
        setattr(loan, rate_field, rate)
    if loan.lender_interest_rate > loan.annual_interest_rate:
        raise _bad("lender_interest_rate", "cannot exceed the borrower's interest rate")
    parts = tuple(p.strip() for p in str(loan.allocation_order).split(","))
    if sorted(parts) != sorted(ALLOCATION_PARTS):
        raise _bad(
            "allocation_order", "must name fees, interest and principal once each, e.g. 'fees,interest,principal'"
        )
    try:
        build_schedule(schedule_terms(loan, disbursement_date=timezone.localdate()))
    except ScheduleError as exc:
        field = SCHEDULE_FIELDS.get(exc.field, exc.field)
        raise InvalidApplication(f"{field}: {str(exc).removeprefix(f'{exc.field}: ')}", field=field) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("irregular_schedule", f"rows need due_in_days and principal_cents ({exc})") from None


@transaction.atomic
def loan_apply(
    *,
    actor: User,
    borrower: BorrowerProfile,
    amount_cents: int,
    currency: str,
    purpose: str,
    sector: str,
    repayments: int,
    country: str | None = None,
    partner: FieldPartner | None = None,
    share_size_cents: int | None = None,
    fundraising_days: int | None = None,
    borrower_count: int = 1,
    borrower_gender: str = Loan.Gender.UNSPECIFIED,
    **terms: Any,
) -> Loan:
    """A draft application, by the borrower, their field partner's staff, or platform staff."""
    permissions.require_can_apply_for(actor, borrower)
    unknown = set(terms) - set(TERM_FIELDS)
    if unknown:
        raise _bad(sorted(unknown)[0], "is not a loan term")
    loan = Loan(
        borrower=borrower,
        borrower_count=borrower_count,
        borrower_gender=borrower_gender,
        partner=partner or borrower.partner,
        created_by=actor,
        amount_cents=amount_cents,
        currency=currency,
        purpose=purpose,
        sector=sector,
        country=country or borrower.country,
        share_size_cents=settings.LOAN_SHARE_CENTS if share_size_cents is None else share_size_cents,
        fundraising_days=settings.LOAN_FUNDRAISING_DAYS if fundraising_days is None else fundraising_days,
        repayments=repayments,
        **terms,
    )
    _check_application(loan)
    loan.save()
    return loan


def _check_application(loan: Loan) -> None:
    """Every rule an application meets, checked on the unsaved loan (normalising purpose and country).

    One function for `loan_apply` and `loan_draft_update`, so an edited draft can never hold what a
    new application could not.
    """
    _check_money(loan.amount_cents, loan.currency, loan.share_size_cents)
    purpose = loan.purpose
    if not isinstance(purpose, str) or not purpose.strip() or len(purpose) > 200:
        raise _bad("purpose", "say in up to 200 characters what the loan is for")
    loan.purpose = purpose.strip()
    if loan.sector not in Sector.values:
        raise _bad("sector", f"must be one of {', '.join(Sector.values)}")
    loan.country = str(loan.country or "").upper()
    if len(loan.country) != 2 or not loan.country.isalpha():
        raise _bad("country", "must be a two-letter ISO 3166 code")
    _check_whole(loan.fundraising_days, "fundraising_days", 1, 90, "must be from 1 to 90")
    _check_whole(loan.repayments, "repayments", 1, 600, "must be a whole number from 1 to 600")
    _check_whole(loan.borrower_count, "borrower_count", 1, 100, "must be a whole number from 1 to 100")
    if loan.borrower_gender not in Loan.Gender.values:
        raise _bad("borrower_gender", f"must be one of {', '.join(Loan.Gender.values)}")
    _check_terms(loan)


def _check_whole(value: Any, field: str, low: int, high: int, message: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(field, message)


class NotADraft(InvalidTransition):
    """Only a draft may be edited: once submitted, reviewers decide on what they were sent."""

    def __init__(self, *, loan_id: int, status: str) -> None:
        super().__init__(loan_id=loan_id, from_status=status, to_status=S.DRAFT)
        self.args = (f"loan {loan_id} is {status}: only a draft can be edited",)


# What an applicant may change in a draft: what `loan_apply` takes, but who applied and for which partner.
DRAFT_FIELDS = frozenset(
    {"borrower", "amount_cents", "currency", "purpose", "sector", "country", "share_size_cents", "fundraising_days",
     "borrower_count", "borrower_gender", *TERM_FIELDS}
)  # fmt: skip


@transaction.atomic
def loan_draft_update(*, loan: Loan, actor: User, **fields: Any) -> Loan:
    """Change a draft, checked by the same rules as `loan_apply`; a new borrower brings their field partner."""
    locked = loan_lock(loan.pk)
    permissions.require_can_edit(actor, locked)
    if locked.status != S.DRAFT:
        raise NotADraft(loan_id=locked.pk, status=locked.status)
    unknown = set(fields) - DRAFT_FIELDS
    if unknown:
        raise _bad(sorted(unknown)[0], "cannot be changed in a draft")
    changed = set(fields)
    if "borrower" in fields:
        borrower = fields.pop("borrower")
        if not isinstance(borrower, BorrowerProfile):
            raise _bad("borrower", "must be a borrower")
        permissions.require_can_apply_for(actor, borrower)
        locked.borrower, locked.partner = borrower, borrower.partner
        changed.add("partner")
    for name, value in fields.items():
        setattr(locked, name, value)
    _check_application(locked)
    locked.save(update_fields=sorted(changed))
    return locked


def loan_submit(*, loan: Loan, actor: User, on: date | None = None) -> Loan:
    permissions.require_can_edit(actor, loan)
    return loan_transition(loan=loan, to=S.SUBMITTED, actor=actor, on=on)


def loan_approve(*, loan: Loan, actor: User, reason: str = "", on: date | None = None) -> Loan:
    permissions.require_can_review(actor, loan)
    return loan_transition(loan=loan, to=S.APPROVED, actor=actor, reason=reason, on=on)


def loan_reject(*, loan: Loan, actor: User, reason: str, on: date | None = None) -> Loan:
    permissions.require_can_review(actor, loan)
    if not reason.strip():
        raise _bad("reason", "a rejection needs a reason the borrower can read")
    return loan_transition(loan=loan, to=S.REJECTED, actor=actor, reason=reason, on=on)


def loan_publish(*, loan: Loan, actor: User, on: date | None = None) -> Loan:
    """List an approved loan for fundraising until `fundraising_days` after `on`."""
    permissions.require_can_review(actor, loan)
    on = on or timezone.localdate()
    return loan_transition(
        loan=loan, to=S.FUNDRAISING, actor=actor, on=on, fundraising_deadline=on + timedelta(days=loan.fundraising_days)
    )


@transaction.atomic
def loan_cancel(*, loan: Loan, actor: User, reason: str, on: date | None = None) -> Loan:
    """Withdraw a loan before it is funded; any shares already bought go back to their lenders."""
    locked = loan_lock(loan.pk)
    if locked.status == S.FUNDRAISING:
        permissions.require_platform_staff(actor, "cancel a loan that lenders have started funding")
    else:
        permissions.require_can_edit(actor, locked)
    if not reason.strip():
        raise _bad("reason", "a cancellation needs a reason")
    cancelled = loan_transition(loan=locked, to=S.CANCELLED, actor=actor, reason=reason, on=on)
    refund_all_shares(cancelled, key=f"loan:{locked.pk}:cancel", kind="cancel_refund")
    return cancelled
