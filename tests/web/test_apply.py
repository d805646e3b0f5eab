"""The borrower's application: sign-up, the four steps, the schedule preview, resuming, and who may apply."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as people
from accounts.models import BorrowerProfile, Role, User
from lending.loans.applications import loan_apply
from lending.loans.errors import InvalidApplication
from lending.loans.models import Loan, LoanEvent
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db
PASSWORD = "river-stone-ledger-42"
BUSINESS = {"sector": "retail", "purpose": "Stock for my corner shop"}
TERMS = {"amount": "600", "currency": "USD", "repayments": "12", "interval": "months", "every_weeks": "2"}


def _borrower(email: str = "farida@example.org", name: str = "Farida N.") -> BorrowerProfile:
    return people.borrower_create(display_name=name, country="UG", town="Jinja", email=email, password=PASSWORD)


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


def _to_review(web: Client, **terms: str) -> Loan:
    assert web.post("/apply/business/", BUSINESS).status_code == 302
    response = web.post("/apply/loan/", {**TERMS, **terms, "action": "save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/apply/review/"
    return Loan.objects.get()


def _error_next_to(html: str, field: str) -> str:
    """The message Django renders next to a field, with the id the input's aria-describedby names."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>(.*?)</li>', html)
    assert found, f"no error next to {field}"
    assert re.search(rf'aria-describedby="[^"]*id_{field}_error', html), f"{field} is not described by its error"
    return found.group(1)


# --- sign-up: a new visitor becomes a borrower first ----------------------------------------------


def test_an_anonymous_visitor_at_apply_is_offered_the_borrower_sign_up(client):
    response = client.get("/apply/")

    assert response.status_code == 302
    assert response["Location"] == "/apply/signup/"
    page = client.get("/apply/signup/").content.decode()
    assert "<h1>Apply for a loan</h1>" in page
    for field in ("email", "password", "display_name", "country", "town"):
        assert f'for="id_{field}"' in page
        assert f'id="id_{field}"' in page
    assert "Create account and continue" in page
    assert 'href="/accounts/login/?next=/apply/"' in page


def test_a_visitor_signs_up_as_a_borrower_and_goes_on_to_their_business(client):
    response = client.post(
        "/apply/signup/",
        {"email": "Joy@Example.org", "password": PASSWORD, "display_name": "Joy A.", "country": "KE", "town": "Kisumu"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/apply/business/"
    user = User.objects.get(email="joy@example.org")
    assert user.role == Role.BORROWER
    profile = user.borrower_profile
    assert (profile.display_name, profile.country, profile.town, profile.partner) == ("Joy A.", "KE", "Kisumu", None)
    page = client.get("/apply/business/").content.decode()  # logged in
    assert "<h1>Your business</h1>" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "Enter your email address."),
        ({"password": "12345678"}, "password", "This password is too common."),
        ({"display_name": " "}, "display_name", "Enter your name."),
        ({"country": ""}, "country", "Choose your country."),
        ({"country": "XX"}, "country", "Choose a country from the list."),
    ],
)
def test_sign_up_with_bad_input_says_what_is_wrong_and_creates_no_one(client, data, field, message):
    good = {"email": "joy@example.org", "password": PASSWORD, "display_name": "Joy A.", "country": "KE", "town": ""}

    response = client.post("/apply/signup/", {**good, **data})

    assert response.status_code == 400
    assert message in _error_next_to(response.content.decode(), field)
    assert not User.objects.exists()
    assert not BorrowerProfile.objects.exists()
    assert "_auth_user_id" not in client.session


def test_sign_up_with_an_email_already_used_is_refused_next_to_the_email(client, farida):
    response = client.post(
        "/apply/signup/",
        {"email": "FARIDA@example.org", "password": PASSWORD, "display_name": "Other", "country": "KE"},
    )

    assert response.status_code == 400
    assert "A user with this email already exists." in _error_next_to(response.content.decode(), "email")
    assert BorrowerProfile.objects.count() == 1


def test_a_logged_in_borrower_at_sign_up_goes_to_their_application(web):
    response = web.get("/apply/signup/")

    assert response.status_code == 302
    assert response["Location"] == "/apply/"


# --- the steps --------------------------------------------------------------------------------------


