"""The lender's dashboard, statement and auto-lending pages: who may see them, what they show, their forms,
and a number of queries that does not grow with the number of loans or lines."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as people
from lending.autolending.models import AutoLendingLog, AutoLendingSettings
from lending.ledger.chart import AccountType
from lending.ledger.models import Journal, LedgerAccount
from lending.ledger.services import Line, account_open, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_approve, loan_publish, loan_submit
from lending.loans.models import Share
from lending.loans.repayments import repayment_record
from lending.metrics.snapshots import snapshot_portfolio
from lending.web import dashboard as dashboard_views
from tests.factories import LenderFactory
from tests.loans import START, buy, fund_wallet

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/statement/", "/dashboard/auto-lending/"]


def pay(loan, cents, on, key):
    repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=on, source="staff", idempotency_key=key, actor=None
    )


@pytest.fixture
def ann(db):
    lender = LenderFactory(email="ann@example.org", full_name="Ann Lee")
    fund_wallet(lender, 100_000)
    return lender


@pytest.fixture
def lend(ann, make_lenders, disbursed):
    """Ann's loans, each disbursed on START and repaid once: `lend(n)` makes n of them."""
    (other,) = make_lenders(1, 1_000_000)

    def make(count: int, **overrides):
        loans = []
        for n in range(count):
            loan = disbursed([(ann, 5_000), (other, 5_000)], purpose=f"goats {n}", repayments=10, **overrides)
            pay(loan, 1_000, START + timedelta(days=31), f"goats-{n}")
            loans.append(loan)
        return loans

    return make


def page(client: Client, user, url: str, data=None):
    client.force_login(user)
    return client.get(url, data or {})


def queries_for(client: Client, url: str, data=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data or {})
    assert response.status_code == 200
    return len(queries)


# --- who may see the pages ----------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("url", PAGES)
def test_borrowers_are_refused_with_403(client, url):
    borrower = people.borrower_create(display_name="Farida N.", country="UG", email="farida@example.org",
                                      password="river-stone-42")  # fmt: skip

    response = page(client, borrower.user, url)

    assert response.status_code == 403
    assert b"The dashboard is for lenders" in response.content


@pytest.mark.parametrize("url", PAGES)
def test_field_partner_staff_are_refused_with_403(client, officer, url):
    response = page(client, officer, url)

    assert response.status_code == 403


def test_partner_staff_cannot_post_auto_lending_settings(client, officer):
    client.force_login(officer)

    response = client.post("/dashboard/auto-lending/", {"action": "save", "max_per_loan": "25", "idle_days": "0"})

    assert response.status_code == 403
    assert not AutoLendingSettings.objects.exists()


def test_the_nav_links_lenders_to_their_dashboard(client, ann, officer):
    assert b'<a href="/dashboard/">Dashboard</a>' in page(client, ann, "/").content
    assert b'<a href="/dashboard/">Dashboard</a>' not in page(client, officer, "/").content


# --- the dashboard ------------------------------------------------------------------------------


