"""The web pages: home, log in, a lender's wallet and statement, and the admin site."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as people
from accounts.models import User
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from tests.factories import LenderFactory

PASSWORD = "correct-horse-battery"  # the factories' password


def _ann() -> User:
    return LenderFactory(email="ann@example.org", full_name="Ann Lee")


def _deposit(user: User, amount_cents: int, *, key: str = "test:deposit:1", description: str = "Card deposit"):
    return journal_post(
        idempotency_key=key,
        kind="deposit",
        lines=[
            Line(
                debit=platform_account(AccountType.PROCESSOR_CASH, "USD"),
                credit=lender_wallet(user=user, currency="USD"),
                amount_cents=amount_cents,
            )
        ],
        description=description,
    )


# --- home and log in ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_page_links_anonymous_visitors_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b"Lend $25. Change a life. Get repaid." in response.content
    assert b'href="/accounts/login/"' in response.content
    assert b"Welcome back" not in response.content


@pytest.mark.django_db
def test_login_page_renders_an_email_and_password_form(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"<h1>Log in</h1>" in response.content
    assert b'name="username"' in response.content
    assert b'type="email"' in response.content
    assert b'name="password"' in response.content


@pytest.mark.django_db
def test_lender_logs_in_with_email_and_password_and_is_greeted(client):
    _ann()

    response = client.post("/accounts/login/", {"username": "ann@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert b"Welcome back, Ann." in home.content
    assert b'<a href="/wallet/">See your wallet</a>' in home.content
    assert b"ann@example.org" in home.content


@pytest.mark.django_db
def test_login_accepts_an_upper_cased_email(client):
    _ann()

    response = client.post("/accounts/login/", {"username": "ANN@Example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert b"Welcome back, Ann." in client.get("/").content


@pytest.mark.django_db
def test_login_with_a_wrong_password_shows_the_form_again(client):
    _ann()

    response = client.post("/accounts/login/", {"username": "ann@example.org", "password": "wrong-horse-battery"})

    assert response.status_code == 200
    assert b"Your email and password didn" in response.content
    assert b"Welcome back" not in client.get("/").content


@pytest.mark.django_db
def test_login_follows_next_to_the_wallet(client):
    _ann()

    response = client.post(
        "/accounts/login/", {"username": "ann@example.org", "password": PASSWORD, "next": "/wallet/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/wallet/"


# --- the wallet ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_wallet_page_sends_anonymous_visitors_to_log_in(client):
    response = client.get("/wallet/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/wallet/"


@pytest.mark.django_db
def test_wallet_page_of_a_lender_without_deposits_shows_zero(client):
    client.force_login(_ann())

    response = client.get("/wallet/")

    assert response.status_code == 200
    assert b'<p class="big" data-testid="balance">$0.00</p>' in response.content
    assert b"No money has moved through your wallet yet." in response.content


@pytest.mark.django_db
def test_wallet_page_does_not_open_a_wallet(client):
    ann = _ann()
    client.force_login(ann)
    before = LedgerAccount.objects.count()

    response = client.get("/wallet/")

    assert response.status_code == 200
    assert LedgerAccount.objects.count() == before
    assert not LedgerAccount.objects.filter(holder=ann).exists()


@pytest.mark.django_db
def test_wallet_page_shows_the_balance_and_the_deposit_line(client):
    ann = _ann()
    _deposit(ann, 12_550, description="Card deposit")
    client.force_login(ann)
    accounts_before = LedgerAccount.objects.count()

    response = client.get("/wallet/")

    assert response.status_code == 200
    content = response.content.decode()
    assert '<p class="big" data-testid="balance">$125.50</p>' in content
    assert "No money has moved" not in content
    today = timezone.localdate().isoformat()
    assert f"<tr><td>{today}</td><td>Card deposit</td>" in content
    assert content.count("$125.50") == 4  # balance, the line's In and Balance columns, closing balance
    assert response.context["statement"].closing_balance_cents == 12_550
    assert [line.credit_cents for line in response.context["statement"].lines] == [12_550]
    assert LedgerAccount.objects.count() == accounts_before


@pytest.mark.django_db
def test_wallet_page_shows_thousands_separators(client):
    ann = _ann()
    _deposit(ann, 123_456_78)
    client.force_login(ann)

    response = client.get("/wallet/")

    assert b'data-testid="balance">$123,456.78</p>' in response.content


@pytest.mark.django_db
def test_wallet_statement_range_excludes_earlier_movements_from_lines(client):
    ann = _ann()
    _deposit(ann, 5_000)
    client.force_login(ann)
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.get("/wallet/", {"start": tomorrow.isoformat(), "end": tomorrow.isoformat()})

    assert response.status_code == 200
    statement = response.context["statement"]
    assert statement.lines == []
    assert statement.opening_balance_cents == 5_000
    assert b"Card deposit" not in response.content


@pytest.mark.django_db
def test_wallet_page_answers_400_to_a_malformed_date(client):
    client.force_login(_ann())

    response = client.get("/wallet/", {"start": "garbage"})

    assert response.status_code == 400
    assert b"Dates must look like 2026-01-31; showing the last 90 days." in response.content
    today = timezone.localdate()
    assert response.context["start"] == today - timedelta(days=90)
    assert response.context["end"] == today


@pytest.mark.django_db
def test_wallet_page_answers_400_when_start_is_after_end(client):
    client.force_login(_ann())

    response = client.get("/wallet/", {"start": "2026-03-02", "end": "2026-03-01"})

    assert response.status_code == 400
    assert b"The start date must be on or before the end date." in response.content


@pytest.mark.django_db
def test_wallet_page_refuses_borrowers(client):
    borrower = people.borrower_create(
        display_name="Farida Namusoke", country="UG", email="farida@example.org", password=PASSWORD
    )
    client.force_login(borrower.user)
    before = LedgerAccount.objects.count()

    response = client.get("/wallet/")

    assert response.status_code == 403
    assert b"Wallets are for lenders" in response.content
    assert b"Your account is a borrower account" in response.content
    assert LedgerAccount.objects.count() == before


# --- the admin site -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_site_loads_for_a_superuser(client):
    admin = User.objects.create_superuser(email="root@example.org", password=PASSWORD, full_name="Dana Admin")
    client.force_login(admin)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert b"Site administration" in response.content


@pytest.mark.django_db
def test_admin_site_sends_a_lender_to_the_admin_login(client):
    client.force_login(_ann())

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