def test_a_borrower_applies_through_the_four_steps_and_submits(web, farida):
    assert web.get("/apply/")["Location"] == "/apply/business/"  # step 1 is done: the profile exists
    about = web.get("/apply/about/").content.decode()
    assert "<h1>About you</h1>" in about
    assert 'value="Farida N."' in about
    assert (
        web.post("/apply/about/", {"display_name": "Farida Namusoke", "country": "UG", "town": "Jinja"})["Location"]
        == "/apply/business/"
    )

    assert web.post("/apply/business/", BUSINESS)["Location"] == "/apply/loan/"
    assert not Loan.objects.exists()  # step 2 waits in the session until the terms are known
    loan_page = web.get("/apply/loan/").content.decode()
    assert "<h1>The loan</h1>" in loan_page
    assert 'data-preview-url="/api/v1/schedule-preview/"' in loan_page

    response = web.post("/apply/loan/", {**TERMS, "action": "save"})
    assert response["Location"] == "/apply/review/"
    loan = Loan.objects.get()
    assert (loan.status, loan.amount_cents, loan.repayments, loan.repayment_frequency) == (
        "draft",
        60_000,
        12,
        "months",
    )
    assert (loan.sector, loan.purpose, loan.country, loan.partner, loan.created_by) == (
        "retail", "Stock for my corner shop", "UG", None, farida.user,
    )  # fmt: skip

    review = web.get("/apply/review/").content.decode()
    assert "<h1>Review and submit</h1>" in review
    assert "Farida Namusoke" in review
    assert "Stock for my corner shop" in review
    assert "$600.00" in review
    assert "12 repayments, every month" in review
    assert review.count('<td class="num">$50.00</td><td class="num">') == 12  # the repayment column

    response = web.post("/apply/review/", {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == f"/my-loan/{loan.pk}/"
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SUBMITTED
    assert LoanEvent.objects.get(loan=loan).to_status == "submitted"
    assert "apply" not in web.session
    assert web.get("/apply/")["Location"] == "/apply/business/"  # a new application starts afresh


def test_the_about_step_with_bad_input_changes_nothing(web, farida):
    response = web.post("/apply/about/", {"display_name": "", "country": "Uganda", "town": "x" * 101})

    assert response.status_code == 400
    html = response.content.decode()
    assert _error_next_to(html, "display_name") == "Enter your name."
    assert _error_next_to(html, "country") == "Choose a country from the list."
    assert "at most 100 characters" in _error_next_to(html, "town")
    assert 'role="alert"' in html
    farida.refresh_from_db()
    assert (farida.display_name, farida.country, farida.town) == ("Farida N.", "UG", "Jinja")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"sector": ""}, "sector", "Choose the sector of your business."),
        ({"sector": "mining"}, "sector", "Choose a sector."),
        ({"purpose": "  "}, "purpose", "Say what the loan is for."),
        ({"purpose": "x" * 201}, "purpose", "Use at most 200 characters (you used 201)."),
    ],
)
def test_the_business_step_with_bad_input_keeps_nothing(web, data, field, message):
    response = web.post("/apply/business/", {**BUSINESS, **data})

    assert response.status_code == 400
    assert _error_next_to(response.content.decode(), field) == message
    assert "apply" not in web.session
    assert not Loan.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": ""}, "amount", "Enter the amount you need."),
        ({"amount": "five hundred"}, "amount", "Enter an amount in USD, such as 500 or 500.00."),
        ({"amount": "0"}, "amount", "Enter an amount above zero."),
        ({"amount": "510"}, "amount", "Ask for a multiple of $25.00, such as $500.00."),
        ({"amount": "500.001"}, "amount", "Enter an amount in USD, such as 500 or 500.00."),
        ({"amount": "20000"}, "amount", "The most you can ask for is $10,000.00."),
        ({"repayments": ""}, "repayments", "Enter the number of repayments."),
        ({"repayments": "0"}, "repayments", "Make at least one repayment."),
        ({"repayments": "61"}, "repayments", "Choose at most 60 repayments."),
        ({"repayments": "2.5"}, "repayments", "Enter a whole number, such as 12."),
        ({"interval": "yearly"}, "interval", "Choose how often you repay."),
        ({"interval": "weeks", "every_weeks": ""}, "every_weeks", "Enter the number of weeks between repayments."),
        ({"interval": "weeks", "every_weeks": "13"}, "every_weeks", "Enter at most 12 weeks."),
    ],
)
@pytest.mark.parametrize("action", ["save", "preview"])
def test_the_loan_step_with_bad_terms_says_why_and_writes_nothing(web, data, field, message, action):
    web.post("/apply/business/", BUSINESS)

    response = web.post("/apply/loan/", {**TERMS, **data, "action": action})

    assert response.status_code == 400
    html = response.content.decode()
    if field == "interval":  # a radio group: the fieldset is described by the error
        assert message in html
        assert 'aria-describedby="id_interval_error"' in html
    else:
        assert _error_next_to(html, field) == message
    assert not Loan.objects.exists()
    assert 'data-testid="schedule"' not in html