def test_dashboard_of_a_new_lender_shows_zeros_and_opens_no_account(client):
    newcomer = LenderFactory()

    response = page(client, newcomer, "/dashboard/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Your dashboard</h1>" in content
    assert 'data-testid="wallet-available">$0.00<' in content
    assert "You have not lent yet." in content
    assert "No money has moved through your wallet yet." in content
    assert "Rates appear after the first nightly close." in content
    assert content.count("Nothing to show yet") >= 5  # every chart says so
    assert not LedgerAccount.objects.filter(holder=newcomer).exists()


def test_dashboard_shows_the_wallet_with_pending_withdrawal_and_dispute_holds(client, ann):
    wallet, ref = lender_wallet(user=ann, currency="USD"), f"lender:{ann.pk}"
    pending = account_open(account_type=AccountType.PENDING_WITHDRAWAL, currency="USD", ref=ref, holder_id=ann.pk)
    held = account_open(account_type=AccountType.DISPUTE_HELD, currency="USD", ref=ref, holder_id=ann.pk)
    journal_post(idempotency_key="w", kind="withdrawal_hold", lines=[Line(wallet, pending, 20_000)],
                 description="Withdrawal requested")  # fmt: skip
    journal_post(idempotency_key="d", kind="dispute_hold", lines=[Line(wallet, held, 5_000)])

    content = page(client, ann, "/dashboard/").content.decode()

    assert 'data-testid="wallet-available">$750.00<' in content
    assert 'data-testid="wallet-pending">$200.00<' in content
    assert 'data-testid="wallet-held">$50.00<' in content
    assert "Withdrawal requested" in content  # the activity feed
    assert "-$200.00" in content


def test_dashboard_shows_totals_portfolio_charts_and_activity(client, ann, lend):
    (loan,) = lend(1)

    response = page(client, ann, "/dashboard/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="total-lent">$50.00<' in content
    assert 'data-testid="total-repaid">$5.00<' in content
    assert 'data-testid="total-outstanding">$45.00<' in content
    assert 'data-testid="total-defaulted">$0.00<' in content
    # the portfolio row: lent, repaid so far, outstanding, and the next installment's share ($10 of $100, half)
    assert f'<a href="/loans/{loan.pk}/">#{loan.pk} goats 0</a>' in content
    assert "Paying back" in content
    assert "$5.00 on " in content
    # five charts, each an image with a title and a description, and a table of its figures
    assert content.count('role="img"') == 5
    for slug in ("received", "expected", "status", "sector", "country"):
        assert f'aria-labelledby="chart-{slug}-title chart-{slug}-desc"' in content
    assert "Repayments received per month" in content
    assert "Show the figures as a table" in content
    assert "Portfolio by sector (amount lent)" in content
    assert '<th scope="row">Agriculture</th><td class="num">$50.00</td>' in content
    assert '<th scope="row">Uganda</th>' in content
    # the activity feed: the repayment and the share purchase
    assert f"Loan {loan.pk}: repayment received" in content
    assert "+$5.00" in content
    assert "-$50.00" in content


def test_dashboard_charts_show_this_years_repayments(client, ann, lend):
    (loan,) = lend(1)
    today = timezone.localdate()
    pay(loan, 2_000, today, "today")

    response = page(client, ann, "/dashboard/")

    received = response.context["charts"]["received"]
    assert received.rows[-1] == (today.strftime("%B %Y"), "$10.00")
    assert not received.empty


def test_my_stats_show_the_lenders_rates_against_the_platform_with_their_date(client, ann, lend):
    lend(2)
    snapshot_portfolio(date(2026, 3, 20))

    content = page(client, ann, "/dashboard/").content.decode()

    assert "As of 20 March 2026, the latest nightly close." in content
    assert '<th scope="col" class="num">Platform average</th>' in content
    assert re.search(r"Delinquency rate.*?</th><td class=\"num\">[0-9.]+%</td><td class=\"num\">[0-9.]+%</td>",
                     content, re.S)  # fmt: skip


def test_portfolio_filters_by_status(client, ann, lend, listed):
    lend(1)
    bike = listed(purpose="bike", amount_cents=10_000)
    buy(bike, [(ann, 2_500)])

    response = page(client, ann, "/dashboard/", {"status": "fundraising"})

    assert response.status_code == 200
    assert [p.loan.purpose for p in response.context["page"].object_list] == ["bike"]
    assert "1 loan matches the filters." in response.content.decode()
    assert "Clear filters" in response.content.decode()


def test_portfolio_filters_by_sector_and_country(client, ann, lend, listed):
    lend(1)
    bike = listed(purpose="bike", amount_cents=10_000, sector="transportation")
    buy(bike, [(ann, 2_500)])

    by_sector = page(client, ann, "/dashboard/", {"sector": "agriculture"})
    by_country = page(client, ann, "/dashboard/", {"country": "UG"})

    assert [p.loan.purpose for p in by_sector.context["page"].object_list] == ["goats 0"]
    assert len(by_country.context["page"].object_list) == 2
    assert b'<option value="UG">Uganda</option>' in by_country.content.replace(b" selected", b"")


def test_a_bad_filter_comes_back_with_the_message_next_to_the_field(client, ann, lend):
    lend(1)

    response = page(client, ann, "/dashboard/", {"status": "lost", "country": "ZZ"})

    assert response.status_code == 400
    content = response.content.decode()
    assert '<ul class="errorlist" id="id_status_error"><li>Select a valid choice.' in content
    assert 'aria-describedby="id_status_error"' in content
    assert 'aria-invalid="true"' in content
    assert len(response.context["page"].object_list) == 1  # shown unfiltered


def test_portfolio_pages_keep_the_filters(client, ann, lend, monkeypatch):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)
    lend(3)

    first = page(client, ann, "/dashboard/", {"status": "paying_back"})
    second = client.get("/dashboard/", {"status": "paying_back", "page": "2"})

    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?status=paying_back&amp;page=2#portfolio" rel="next">Next page</a>' in first.content.decode()
    assert [p.loan.purpose for p in second.context["page"].object_list] == ["goats 0"]
    assert client.get("/dashboard/", {"page": "junk"}).status_code == 200


def test_portfolio_shows_only_the_lenders_own_loans(client, ann, lend, make_lenders, disbursed):
    lend(1)
    (stranger,) = make_lenders(1)
    theirs = disbursed([(stranger, 2_500)], purpose="their loan")

    response = page(client, ann, "/dashboard/")

    assert "their loan" not in response.content.decode()
    assert theirs.pk not in [p.loan_id for p in response.context["page"].object_list]
    assert "goats 0" not in page(client, stranger, "/dashboard/").content.decode()


def test_dashboard_runs_as_many_queries_for_five_loans_as_for_one(client, ann, lend):
    lend(1)
    client.force_login(ann)
    one = queries_for(client, "/dashboard/")
    lend(4)

    five = queries_for(client, "/dashboard/")

    assert five == one
    assert one <= 12


def test_dashboard_query_count_does_not_grow_with_filters_and_pages(client, ann, lend, monkeypatch):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)
    lend(1)
    client.force_login(ann)
    one = queries_for(client, "/dashboard/", {"sector": "agriculture"})
    lend(4)

    assert queries_for(client, "/dashboard/", {"sector": "agriculture", "page": "2"}) == one


