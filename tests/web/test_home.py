"""The public home page: the platform's figures (latest close plus live counts), loans that need funding
now, how it works; a fixed number of queries whatever it shows."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lending.loans.models import Loan
from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.models import PortfolioSnapshot
from tests.factories import LenderFactory
from tests.loans import buy

D = PortfolioSnapshot.Dimension


def _snapshot(as_of: date, *, version: int = FORMULA_VERSION, **figures: object) -> PortfolioSnapshot:
    return PortfolioSnapshot.objects.create(
        as_of=as_of, dimension=D.PLATFORM, key="", currency="USD", formula_version=version, **figures
    )


def _open_for(loan: Loan, days: int) -> Loan:
    """The fixtures list loans on a fixed past date: move the deadline relative to today (a plain date field)."""
    Loan.objects.filter(pk=loan.pk).update(fundraising_deadline=timezone.localdate() + timedelta(days=days))
    loan.refresh_from_db()
    return loan


def _cards(page: str) -> list[str]:
    return re.findall(r'<li class="card loan-card" data-testid="loan-card">(.*?)</li>', page, re.S)


@pytest.mark.django_db
def test_home_page_is_public_and_explains_how_it_works(client):
    response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<h2 id="figures-heading">The platform so far</h2>' in page
    assert '<h2 id="needs-heading">Loans that need funding</h2>' in page
    assert '<h2 id="how-heading">How it works</h2>' in page
    assert "<h3>Lend $25</h3>" in page
    assert "<h3>Get repaid</h3>" in page
    assert "<h3>Lend again</h3>" in page
    assert '<a class="button" href="/accounts/signup/">Sign up to lend</a>' in page
    assert 'href="/accounts/login/"' in page


@pytest.mark.django_db
def test_home_page_figures_come_from_the_latest_close_and_live_counts(client, make_lenders, listed, disbursed):
    _snapshot(date(2026, 3, 1), loans_by_status={"paying_back": {"count": 1, "amount": 999_00}})  # older
    _snapshot(
        date(2026, 3, 2),
        loans_by_status={
            "fundraising": {"count": 3, "amount": 900_00},  # not lent yet
            "funded": {"count": 1, "amount": 100_00},
            "paying_back": {"count": 4, "amount": 2_000_00},
            "repaid": {"count": 2, "amount": 500_00},
            "defaulted": {"count": 1, "amount": 250_00},
        },
        due_to_date=80_000,
        repaid_to_date=77_000,
    )
    _snapshot(date(2026, 3, 9), version=FORMULA_VERSION + 1, due_to_date=1, repaid_to_date=0)  # another formula
    one, two, _idle = make_lenders(3)  # the third never lends
    disbursed([(one, 2_500), (two, 2_500)])
    disbursed([(one, 5_000)])  # same borrower (the fixture has one): counted once
    buy(listed(amount_cents=10_000), [(one, 2_500)])  # fundraising: its lender counts, its borrower not yet
    LenderFactory()  # signed up, never lent

    page = client.get("/").content.decode()

    assert 'data-testid="figure-total-lent">$2,850.00<' in page
    assert 'data-testid="figure-repayment-rate">96.3%<' in page
    assert 'data-testid="figure-lenders">2<' in page
    assert 'data-testid="figure-borrowers">1<' in page
    assert "as of the close of 2 March 2026" in page


@pytest.mark.django_db
def test_home_page_before_the_first_close_shows_dashes_and_says_why(client):
    page = client.get("/").content.decode()

    assert 'data-testid="figure-total-lent">&mdash;<' in page
    assert 'data-testid="figure-repayment-rate">&mdash;<' in page
    assert 'data-testid="figure-lenders">0<' in page
    assert "appear after the first nightly close" in page


@pytest.mark.django_db
def test_home_page_shows_the_loans_that_most_need_funding_first(client, listed, make_lenders):
    (lender,) = make_lenders(1)
    loans = {name: listed(purpose=name, amount_cents=20_000) for name in ("a", "b", "c", "d", "e", "f", "g")}
    buy(loans["b"], [(lender, 15_000)])
    for name, days in {"a": 9, "b": 3, "c": 3, "d": 1, "e": 20, "f": 15, "g": 12}.items():
        _open_for(loans[name], days)
    ended = _open_for(listed(purpose="deadline passed, not yet expired by the close"), -1)
    funded = listed(purpose="fully funded", amount_cents=2_500)
    buy(funded, [(lender, 2_500)])

    cards = _cards(client.get("/").content.decode())

    purposes = [re.search(r"<p>([a-g])</p>", card).group(1) for card in cards]
    assert purposes == ["d", "b", "c", "a", "g", "f"]  # soonest deadline, then least left; six at most
    assert all(ended.purpose not in card and funded.purpose not in card for card in cards)
    b = cards[1]
    pk = loans["b"].pk
    assert f'<h3><a href="/loans/{pk}/">Grace N.</a></h3>' in b
    assert f'href="/loans/{pk}/" aria-label="Lend now to Grace N.">Lend now</a>' in b
    assert 'role="progressbar"' in b
    assert 'aria-valuenow="75"' in b
    assert "<strong>$50.00</strong> to go of $200.00" in b
    assert "3 days left" in b
    assert "Uganda · Agriculture · Jinja Growers" in b
    assert "1 day left" in cards[0]


@pytest.mark.django_db
def test_home_page_with_no_loan_to_fund_says_so(client):
    page = client.get("/").content.decode()

    assert _cards(page) == []
    assert "Every loan is funded right now." in page


@pytest.mark.django_db
def test_home_page_greets_a_logged_in_lender_instead_of_asking_them_to_sign_up(client):
    client.force_login(LenderFactory(full_name="Ann Lee"))

    page = client.get("/").content.decode()

    assert "Welcome back, Ann." in page
    assert "Sign up to lend" not in page


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_home_page_runs_the_same_few_queries_for_one_loan_or_five(client, listed, make_lenders):
    _snapshot(date(2026, 3, 2), loans_by_status={"paying_back": {"count": 1, "amount": 100}})
    (lender,) = make_lenders(1)
    first = _open_for(listed(amount_cents=10_000), 5)
    buy(first, [(lender, 2_500)])
    one = _home_queries(client)
    for n in range(4):
        buy(_open_for(listed(amount_cents=10_000), 6 + n), [(lender, 2_500)])

    five = _home_queries(client)

    assert len(_cards(client.get("/").content.decode())) == 5
    assert one == five
    assert five <= 4  # snapshot, lenders, borrowers, loans (with borrower and partner)


@pytest.mark.django_db
def test_home_page_for_a_logged_in_user_adds_only_the_session_and_the_user(client, listed):
    _open_for(listed(), 5)
    client.force_login(LenderFactory())

    assert _home_queries(client) <= 6