def test_the_loan_step_with_bad_terms_leaves_a_saved_draft_as_it_was(web):
    loan = _to_review(web)

    response = web.post("/apply/loan/", {**TERMS, "amount": "610", "action": "save"})

    assert response.status_code == 400
    loan.refresh_from_db()
    assert loan.amount_cents == 60_000


def test_a_refusal_from_the_loan_service_is_shown_next_to_the_field_it_names(web, monkeypatch):
    def refuse(**fields: object) -> Loan:
        raise InvalidApplication("repayment_every: must be at most 4 for this partner", field="repayment_every")

    monkeypatch.setattr("lending.web.applications.loan_apply", refuse)
    web.post("/apply/business/", BUSINESS)

    response = web.post("/apply/loan/", {**TERMS, "interval": "weeks", "every_weeks": "6", "action": "save"})

    assert response.status_code == 400
    assert _error_next_to(response.content.decode(), "every_weeks") == "Must be at most 4 for this partner."
    assert not Loan.objects.exists()


def test_the_loan_step_before_the_business_step_sends_the_borrower_back(web):
    response = web.get("/apply/loan/")

    assert response.status_code == 302
    assert response["Location"] == "/apply/business/"
    assert web.get("/apply/review/")["Location"] == "/apply/"


def test_the_preview_button_draws_the_schedule_on_the_server_and_writes_nothing(web):
    web.post("/apply/business/", BUSINESS)

    response = web.post("/apply/loan/", {**TERMS, "amount": "500", "repayments": "4", "action": "preview"})

    assert response.status_code == 200
    html = response.content.decode()
    assert not Loan.objects.exists()
    assert "4 repayments, $500.00 in all" in html
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td class=\"num\">([^<]+)</td>", html)
    assert [(n, amount) for n, _, amount in rows] == [
        ("1", "$125.00"),
        ("2", "$125.00"),
        ("3", "$125.00"),
        ("4", "$125.00"),
    ]
    assert 'value="500"' in html  # the form keeps what was typed


def test_the_server_preview_shows_the_same_schedule_as_the_public_api(web):
    web.post("/apply/business/", BUSINESS)
    terms = {**TERMS, "amount": "1000", "repayments": "6", "interval": "weeks", "every_weeks": "2"}

    html = web.post("/apply/loan/", {**terms, "action": "preview"}).content.decode()
    api = Client().post(
        "/api/v1/schedule-preview/",
        {"principal": "1000", "currency": "USD", "repayments": 6, "repayment_every": 2,
         "repayment_frequency": "weeks", "disbursement_date": timezone.localdate().isoformat()},
        content_type="application/json",
    ).json()  # fmt: skip

    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td class=\"num\">\$([^<]+)</td>", html)
    assert len(rows) == len(api["installments"]) == 6
    for (_, due, total), row in zip(rows, api["installments"], strict=True):
        assert due == date.fromisoformat(row["due_date"]).strftime("%-d %b %Y")
        assert total == f"{float(row['total']):,.2f}"


def test_a_saved_draft_shows_its_schedule_on_the_loan_step_and_its_terms_in_the_form(web):
    _to_review(web, amount="300", repayments="3", interval="weeks", every_weeks="4")

    html = web.get("/apply/loan/").content.decode()

    assert 'value="300.00"' in html
    assert 'value="3"' in html
    assert 'value="4"' in html
    assert re.search(r'value="weeks"[^>]*checked', html)
    assert "3 repayments, $300.00 in all" in html


def test_review_without_the_confirmation_is_refused_and_the_loan_stays_a_draft(web):
    loan = _to_review(web)

    response = web.post("/apply/review/", {})

    assert response.status_code == 400
    assert _error_next_to(response.content.decode(), "confirm") == "Tick the box to confirm before you submit."
    loan.refresh_from_db()
    assert loan.status == Loan.Status.DRAFT
    assert not LoanEvent.objects.exists()


def test_changing_the_business_after_the_draft_exists_changes_the_draft(web):
    loan = _to_review(web)

    response = web.post("/apply/business/", {"sector": "food", "purpose": "A bigger oven"})

    assert response["Location"] == "/apply/loan/"
    loan.refresh_from_db()
    assert (loan.sector, loan.purpose) == ("food", "A bigger oven")
    assert Loan.objects.count() == 1
    assert web.post("/apply/loan/", {**TERMS, "amount": "700", "action": "save"})["Location"] == "/apply/review/"
    loan.refresh_from_db()
    assert loan.amount_cents == 70_000
    assert Loan.objects.count() == 1