# --- the statement -----------------------------------------------------------------------------


def test_statement_defaults_to_the_last_90_days_with_balances(client, ann, lend):
    lend(1)

    response = page(client, ann, "/dashboard/statement/")

    assert response.status_code == 200
    content = response.content.decode()
    today = timezone.localdate()
    assert response.context["start"] == today - timedelta(days=90)
    assert response.context["end"] == today
    assert "<h1>Wallet statement</h1>" in content
    # $1,000 deposited, $50 lent, $5 back; the fixtures' movements are all within the last 90 days or before
    closing = response.context["statement"].closing_balance_cents
    assert closing == 95_500
    assert 'data-testid="closing-balance">$955.00<' in content


def test_statement_for_chosen_dates_lists_the_movements_in_them(client, ann, lend):
    (loan,) = lend(1)
    received = START + timedelta(days=31)

    response = page(client, ann, "/dashboard/statement/", {"start": received.isoformat(), "end": received.isoformat()})

    assert response.status_code == 200
    lines = response.context["page"].object_list
    assert [(line.kind, line.credit_cents) for line in lines] == [("repayment", 500)]
    assert f"Loan {loan.pk}: repayment received" in response.content.decode()


def test_statement_filters_by_kind(client, ann, lend):
    lend(1)
    today = timezone.localdate()

    response = page(client, ann, "/dashboard/statement/", {"kind": "lending", "start": "2026-01-01",
                                                           "end": today.isoformat()})  # fmt: skip

    assert response.status_code == 200
    assert {line.kind for line in response.context["page"].object_list} == {"share_purchase"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-03-02", "end": "2026-03-01"}, "The start date must be on or before the end date."),
        ({"start": "2024-01-01", "end": "2026-03-01"}, "A statement covers at most 366 days"),
        ({"start": "garbage"}, "Enter a valid date."),
        ({"kind": "everything"}, "Select a valid choice."),
    ],
)
def test_a_bad_statement_range_comes_back_with_the_message_next_to_the_field(client, ann, query, message):
    response = page(client, ann, "/dashboard/statement/", query)

    assert response.status_code == 400
    content = response.content.decode()
    assert message in content
    field = "kind" if "kind" in query else "start"
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}' in content
    assert f'aria-describedby="id_{field}_error"' in content


