"""The borrower's loan page: one page from review to the last repayment, only for the loan's own borrower."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as people
from accounts.models import BorrowerProfile, User
from lending.loans.applications import loan_apply, loan_approve, loan_cancel, loan_publish, loan_reject, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import loan_expire, share_purchase
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from tests.factories import LenderFactory
from tests.loans import fund_wallet

pytestmark = pytest.mark.django_db
PASSWORD = "river-stone-ledger-42"
TODAY = timezone.localdate()
LONG_AGO = TODAY - timedelta(days=110)  # applied, approved and listed; paid out 10 days later


def _borrower(email: str = "farida@example.org") -> BorrowerProfile:
    return people.borrower_create(display_name="Farida N.", country="UG", email=email, password=PASSWORD)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def farida() -> BorrowerProfile:
    return _borrower()


@pytest.fixture
def web(farida: BorrowerProfile) -> Client:
    return _client(farida.user)


@pytest.fixture
def lender() -> User:
    lender = LenderFactory()
    fund_wallet(lender, 1_000_000)
    return lender


def _applied(farida: BorrowerProfile, repayments: int = 6, amount_cents: int = 60_000, **fields: object) -> Loan:
    return loan_apply(
        actor=farida.user, borrower=farida, amount_cents=amount_cents, currency="USD",
        purpose="Stock for my corner shop", sector="retail", repayments=repayments, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def _listed(farida: BorrowerProfile, staff: User, *, on: date = LONG_AGO, **fields: object) -> Loan:
    loan = _applied(farida, **fields)  # type: ignore[arg-type]
    loan_submit(loan=loan, actor=farida.user, on=on)
    loan_approve(loan=loan, actor=staff, on=on)
    return loan_publish(loan=loan, actor=staff, on=on)


def _paid_out(farida: BorrowerProfile, staff: User, lender: User, **fields: object) -> Loan:
    loan = _listed(farida, staff, **fields)
    share_purchase(
        loan=loan, lender=lender, amount_cents=loan.amount_cents, idempotency_key=f"all-{loan.pk}", on=LONG_AGO
    )
    return loan_disburse(loan=Loan.objects.get(pk=loan.pk), actor=staff, on=LONG_AGO + timedelta(days=10))


def _repay(loan: Loan, cents: int, n: int) -> None:
    repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=TODAY - timedelta(days=60 - n),
        source="borrower_card", idempotency_key=f"pay-{loan.pk}-{n}", actor=None,
    )  # fmt: skip


def _page(web: Client, loan: Loan | None = None) -> str:
    response = web.get(f"/my-loan/{loan.pk}/" if loan else "/my-loan/")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _stage(html: str, title: str) -> str:
    found = re.search(
        rf'<li class="stage (\w+)"[^>]*>\s*<span class="mark"[^>]*>[^<]*</span>\s*<span>{title}</span>', html
    )
    assert found, f"no stage {title}"
    return found.group(1)


# --- each state -----------------------------------------------------------------------------------


def test_a_draft_says_it_is_not_submitted_and_links_back_to_the_application(web, farida):
    _applied(farida)

    html = _page(web)

    assert "<h1>My loan</h1>" in html
    assert 'data-testid="loan-status">Draft<' in html
    assert "not submitted yet" in html
    assert '<a class="button" href="/apply/">Continue your application</a>' in html
    assert _stage(html, "Application") == "current"
    assert _stage(html, "Review") == "todo"


def test_a_submitted_application_waits_for_review(web, farida):
    loan = _applied(farida)
    loan_submit(loan=loan, actor=farida.user, on=TODAY)

    html = _page(web)

    assert 'data-testid="loan-status">Submitted<' in html
    assert f"Submitted on {TODAY:%-d %B %Y}." in html
    assert "Waiting for review." in html
    assert _stage(html, "Application") == "done"
    assert _stage(html, "Review") == "current"


def test_a_rejected_application_shows_the_reviewers_reason(web, farida, staff):
    loan = _applied(farida)
    loan_submit(loan=loan, actor=farida.user, on=TODAY)
    loan_reject(loan=loan, actor=staff, reason="Please add what the shop sells.", on=TODAY)

    html = _page(web)

    assert 'data-testid="loan-status">Rejected<' in html
    assert f'data-testid="decision">Not approved on {TODAY:%-d %B %Y}.' in html
    assert "<strong>Reason:</strong> Please add what the shop sells." in html
    assert _stage(html, "Review") == "stopped"
    assert _stage(html, "Fundraising") == "todo"


def test_an_approved_application_waits_to_be_listed(web, farida, staff):
    loan = _applied(farida)
    loan_submit(loan=loan, actor=farida.user, on=TODAY)
    loan_approve(loan=loan, actor=staff, on=TODAY)

    html = _page(web)

    assert f'data-testid="decision">Approved on {TODAY:%-d %B %Y}.' in html
    assert "will soon be listed" in html
    assert _stage(html, "Review") == "done"
    assert _stage(html, "Fundraising") == "current"


def test_a_withdrawn_application_shows_why_and_where_it_stopped(web, farida):
    loan = _applied(farida)
    loan_submit(loan=loan, actor=farida.user, on=TODAY)
    loan_cancel(loan=loan, actor=farida.user, reason="I found the money elsewhere", on=TODAY)

    html = _page(web)

    assert "<strong>Reason:</strong> I found the money elsewhere" in html
    assert _stage(html, "Review") == "stopped"


def test_a_fundraising_loan_shows_its_progress_and_days_left(web, farida, staff, lender):
    loan = _listed(farida, staff, on=TODAY - timedelta(days=3), fundraising_days=30)
    share_purchase(loan=loan, lender=lender, amount_cents=15_000, idempotency_key="a", on=TODAY)

    html = _page(web)

    assert 'data-testid="loan-status">Fundraising<' in html
    assert '<progress id="funded-bar" max="100" value="25">' in html
    assert '<label for="funded-bar">25% funded</label>' in html
    assert "<strong>$150.00</strong> raised of $600.00" in html
    assert "from 1 lender;" in html
    assert 'data-testid="days-left">27 days left</strong>' in html
    assert "$450.00 still to raise." in html
    assert _stage(html, "Fundraising") == "current"
    assert "Pay by card" not in html
    assert "Repayment</h2>" not in html


def test_an_expired_loan_says_fundraising_ended(web, farida, staff):
    loan = _listed(farida, staff, fundraising_days=10)
    loan_expire(loan=loan, on=LONG_AGO + timedelta(days=11))

    html = _page(web)

    assert "Fundraising ended before the loan was fully funded" in html
    assert _stage(html, "Fundraising") == "stopped"
    assert "days left" not in html


def test_a_funded_loan_waits_to_be_paid_out(web, farida, staff, lender):
    loan = _listed(farida, staff)
    share_purchase(loan=loan, lender=lender, amount_cents=60_000, idempotency_key="a", on=LONG_AGO)

    html = _page(web)

    assert f"Fully funded on {LONG_AGO:%-d %B %Y}." in html
    assert "Waiting to be paid out." in html
    assert _stage(html, "Paid out") == "current"
    assert _stage(html, "Fundraising") == "done"


def test_a_loan_paying_back_shows_the_schedule_with_paid_late_and_upcoming_marks(web, farida, staff, lender):
    loan = _paid_out(farida, staff, lender)  # six $100 installments, the first three already due
    _repay(loan, 10_000, 1)
    _repay(loan, 4_000, 2)

    html = _page(web)

    assert 'data-testid="loan-status">Paying back<' in html
    assert f"paid out to you on {loan.disbursed_on:%-d %B %Y}" in html
    marks = re.findall(r'<span class="mark-(\w+)">([^<]+)</span>', html)
    assert [state for state, _ in marks] == ["paid", "late", "late", "upcoming", "upcoming", "upcoming"]
    assert marks[1][1] == "! Late, part paid"
    rows = loan.installments.order_by("number")
    assert (
        f'data-testid="next-due">Next repayment: <strong>$60.00</strong> due on <strong>{rows[1].due_date:%-d %B %Y}'
        in html
    )
    assert 'data-testid="overdue">Overdue: <strong>$160.00</strong>' in html
    assert "Repaid so far: <strong>$140.00</strong>; still to repay: <strong>$460.00</strong>." in html
    assert f'<a class="button" href="/loans/{loan.pk}/pay/">Pay by card</a>' in html
    assert html.count("Borrower by card") == 2  # the repayments received
    assert _stage(html, "Paid out") == "done"
    assert _stage(html, "Repayment") == "current"


def test_an_installment_paid_in_part_before_it_is_due_is_marked_part_paid(web, farida, staff, lender):
    loan = _paid_out(farida, staff, lender)
    _repay(loan, 34_000, 1)  # three installments and $40 of the fourth, which is not due yet

    html = _page(web)

    marks = [state for state, _ in re.findall(r'<span class="mark-(\w+)">([^<]+)</span>', html)]
    assert marks == ["paid", "paid", "paid", "partial", "upcoming", "upcoming"]
    assert 'data-testid="overdue"' not in html


def test_a_repaid_loan_is_done_at_every_stage(web, farida, staff, lender):
    loan = _paid_out(farida, staff, lender, repayments=1)
    _repay(loan, 60_000, 1)

    html = _page(web)

    assert "Repaid in full." in html
    assert [_stage(html, t) for t in ("Application", "Review", "Fundraising", "Paid out", "Repayment")] == ["done"] * 5
    assert "Pay by card" not in html
    assert 'data-testid="next-due"' not in html


def test_a_loan_through_a_field_partner_has_no_card_payment(officer, partner, staff, lender):
    grace = people.borrower_create(
        display_name="Grace", country="UG", partner=partner, email="grace@example.org", password=PASSWORD
    )
    loan = loan_apply(actor=officer, borrower=grace, amount_cents=60_000, currency="USD", purpose="Seeds",
                      sector="agriculture", repayments=6)  # fmt: skip
    loan_submit(loan=loan, actor=officer, on=LONG_AGO)
    loan_approve(loan=loan, actor=officer, on=LONG_AGO)
    loan_publish(loan=loan, actor=officer, on=LONG_AGO)
    share_purchase(loan=loan, lender=lender, amount_cents=60_000, idempotency_key="a", on=LONG_AGO)
    loan_disburse(loan=Loan.objects.get(pk=loan.pk), actor=officer, on=LONG_AGO)

    html = _page(_client(grace.user))

    assert "Pay by card" not in html
    assert f"Repay through {partner.name}" in html


# --- several loans, no loan -------------------------------------------------------------------------


def test_my_loan_shows_the_loan_under_way_and_links_the_others(web, farida, staff, lender):
    old = _paid_out(farida, staff, lender, repayments=1)
    _repay(old, 60_000, 1)
    current = _listed(farida, staff, on=TODAY)
    _applied(farida)  # a newer draft

    html = _page(web)

    assert f"Loan {current.pk}: <strong>$600.00</strong>" in html
    assert '<h2 id="others-heading">Your other loans</h2>' in html
    assert f'href="/my-loan/{old.pk}/"' in html
    assert "Repaid in full." in _page(web, old)


def test_a_borrower_without_a_loan_is_invited_to_apply(web):
    html = _page(web)

    assert "You have no loan yet." in html
    assert '<a class="button" href="/apply/">Apply for a loan</a>' in html


# --- who may see it -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/my-loan/", "/my-loan/1/"])
def test_anonymous_visitors_are_asked_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("who", ["lender", "staff", "officer"])
def test_lenders_and_staff_get_403(request, farida, who):
    loan = _applied(farida)
    user = request.getfixturevalue(who)

    assert _client(user).get("/my-loan/").status_code == 403
    assert _client(user).get(f"/my-loan/{loan.pk}/").status_code == 403


def test_another_borrowers_loan_does_not_exist(farida):
    loan = _applied(farida)
    other = _client(_borrower("joy@example.org").user)

    assert other.get(f"/my-loan/{loan.pk}/").status_code == 404
    assert other.get("/my-loan/999999/").status_code == 404
    assert "You have no loan yet." in other.get("/my-loan/").content.decode()


# --- cost ---------------------------------------------------------------------------------------------


def _queries(web: Client, loan: Loan) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = web.get(f"/my-loan/{loan.pk}/")
    assert response.status_code == 200
    return len(queries)


def test_the_page_runs_as_many_queries_for_six_installments_as_for_one(staff, lender):
    one_b, six_b = _borrower("one@example.org"), _borrower("six@example.org")
    one = _paid_out(one_b, staff, lender, repayments=1, amount_cents=60_000)
    six = _paid_out(six_b, staff, lender, repayments=6, amount_cents=60_000)
    _repay(one, 10_000, 1)
    for n in range(1, 6):
        _repay(six, 10_000, n)

    few, many = _queries(_client(one_b.user), one), _queries(_client(six_b.user), six)

    assert few == many
    assert many <= 10


def test_my_loan_prefers_the_loan_being_repaid_over_a_newer_one_fundraising(web, farida, staff, lender):
    paying = _paid_out(farida, staff, lender)
    newer = _listed(farida, staff, on=TODAY)

    html = _page(web)

    assert f"Loan {paying.pk}: <strong>$600.00</strong>" in html
    assert f'href="/my-loan/{newer.pk}/"' in html
