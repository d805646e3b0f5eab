"""The loan state machine: every (from, to) pair of statuses, legal ones move with one audit event, the rest nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from lending.loans.errors import InvalidTransition
from lending.loans.models import Loan, LoanEvent
from lending.loans.transitions import ENDED, LOAN_TRANSITIONS, loan_transition
from tests.loans import START

pytestmark = pytest.mark.django_db

S = Loan.Status
PAIRS = [(frm, to) for frm in S.values for to in S.values]
LEGAL = [(frm, to) for frm, to in PAIRS if to in LOAN_TRANSITIONS[frm]]
ILLEGAL = [(frm, to) for frm, to in PAIRS if to not in LOAN_TRANSITIONS[frm]]


def loan_in(apply, status: str) -> Loan:
    loan = apply()
    Loan.objects.filter(pk=loan.pk).update(status=status)  # test setup only: jump straight to `status`
    loan.refresh_from_db()
    return loan


def test_the_table_names_every_status_and_only_statuses():
    assert set(LOAN_TRANSITIONS) == set(S.values)
    assert all(targets <= set(S.values) for targets in LOAN_TRANSITIONS.values())
    assert len(PAIRS) == 144
    assert len(LEGAL) == 15


def test_an_ended_status_has_no_way_out():
    assert {s for s, targets in LOAN_TRANSITIONS.items() if not targets} == set(ENDED)


@pytest.mark.parametrize(("frm", "to"), LEGAL)
def test_a_legal_move_changes_the_status_and_writes_one_event(apply, staff, frm, to):
    loan = loan_in(apply, frm)

    moved = loan_transition(loan=loan, to=to, actor=staff, reason="checked by hand", on=START)

    assert moved.status == to
    loan.refresh_from_db()
    assert loan.status == to
    events = list(LoanEvent.objects.filter(loan=loan))
    assert len(events) == 1
    event = events[0]
    assert (event.from_status, event.to_status) == (frm, to)
    assert event.actor_id == staff.pk
    assert event.reason == "checked by hand"
    assert event.business_date == START


@pytest.mark.parametrize(("frm", "to"), ILLEGAL)
def test_an_illegal_move_raises_and_changes_nothing(apply, staff, frm, to):
    loan = loan_in(apply, frm)

    with pytest.raises(InvalidTransition) as refused:
        loan_transition(loan=loan, to=to, actor=staff, reason="should not happen", on=START, funded_on=START)

    assert (refused.value.from_status, refused.value.to_status) == (frm, to)
    loan.refresh_from_db()
    assert loan.status == frm
    assert loan.ended_on is None
    assert loan.funded_on is None
    assert not LoanEvent.objects.filter(loan=loan).exists()


def test_a_status_that_is_not_in_the_table_is_refused(apply, staff):
    loan = apply()

    with pytest.raises(InvalidTransition):
        loan_transition(loan=loan, to="paused", actor=staff, on=START)

    loan.refresh_from_db()
    assert loan.status == S.DRAFT
    assert not LoanEvent.objects.exists()


@pytest.mark.parametrize(("frm", "to"), [(frm, to) for frm, to in LEGAL if to in ENDED])
def test_reaching_an_ended_status_sets_ended_on_to_the_business_date(apply, staff, frm, to):
    loan = loan_in(apply, frm)

    loan_transition(loan=loan, to=to, actor=staff, reason="the end", on=date(2026, 3, 9))

    loan.refresh_from_db()
    assert loan.ended_on == date(2026, 3, 9)


@pytest.mark.parametrize(("frm", "to"), [(frm, to) for frm, to in LEGAL if to not in ENDED])
def test_a_move_to_a_live_status_leaves_ended_on_empty(apply, staff, frm, to):
    loan = loan_in(apply, frm)

    loan_transition(loan=loan, to=to, actor=staff, on=date(2026, 3, 9))

    loan.refresh_from_db()
    assert loan.ended_on is None


def test_a_move_without_a_business_date_is_dated_today(apply):
    loan = loan_in(apply, S.DRAFT)

    loan_transition(loan=loan, to=S.CANCELLED, actor=None)

    event = LoanEvent.objects.get(loan=loan)
    assert event.business_date == timezone.localdate()
    assert event.actor_id is None
    assert event.reason == ""


def test_extra_fields_are_saved_with_the_status(apply):
    loan = loan_in(apply, S.FUNDRAISING)

    loan_transition(loan=loan, to=S.FUNDED, actor=None, reason="fully funded", on=START, funded_on=date(2026, 1, 20))

    loan.refresh_from_db()
    assert loan.status == S.FUNDED
    assert loan.funded_on == date(2026, 1, 20)
    assert loan.ended_on is None


def test_several_extra_fields_are_saved_together(apply, staff):
    loan = loan_in(apply, S.APPROVED)

    loan_transition(
        loan=loan, to=S.FUNDRAISING, actor=staff, on=START, fundraising_deadline=date(2026, 2, 4), purpose="Two cows"
    )

    loan.refresh_from_db()
    assert loan.fundraising_deadline == date(2026, 2, 4)
    assert loan.purpose == "Two cows"


def test_a_long_reason_is_cut_to_five_hundred_characters(apply, staff):
    loan = loan_in(apply, S.SUBMITTED)

    loan_transition(loan=loan, to=S.REJECTED, actor=staff, reason="x" * 600, on=START)

    assert LoanEvent.objects.get(loan=loan).reason == "x" * 500


def test_a_stale_loan_object_is_judged_by_the_status_in_the_database(apply, staff):
    loan = loan_in(apply, S.DRAFT)
    loan_transition(loan=loan, to=S.SUBMITTED, actor=staff, on=START)
    assert loan.status == S.DRAFT  # the caller's copy is stale

    with pytest.raises(InvalidTransition) as refused:
        loan_transition(loan=loan, to=S.SUBMITTED, actor=staff, on=START)

    assert refused.value.from_status == S.SUBMITTED
    assert LoanEvent.objects.filter(loan=loan).count() == 1