def test_statement_csv_has_the_apis_columns_and_quotes_formulas(client, ann):
    wallet = lender_wallet(user=ann, currency="USD")
    cash = platform_account(AccountType.PROCESSOR_CASH, "USD")
    journal_post(idempotency_key="evil", kind="deposit", lines=[Line(cash, wallet, 1_234)],
                 description="=HYPERLINK(\"http://example.org\")")  # fmt: skip
    today = timezone.localdate().isoformat()

    response = page(client, ann, "/dashboard/statement/", {"start": today, "end": today, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="wallet-statement-{today}-{today}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["effective_at", "kind", "description", "amount_cents", "currency", "balance_cents", "journal",
                       "loan"]  # fmt: skip
    assert [row[1:6] for row in rows[1:]] == [
        ["deposit", "", "100000", "USD", "100000"],
        ["deposit", '\'=HYPERLINK("http://example.org")', "1234", "USD", "101234"],
    ]


def test_statement_csv_of_a_lender_without_a_wallet_is_the_header_alone(client):
    response = page(client, LenderFactory(), "/dashboard/statement/", {"format": "csv"})

    assert response.status_code == 200
    assert (
        response.content.decode().strip()
        == "effective_at,kind,description,amount_cents,currency,balance_cents,journal,loan"
    )


def test_statement_runs_as_many_queries_for_five_lines_as_for_one(client, ann):
    wallet = lender_wallet(user=ann, currency="USD")
    cash = platform_account(AccountType.PROCESSOR_CASH, "USD")
    client.force_login(ann)
    one = queries_for(client, "/dashboard/statement/")
    for n in range(4):
        journal_post(idempotency_key=f"more-{n}", kind="deposit", lines=[Line(cash, wallet, 100)])

    assert len(client.get("/dashboard/statement/").context["page"].object_list) == 5
    assert queries_for(client, "/dashboard/statement/") == one


# --- auto-lending -------------------------------------------------------------------------------

VALID = {
    "enabled": "on",
    "sectors": ["agriculture", "retail"],
    "countries": "ug, KE",
    "allow_group_loans": "on",
    "max_partner_default_percent": "5",
    "min_partner_rating": "",
    "max_term_months": "24",
    "max_per_loan": "50",
    "max_per_partner": "",
    "max_per_country": "1,000",
    "max_per_sector": "",
    "idle_days": "0",
}

# A dry run's criteria: a default-rate limit would leave out the fixtures' partner, which has no rates yet.
TRY = {**VALID, "max_partner_default_percent": ""}


@pytest.fixture
def open_today(apply, officer):
    """A loan fundraising from today, so today's dry run can choose it."""

    def make(**overrides):
        today = timezone.localdate()
        loan = apply(**overrides)
        loan_submit(loan=loan, actor=officer, on=today)
        loan_approve(loan=loan, actor=officer, on=today)
        return loan_publish(loan=loan, actor=officer, on=today)

    return make


def test_auto_lending_page_shows_the_defaults_and_creates_nothing(client, ann):
    response = page(client, ann, "/dashboard/auto-lending/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Auto-lending</h1>" in content
    assert "Auto-lending is <strong>off</strong>" in content
    assert '<label for="id_max_per_loan">Most per loan (USD):</label>' in content
    assert 'value="25.00"' in content
    assert '<button type="submit" name="action" value="dry_run" class="secondary">Dry run</button>' in content
    assert not AutoLendingSettings.objects.exists()


def test_saving_auto_lending_settings_stores_them_and_says_so(client, ann):
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**VALID, "action": "save"}, follow=True)

    assert response.redirect_chain == [("/dashboard/auto-lending/", 302)]
    assert "Your auto-lending settings are saved." in response.content.decode()
    row = AutoLendingSettings.objects.get(lender=ann)
    assert row.enabled is True
    assert row.sectors == ["agriculture", "retail"]
    assert row.countries == ["UG", "KE"]
    assert str(row.max_partner_default_rate) == "0.050000"
    assert row.max_term_months == 24
    assert row.max_per_loan_cents == 5_000
    assert row.max_per_country_cents == 100_000
    assert row.max_per_partner_cents is None
    assert row.idle_days == 0
    again = client.get("/dashboard/auto-lending/").content.decode()
    assert "Auto-lending is <strong>on</strong>" in again
    assert 'value="ug, KE"' not in again
    assert 'value="UG, KE"' in again