def test_moving_country_moves_the_draft_too(web, farida):
    loan = _to_review(web)

    web.post("/apply/about/", {"display_name": "Farida N.", "country": "KE", "town": "Kisumu"})

    loan.refresh_from_db()
    farida.refresh_from_db()
    assert (farida.country, farida.town, loan.country) == ("KE", "Kisumu", "KE")


# --- leaving and coming back ----------------------------------------------------------------------


def test_a_borrower_who_leaves_after_the_business_step_resumes_at_the_loan_step(web):
    web.post("/apply/business/", BUSINESS)
    web.get("/")  # wanders off

    response = web.get("/apply/")

    assert response["Location"] == "/apply/loan/"
    business = web.get("/apply/business/").content.decode()
    assert "Stock for my corner shop" in business
    assert re.search(r'value="retail"[^>]*selected', business)


def test_a_borrower_who_logs_out_with_a_draft_resumes_at_the_review_on_any_device(web, farida):
    _to_review(web)
    web.post("/accounts/logout/")

    other_device = Client()
    assert other_device.login(username="farida@example.org", password=PASSWORD)

    assert other_device.get("/apply/")["Location"] == "/apply/review/"
    assert "Stock for my corner shop" in other_device.get("/apply/review/").content.decode()


def test_going_back_to_a_step_makes_it_the_step_to_resume_at(web):
    _to_review(web)
    web.post("/apply/about/", {"display_name": "Farida N.", "country": "UG", "town": "Jinja"})

    assert web.get("/apply/")["Location"] == "/apply/business/"
    steps = web.get("/apply/business/").content.decode()
    assert 'href="/apply/review/"' in steps  # later steps stay open: the draft holds them


def test_a_draft_kept_by_a_field_partner_is_not_resumed_on_the_borrowers_application(officer, partner):
    grace = people.borrower_create(
        display_name="Grace", country="UG", partner=partner, email="grace@example.org", password=PASSWORD
    )
    loan_apply(actor=officer, borrower=grace, amount_cents=50_000, currency="USD", purpose="Seeds",
               sector="agriculture", repayments=6)  # fmt: skip
    web = _client(grace.user)

    assert web.get("/apply/")["Location"] == "/apply/business/"


# --- who may apply ----------------------------------------------------------------------------------

STEP_URLS = ["/apply/about/", "/apply/business/", "/apply/loan/", "/apply/review/"]


@pytest.mark.parametrize("url", STEP_URLS)
def test_anonymous_visitors_are_asked_to_log_in_for_a_step(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("who", ["lender", "staff", "officer"])
@pytest.mark.parametrize("url", ["/apply/", "/apply/signup/", *STEP_URLS])
def test_lenders_partner_staff_and_platform_staff_may_not_apply_here(request, who, url):
    user = LenderFactory() if who == "lender" else request.getfixturevalue(who)
    web = _client(user)

    response = web.get(url)
    posted = web.post(url, {**BUSINESS, **TERMS, "confirm": "on", "action": "save"})

    assert response.status_code == posted.status_code == 403
    assert "<h1>For borrowers only</h1>" in response.content.decode()
    assert not Loan.objects.exists()


def test_the_borrowers_menu_has_apply_and_my_loan(web):
    html = web.get("/apply/business/").content.decode()

    assert '<a href="/apply/">Apply</a>' in html
    assert '<a href="/my-loan/">My loan</a>' in html


def test_a_lenders_menu_has_neither(client):
    client.force_login(LenderFactory())

    html = client.get("/").content.decode()

    assert 'href="/apply/"' not in html
    assert 'href="/my-loan/"' not in html


def test_the_step_pages_label_every_field_and_mark_the_current_step(web):
    web.post("/apply/business/", BUSINESS)

    html = web.get("/apply/loan/").content.decode()

    assert '<nav class="apply-steps" aria-label="Application steps">' in html
    assert re.search(
        r'<li class="current" aria-current="step">\s*<span class="n" aria-hidden="true">3</span> '
        r'<span class="t">The loan</span>',
        html,
    )
    for field in ("amount", "repayments", "every_weeks"):
        assert f'<label for="id_{field}"' in html
    assert "<legend>How often you repay" in html or "How often you repay:</legend>" in html
    assert '<button type="submit" name="action" value="preview" class="secondary">Preview schedule</button>' in html
    assert 'src="/static/js/apply.js"' in html
