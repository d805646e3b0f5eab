"""The close of business on a crafted portfolio, with hand-computed expectations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from lending.jobs.close import CloseRefused, advance_to, close_business_day
from lending.jobs.models import BusinessDay
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans.arrears import loan_arrears
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from tests.loans import CLOSE_ON, START, wallet_cents

pytestmark = pytest.mark.django_db

S = Loan.Status


def by_purpose():
    return {loan.purpose: loan for loan in Loan.objects.all()}


def state():
    """Everything a close may change, keyed by something that survives a rollback (not ids)."""
    loans = {
        loan.purpose: (
            loan.status,
            loan.days_past_due,
            loan.amount_past_due_cents,
            loan.delinquent,
            loan.written_off_cents,
        )
        for loan in Loan.objects.all()
    }
    return loans, sorted(Journal.objects.values_list("kind", flat=True))


def test_a_close_expires_ages_and_defaults_what_it_should(portfolio):
    ended = portfolio["ended"]
    ended_due = ended.installments.get().due_date
    assert ended_due == START + timedelta(weeks=1)
    defaults_on = date(2026, 7, 12)  # six months after 2026-01-12

    result = close_business_day(on=CLOSE_ON)

    assert result.ran
    loans = by_purpose()
    assert loans["stale fundraising"].status == S.EXPIRED
    assert loans["fresh fundraising"].status == S.FUNDRAISING
    late = loans["late"]
    assert (late.days_past_due, late.amount_past_due_cents, late.delinquent, late.arrears_as_of) == (
        15, 1_250, True, CLOSE_ON
    )  # fmt: skip
    pennies = loans["pennies"]
    assert (pennies.days_past_due, pennies.amount_past_due_cents, pennies.delinquent) == (0, 50, False)
    assert loans["ended"].status == S.PAYING_BACK  # due 2026-01-12: not six months yet
    assert (loans["ended"].days_past_due, loans["ended"].delinquent) == ((CLOSE_ON - ended_due).days, True)
    assert loans["paid"].status == S.REPAID
    # The stale loan's share came back; half of late's first principal and all of pennies' payment arrived.
    assert wallet_cents(portfolio["lenders"][0]) == 100_000 - 7_500 - 15_000 + 625 + 2_450
    assert result.steps["expire_fundraising"]["rows"] == 1
    assert result.steps["classify_defaults"]["rows"] == 0

    advance_to(target=defaults_on)
    loans = by_purpose()
    assert loans["ended"].status == S.DEFAULTED
    assert loans["ended"].written_off_cents == 2_500
    assert BusinessDay.objects.filter(state=BusinessDay.State.CLOSED).count() == (defaults_on - CLOSE_ON).days + 1
    assert reconcile().ok


def test_set_based_arrears_agree_with_the_per_loan_rule(portfolio):
    close_business_day(on=CLOSE_ON)
    for loan in Loan.objects.filter(status=S.PAYING_BACK):
        arrears = loan_arrears(loan=loan, as_of=CLOSE_ON)
        assert (loan.days_past_due, loan.amount_past_due_cents, loan.delinquent) == (
            arrears.days_past_due, arrears.amount_past_due_cents, arrears.delinquent
        ), loan.purpose  # fmt: skip


def test_closing_a_date_twice_changes_nothing(portfolio):
    close_business_day(on=CLOSE_ON)
    before = state()
    again = close_business_day(on=CLOSE_ON)
    assert (again.ran, again.state) == (False, BusinessDay.State.CLOSED)
    assert state() == before


def test_a_three_day_catch_up_equals_three_daily_closes(portfolio):
    days = [CLOSE_ON, CLOSE_ON + timedelta(days=1), CLOSE_ON + timedelta(days=2)]
    with transaction.atomic():
        for day in days:
            close_business_day(on=day)
        daily = state()
        transaction.set_rollback(True)
    results = advance_to(target=days[-1], start=days[0])
    assert [r.date for r in results] == days
    assert state() == daily


def test_no_date_before_the_last_closed_one_can_be_closed(portfolio):
    close_business_day(on=CLOSE_ON)
    with pytest.raises(CloseRefused, match="already closed"):
        close_business_day(on=CLOSE_ON - timedelta(days=1))
    with pytest.raises(CloseRefused, match="next one to close is 2026-03-21"):
        advance_to(target=CLOSE_ON + timedelta(days=5), start=CLOSE_ON + timedelta(days=3))


def test_a_live_claim_is_respected_and_a_stale_one_is_taken_over(portfolio):
    BusinessDay.objects.create(date=CLOSE_ON, claim="other-worker", claimed_at=timezone.now())
    assert close_business_day(on=CLOSE_ON).ran is False
    assert by_purpose()["stale fundraising"].status == S.FUNDRAISING
    BusinessDay.objects.filter(date=CLOSE_ON).update(claimed_at=timezone.now() - timedelta(days=1))
    assert close_business_day(on=CLOSE_ON).ran is True
    assert by_purpose()["stale fundraising"].status == S.EXPIRED


def test_commands_close_report_and_refuse_clearly(portfolio, capsys):
    call_command("close_business_day", "--date", "2026-03-20")
    assert "2026-03-20: closed (expire_fundraising 1 rows" in capsys.readouterr().out
    call_command("close_business_day", "--date", "2026-03-20")
    assert "already closed; nothing done" in capsys.readouterr().out
    call_command("advance_to", "--date", "2026-03-22")
    out = capsys.readouterr().out
    assert "2026-03-21: closed" in out
    assert "2026-03-22: closed" in out
    with pytest.raises(CommandError, match="already closed"):
        call_command("close_business_day", "--date", "2026-03-01")
    with pytest.raises(CommandError, match="is not a date like"):
        call_command("advance_to", "--date", "2026-02-30")


def test_a_loan_repaid_after_being_late_has_its_flags_cleared(portfolio):
    close_business_day(on=CLOSE_ON)
    late = by_purpose()["late"]
    assert late.delinquent
    repayment_record(
        loan=late, amount_cents=13_750, currency="USD", received_on=CLOSE_ON + timedelta(days=1), source="staff",
        idempotency_key="rest", actor=None,
    )  # fmt: skip
    close_business_day(on=CLOSE_ON + timedelta(days=1))
    late = by_purpose()["late"]
    assert (late.status, late.delinquent, late.days_past_due, late.amount_past_due_cents) == (S.REPAID, False, 0, 0)
