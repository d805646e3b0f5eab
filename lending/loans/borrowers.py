"""What a borrower reads of their own loans: the draft to resume, each loan's progress, and the schedule terms
would make, built by the same engine (lending.schedules via lending.loans.terms) that builds it at payout.

Read-only. A loan that is not the borrower's does not exist here: the selectors filter by the user, so a
page built on them answers 404 for anyone else's loan. A loan's progress costs four queries whatever the
length of its schedule or the number of its repayments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Count, Prefetch, Q

from accounts.models import BorrowerProfile, User
from lending.loans.models import Installment, Loan, LoanEvent, Repayment
from lending.loans.terms import schedule_terms
from lending.schedules import Frequency, build_schedule
from lending.schedules import Installment as ScheduleRow

S = Loan.Status
STAGES = ("application", "review", "fundraising", "disbursement", "repayment")
# Where each status stands on the way from application to repayment (an index into STAGES).
STAGE_OF: dict[str, int] = {S.DRAFT: 0, S.SUBMITTED: 1, S.APPROVED: 2, S.FUNDRAISING: 2, S.FUNDED: 3, S.PAYING_BACK: 4}
# Statuses that stop the way at a stage; cancelled and refunded stop wherever the loan was before.
STOPPED_AT: dict[str, int] = {S.REJECTED: 1, S.EXPIRED: 2, S.DEFAULTED: 4}
ACTIVE = (S.SUBMITTED, S.APPROVED, S.FUNDRAISING, S.FUNDED, S.PAYING_BACK)


def borrower_profile_of(user: User) -> BorrowerProfile | None:
    return BorrowerProfile.objects.filter(user_id=user.pk).first()


def own_draft(user: User) -> Loan | None:
    """The newest draft the borrower started themself (a draft a field partner keeps is the partner's to finish)."""
    return (
        Loan.objects.filter(borrower__user_id=user.pk, created_by_id=user.pk, status=S.DRAFT)
        .select_related("borrower")
        .order_by("-created_at", "-id")
        .first()
    )


def borrower_loans(user: User) -> list[Loan]:
    """Every loan of the borrower, newest first, for a list of links (one query)."""
    return list(Loan.objects.filter(borrower__user_id=user.pk).order_by("-created_at", "-id"))


def loan_to_show(loans: list[Loan]) -> Loan | None:
    """The loan a borrower most likely came to see: the newest being repaid (money is due on it), else the newest
    under way, else the newest ended, else a draft."""
    for wanted in (
        lambda loan: loan.status == S.PAYING_BACK,
        lambda loan: loan.status in ACTIVE,
        lambda loan: loan.status != S.DRAFT,
        lambda loan: True,
    ):
        found = next((loan for loan in loans if wanted(loan)), None)
        if found is not None:
            return found
    return None


def terms_preview(
    *, amount_cents: int, currency: str, repayments: int, repayment_every: int, repayment_frequency: str, on: date
) -> list[ScheduleRow]:
    """The installments of a loan with these terms paid out on `on`; raises ScheduleError for terms that cannot be.

    The terms the web application lets a borrower choose; every other term keeps the loan's default
    (no interest, equal installments), as `loan_apply` would save it.
    """
    loan = Loan(
        amount_cents=amount_cents,
        currency=currency,
        repayments=repayments,
        repayment_every=repayment_every,
        repayment_frequency=Frequency(repayment_frequency).value,
        share_size_cents=settings.LOAN_SHARE_CENTS,
    )
    return build_schedule(schedule_terms(loan, disbursement_date=on))


def loan_schedule_preview(loan: Loan, *, on: date) -> list[ScheduleRow]:
    """The installments a saved application's terms make if it were paid out on `on`."""
    return build_schedule(schedule_terms(loan, disbursement_date=on))


@dataclass(frozen=True)
class Line:
    """One installment as the borrower sees it: what is due, what is paid, and its state on a given day."""

    number: int
    due_date: date
    total_cents: int
    paid_cents: int
    paid_on: date | None
    state: str  # paid, late, partial, upcoming

    @property
    def outstanding_cents(self) -> int:
        return self.total_cents - self.paid_cents


def _line(row: Installment, today: date) -> Line:
    if row.paid_on is not None:
        state = "paid"
    elif row.due_date < today:
        state = "late"
    else:
        state = "partial" if row.paid_cents else "upcoming"
    return Line(row.number, row.due_date, row.total_cents, row.paid_cents, row.paid_on, state)


@dataclass(frozen=True)
class Stage:
    name: str  # one of STAGES
    state: str  # done, current, stopped, todo


@dataclass(frozen=True)
class LoanProgress:
    """A loan from application to last repayment, as its borrower follows it."""

    loan: Loan
    stages: list[Stage]
    events: list[LoanEvent]
    schedule: list[Line]
    repayments: list[Repayment]
    lender_count: int
    today: date

    def _event_to(self, *statuses: str) -> LoanEvent | None:
        return next((e for e in reversed(self.events) if e.to_status in statuses), None)

    @property
    def submitted(self) -> LoanEvent | None:
        return self._event_to(S.SUBMITTED)

    @property
    def decision(self) -> LoanEvent | None:
        """The review's outcome: approval, rejection (with its reason), or the applicant's withdrawal."""
        return self._event_to(S.APPROVED, S.REJECTED)

    @property
    def last_event(self) -> LoanEvent | None:
        return self.events[-1] if self.events else None

    @property
    def funded_percent(self) -> int:
        return self.loan.raised_cents * 100 // self.loan.amount_cents

    @property
    def days_left(self) -> int | None:
        deadline = self.loan.fundraising_deadline
        if self.loan.status != S.FUNDRAISING or deadline is None:
            return None
        return max((deadline - self.today).days, 0)

    @property
    def next_due(self) -> Line | None:
        return next((line for line in self.schedule if line.state != "paid"), None)

    @property
    def overdue_cents(self) -> int:
        return sum(line.outstanding_cents for line in self.schedule if line.state == "late")

    @property
    def owed_cents(self) -> int:
        return sum(line.outstanding_cents for line in self.schedule)

    @property
    def repaid_cents(self) -> int:
        return sum(line.paid_cents for line in self.schedule)

    @property
    def can_pay_by_card(self) -> bool:
        """A direct loan (no field partner) that is being repaid and still owes money: the card page takes it."""
        return self.loan.partner_id is None and self.loan.status in (S.PAYING_BACK, S.DEFAULTED) and self.owed_cents > 0


def _stages(loan: Loan, events: list[LoanEvent]) -> list[Stage]:
    if loan.status == S.REPAID:
        return [Stage(name, "done") for name in STAGES]
    if loan.status in STOPPED_AT:
        at, stopped = STOPPED_AT[loan.status], True
    elif loan.status in STAGE_OF:
        at, stopped = STAGE_OF[loan.status], False
    else:  # cancelled or refunded: stopped where the loan stood before
        before = next((e.from_status for e in reversed(events) if e.to_status == loan.status), S.DRAFT)
        at, stopped = STAGE_OF.get(before, 0), True
    here = "stopped" if stopped else "current"
    return [Stage(name, "done" if i < at else here if i == at else "todo") for i, name in enumerate(STAGES)]


def borrower_loan_progress(*, user: User, loan_id: int, today: date) -> LoanProgress | None:
    """The borrower's loan `loan_id` with its events, schedule and repayments; None if it is not theirs."""
    loan = (
        Loan.objects.filter(pk=loan_id, borrower__user_id=user.pk)
        .select_related("borrower", "partner")
        .annotate(lenders=Count("positions", filter=Q(positions__lent_cents__gt=0), distinct=True))
        .prefetch_related(
            Prefetch("events", queryset=LoanEvent.objects.order_by("id")),
            Prefetch("installments", queryset=Installment.objects.order_by("number")),
            Prefetch("payments", queryset=Repayment.objects.order_by("-received_on", "-id")),
        )
        .first()
    )
    if loan is None:
        return None
    events = list(loan.events.all())
    return LoanProgress(
        loan=loan,
        stages=_stages(loan, events),
        events=events,
        schedule=[_line(row, today) for row in loan.installments.all()],
        repayments=list(loan.payments.all()),
        lender_count=loan.lenders,
        today=today,
    )
