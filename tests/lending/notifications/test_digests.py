"""Daily digests: repayments received, loans funded and loans late, once per lender per date, as they chose."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail

from lending.jobs.close import close_business_day
from lending.loans.repayments import repayment_record
from lending.notifications.models import Digest, NotificationPreference
from lending.notifications.services import send_digests
from tests.loans import START

pytestmark = pytest.mark.django_db

DUE = date(2026, 2, 5)  # the first installment of a monthly loan disbursed on START


@pytest.fixture
def two(make_lenders):
    return make_lenders(2, 50_000)


@pytest.fixture
def loan(two, disbursed):
    return disbursed([(two[0], 7_500), (two[1], 2_500)], repayments=4)  # 2,500 due monthly


def inbox(lender):
    return [m for m in mail.outbox if m.to == [lender.email]]


def test_a_repayment_day_tells_each_lender_what_came_back(loan, two):
    repayment_record(
        loan=loan, amount_cents=2_500, currency="USD", received_on=DUE, source="staff", idempotency_key="r1", actor=None
    )
    assert send_digests(DUE) == 2
    assert "$18.75 came back to your wallet from 1 loan(s)." in inbox(two[0])[0].body
    assert "$6.25 came back" in inbox(two[1])[0].body


def test_the_day_a_loan_is_funded_its_lenders_hear_of_it(loan, two):
    assert send_digests(START) == 2
    assert f"Loan {loan.pk} is fully funded" in inbox(two[0])[0].body


def test_lenders_hear_when_a_loan_is_one_day_late_and_not_every_day_after(loan, two):
    close_business_day(on=date(2026, 2, 6))  # due the 5th, unpaid: one day late
    assert f"Loan {loan.pk} is 1 day(s) late" in inbox(two[0])[0].body
    mail.outbox.clear()
    close_business_day(on=date(2026, 2, 7))
    assert mail.outbox == []


def test_a_lender_who_turned_a_kind_off_does_not_hear_of_it(loan, two):
    NotificationPreference.objects.create(lender=two[1], funded=False)
    send_digests(START)
    assert inbox(two[1]) == []
    assert len(inbox(two[0])) == 1


def test_a_date_sends_each_digest_once(loan, two):
    send_digests(START)
    send_digests(START)
    assert len(mail.outbox) == 2
    assert Digest.objects.filter(sent_at__isnull=False).count() == 2


def test_a_digest_whose_email_failed_is_sent_by_the_next_run(loan, two, monkeypatch):
    import lending.notifications.services as services

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(services, "send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        send_digests(START)
    monkeypatch.undo()
    assert send_digests(START) == 2
    assert len(mail.outbox) == 2