def test_saving_changes_existing_settings_and_can_turn_auto_lending_off(client, ann):
    AutoLendingSettings.objects.create(lender=ann, enabled=True, sectors=["health"])
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**VALID, "enabled": "", "sectors": [], "action": "save"})

    assert response.status_code == 302
    row = AutoLendingSettings.objects.get(lender=ann)
    assert (row.enabled, row.sectors) == (False, [])


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"max_per_loan": "30"}, "max_per_loan", "Choose a multiple of $25.00."),
        ({"max_per_loan": "ten"}, "max_per_loan", "Enter an amount in USD, such as 50 or 50.00."),
        ({"max_per_loan": ""}, "max_per_loan", "This field is required."),
        ({"countries": "Kenya, UG"}, "countries", "Use two-letter country codes such as KE; not: KENYA."),
        ({"idle_days": "-1"}, "idle_days", "Ensure this value is greater than or equal to 0."),
        ({"max_per_sector": "10"}, "max_per_sector", "Must be a whole number from 2500"),
        ({"max_partner_default_percent": "150"}, "max_partner_default_percent", "less than or equal to 100"),
        ({"sectors": ["space"]}, "sectors", "Select a valid choice. space is not one of the available choices."),
        ({"min_partner_rating": "4.25"}, "min_partner_rating", "Ensure that there are no more than 1 decimal place."),
    ],
)
def test_bad_settings_come_back_with_the_message_next_to_the_field_and_nothing_saved(client, ann, change, field,
                                                                                     message):  # fmt: skip
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**VALID, **change, "action": "save"})

    assert response.status_code == 400
    content = response.content.decode()
    assert f'id="id_{field}_error"' in content
    error_list = content.split(f'id="id_{field}_error">', 1)[1].split("</ul>", 1)[0]
    assert message in error_list
    assert "Nothing was saved." in content
    assert not AutoLendingSettings.objects.exists()


def test_bad_settings_leave_saved_ones_untouched(client, ann):
    AutoLendingSettings.objects.create(lender=ann, enabled=False, max_per_loan_cents=7_500)
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**VALID, "max_per_loan": "30", "action": "save"})

    assert response.status_code == 400
    row = AutoLendingSettings.objects.get(lender=ann)
    assert (row.enabled, row.max_per_loan_cents) == (False, 7_500)


def test_dry_run_lists_the_loans_it_would_choose_and_why_and_writes_nothing(client, ann, open_today):
    loan = open_today(purpose="Buy a dairy cow", amount_cents=60_000)
    open_today(purpose="A taxi", amount_cents=60_000, sector="transportation")  # not a chosen sector
    journals, shares = Journal.objects.count(), Share.objects.count()
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**TRY, "enabled": "", "action": "dry_run"})

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="dry-run"' in content
    assert "Auto-lending would lend to 1 loan(s) once you turn auto-lending on." in content
    assert f'<a href="/loans/{loan.pk}/">#{loan.pk} Buy a dairy cow</a>' in content
    assert "<li>sector agriculture</li>" in content
    assert "<li>country UG</li>" in content
    assert "$600.00 still needed" in content
    assert "A taxi" not in content
    assert "Nothing was lent and nothing was saved." in content
    assert (Journal.objects.count(), Share.objects.count()) == (journals, shares)
    assert not AutoLendingSettings.objects.exists()
    assert not AutoLendingLog.objects.exists()


def test_dry_run_says_why_nothing_would_be_lent(client, open_today):
    poor = LenderFactory()
    open_today()
    client.force_login(poor)

    response = client.post("/dashboard/auto-lending/", {**VALID, "action": "dry_run"})

    assert response.status_code == 200
    assert "Nothing to lend: your wallet holds less than one share ($25.00)." in response.content.decode()


def test_dry_run_with_bad_settings_comes_back_with_the_messages(client, ann, open_today):
    open_today()
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**VALID, "max_per_loan": "1", "action": "dry_run"})

    assert response.status_code == 400
    assert 'data-testid="dry-run"' not in response.content.decode()
    assert "Choose a multiple of $25.00." in response.content.decode()


def test_dry_run_runs_as_many_queries_for_five_loans_as_for_one(client, ann, open_today):
    open_today(amount_cents=10_000)
    client.force_login(ann)
    data = {**TRY, "action": "dry_run"}

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/dashboard/auto-lending/", data)
        assert response.status_code == 200
        return len(queries), len(response.context["dry_run"]["rows"])

    one, rows = count()
    for _ in range(4):
        open_today(amount_cents=10_000)
    five, more_rows = count()

    assert (rows, more_rows) == (1, 5)
    assert five == one


def test_auto_lending_form_needs_the_csrf_token(ann):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)

    response = client.post("/dashboard/auto-lending/", {**VALID, "action": "save"})

    assert response.status_code == 403
    assert not AutoLendingSettings.objects.exists()
