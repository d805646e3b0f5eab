"""Disbursement: the raised funds go to the field partner (or direct borrower) and the schedule is fixed."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from lending.ledger.services import Line, journal_post
from lending.loans import books, permissions
from lending.loans.errors import InvalidApplication
from lending.loans.models import Installment, Loan
from lending.loans.terms import schedule_terms
from lending.loans.transitions import loan_lock, loan_transition
from lending.schedules import ScheduleError, build_schedule

S = Loan.Status


@transaction.atomic
def loan_disburse(*, loan: Loan, actor: User, on: date | None = None, first_repayment_date: date | None = None) -> Loan:
    """Pay out a funded loan and fix its repayment schedule from the disbursement date `on`."""
    permissions.require_can_review(actor, loan)
    on = on or timezone.localdate()
    locked = loan_lock(loan.pk)
    try:
        schedule = build_schedule(
            schedule_terms(locked, disbursement_date=on, first_repayment_date=first_repayment_date)
        )
    except ScheduleError as exc:
        raise InvalidApplication(str(exc), field=exc.field) from None
    disbursed = loan_transition(
        loan=locked,
        to=S.PAYING_BACK,
        actor=actor,
        reason="disbursed",
        on=on,
        disbursed_on=on,
        first_repayment_date=schedule[0].due_date,
        maturity_date=schedule[-1].due_date,
    )
    Installment.objects.bulk_create(
        [
            Installment(
                loan=disbursed,
                number=row.number,
                due_date=row.due_date,
                principal_cents=row.principal,
                interest_cents=row.interest,
                fees_cents=row.fees,
            )
            for row in schedule
        ]
    )
    book = books.loan_books(disbursed)
    # The borrower now owes the principal; the platform owes the partner the cash to hand over.
    journal_post(
        idempotency_key=f"loan:{locked.pk}:disbursement",
        kind="disbursement",
        lines=[
            Line(
                debit=book.receivable,
                credit=book.payable,
                amount_cents=disbursed.amount_cents,
            )
        ],
        description=f"Loan {locked.pk} disbursed",
        metadata={"loan": locked.pk},
    )
    return disbursed
