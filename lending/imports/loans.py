"""Replay one planned loan through the loan services, in one transaction, and remember it.

Nothing here writes a loan, share, journal or repayment row itself: it calls loan_apply, submit,
approve, publish, share_purchase, loan_expire / loan_cancel / loan_refund, loan_disburse and
repayment_record, exactly as staff and lenders would, so an imported loan obeys every rule a live
one does (and a record the services refuse is rolled back whole and reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from accounts import services as people
from accounts.models import FieldPartner, User
from lending.imports.cast import Cast
from lending.imports.models import ImportedRecord
from lending.imports.plans import CURRENCY, LoanPlan, borrower_name
from lending.loans.applications import loan_apply, loan_approve, loan_cancel, loan_publish, loan_submit
from lending.loans.default import loan_refund
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import loan_expire, share_purchase
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from lending.money import split_pro_rata

S = Loan.Status


@dataclass(frozen=True, slots=True)
class Imported:
    loan: Loan
    payments_recorded: int
    unrecorded: int  # payments after the loan was already repaid: the services refuse them
    unrecorded_cents: int
    deposited_cents: int
    lent_cents: int  # shares bought before the loan's end (returned since, when it expired or was refunded)


def _terms(plan: LoanPlan, disbursed_on: date | None) -> dict[str, object]:
    if plan.schedule and disbursed_on is not None:
        return {
            "repayments": len(plan.schedule),
            "irregular_schedule": [
                {"due_in_days": (due - disbursed_on).days, "principal_cents": principal}
                for due, principal in plan.schedule
            ],
        }
    return {"repayments": plan.repayments, "bullet": plan.bullet}


def _apply(plan: LoanPlan, importer: User, partner: FieldPartner | None) -> Loan:
    borrower = people.borrower_create(
        display_name=borrower_name(plan.external_id, plan.borrower_gender, plan.borrower_count),
        country=plan.country,
        partner=partner,
    )
    return loan_apply(
        actor=importer,
        borrower=borrower,
        amount_cents=plan.amount_cents,
        currency=CURRENCY,
        purpose=plan.purpose,
        sector=plan.sector,
        country=plan.country,
        partner=partner,
        share_size_cents=plan.share_size_cents,
        fundraising_days=plan.fundraising_days,
        borrower_count=plan.borrower_count,
        borrower_gender=plan.borrower_gender,
        **_terms(plan, plan.disbursed_on),  # type: ignore[arg-type]
    )


def _fund(plan: LoanPlan, loan: Loan, cast: Cast, lenders: list[User], on: date) -> int:
    """Buy the plan's shares, spread over its lenders; returns what had to be deposited first."""
    if plan.shares == 0:
        return 0
    amounts = [n * plan.share_size_cents for n in split_pro_rata(plan.shares, [1] * len(lenders))]
    needs = [(lender, cents) for lender, cents in zip(lenders, amounts, strict=True) if cents]
    deposited = cast.top_up(key=f"{cast.source}:loan:{plan.external_id}:deposits", needs=needs)
    for lender, cents in needs:
        share_purchase(
            loan=loan, lender=lender, amount_cents=cents, idempotency_key=f"{cast.source}-{plan.external_id}", on=on
        )
    return deposited


def _repay(plan: LoanPlan, loan: Loan, importer: User) -> tuple[int, int, int]:
    """Record every payment in date order; (recorded, unrecorded, unrecorded cents) once the loan is repaid."""
    recorded = unrecorded = unrecorded_cents = principal = 0
    for payment in plan.payments:
        if principal >= plan.amount_cents:  # repaid: the services take no more (Kiva's overpayment records)
            unrecorded += 1
            unrecorded_cents += payment.amount_cents
            continue
        repayment = repayment_record(
            loan=loan,
            amount_cents=payment.amount_cents,
            currency=CURRENCY,
            received_on=payment.on,
            source="partner",
            idempotency_key=f"kiva-payment-{payment.key}",
            actor=importer,
        )
        principal += repayment.principal_cents
        recorded += 1
    return recorded, unrecorded, unrecorded_cents


def loan_import(*, plan: LoanPlan, cast: Cast, batch: str) -> Imported:
    """Build the plan's loan through the services and remember it under its external id, all or nothing.

    The people come first, each committed on its own (cast.py): were they made inside the loan's
    transaction, a loan the services refuse would roll them back while the cast still held them.
    """
    importer = cast.importer()
    partner = cast.partner(plan.partner_id, plan.country)
    lenders = cast.lenders(plan.external_id, plan.lender_count) if plan.shares else []
    return _build(plan, cast, batch, importer, partner, lenders)


@transaction.atomic
def _build(
    plan: LoanPlan, cast: Cast, batch: str, importer: User, partner: FieldPartner | None, lenders: list[User]
) -> Imported:
    loan = _apply(plan, importer, partner)
    deposited = recorded = unrecorded = unrecorded_cents = 0
    if plan.posted_on is None:  # never listed (a deleted draft)
        loan = loan_cancel(loan=loan, actor=importer, reason=f"{plan.source_status} on Kiva", on=plan.ended_on)
    else:
        for step in (loan_submit, loan_approve, loan_publish):
            loan = step(loan=loan, actor=importer, on=plan.posted_on)
        deposited = _fund(plan, loan, cast, lenders, plan.funded_on or plan.posted_on)
        loan.refresh_from_db()
        if plan.target == S.EXPIRED:
            loan = loan_expire(loan=loan, on=plan.ended_on)
        elif plan.target == S.CANCELLED:
            loan = loan_cancel(loan=loan, actor=importer, reason=f"{plan.source_status} on Kiva", on=plan.ended_on)
        elif plan.target == S.REFUNDED:
            loan = loan_refund(loan=loan, actor=importer, reason="refunded to its lenders by Kiva", on=plan.ended_on)
        elif plan.target == S.PAYING_BACK:
            loan = loan_disburse(loan=loan, actor=importer, on=plan.disbursed_on)
            recorded, unrecorded, unrecorded_cents = _repay(plan, loan, importer)
    ImportedRecord.objects.create(
        source=cast.source,
        kind=ImportedRecord.Kind.LOAN,
        external_id=plan.external_id,
        object_id=loan.pk,
        batch=batch,
        details={
            **plan.details,
            "unrecorded_cents": unrecorded_cents,
            "unrecorded_payments": unrecorded,
            "notes": list(plan.notes),
        },
    )
    loan.refresh_from_db()
    return Imported(loan, recorded, unrecorded, unrecorded_cents, deposited, plan.funded_cents)
