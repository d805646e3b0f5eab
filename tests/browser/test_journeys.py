"""The two journeys issue 7 asks for, in a real browser, with a screenshot at every step.

1. A lender signs up, adds $50 by test card against the local Stripe server, finds a loan with the
   list's filters, lends $25 in place, and sees the wallet go down, the portfolio list the loan and
   the charts change (once at desktop width, once on a 375px phone where nothing may stick out).
2. A borrower applies (the schedule preview follows the terms as they are typed), staff approve and
   list the loan, it shows in the public list, two lenders fund it, staff pay it out and post a
   repayment batch by CSV, and the lender's dashboard and the borrower's page show the repayment.

Loans, people and wallet credit that are not the point of a journey are made through the services
before the browser opens a page; everything the journey is about is done through the pages. The
money is checked on the page (what people see) and in the ledger (what is true).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import dateformat, timezone
from playwright.sync_api import Page, expect

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, User
from lending.ledger.reconcile import reconcile
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.models import LenderPosition, Loan
from tests.browser.helpers import (
    PASSWORD,
    PHONE,
    Shot,
    chart_figures,
    console_approve_and_list,
    console_disburse,
    console_post_batch,
    deposit,
    expect_fits_width,
    expect_money,
    lend,
    login,
    schedule_rows,
    signup_borrower,
    signup_lender,
    site_nav,
    wait_for_text,
)
from tests.loans import fund_wallet, wallet_cents
from tests.stripe_server import LocalStripe

pytestmark = pytest.mark.django_db(transaction=True)

STAFF_PASSWORD = "river-stone-ledger-42"  # tests/loans.py's `staff`
LENDER_PASSWORD = "plum-orchard-ledger-7"
BORROWER_PASSWORD = "mango-market-ledger-9"


def _listed_today(officer: User, borrower: BorrowerProfile, **fields: object) -> Loan:
    """A loan the partner applied for, approved and listed today, so it is raising money while the test runs."""
    today = timezone.localdate()
    terms: dict[str, object] = {"currency": "USD", "repayments": 6, **fields}
    loan = loan_apply(actor=officer, borrower=borrower, **terms)  # type: ignore[arg-type]
    loan_submit(loan=loan, actor=officer, on=today)
    loan_approve(loan=loan, actor=officer, on=today)
    return loan_publish(loan=loan, actor=officer, on=today)


# --- 1. a lender ------------------------------------------------------------------------------


@pytest.fixture
def two_loans(officer: User, borrower: BorrowerProfile, partner: FieldPartner) -> dict[str, Loan]:
    """Grace's shop (retail) and Juma's goats (agriculture), both raising money: the lender must pick one."""
    juma = people.borrower_create(display_name="Juma O.", country="UG", partner=partner)
    return {
        "grace": _listed_today(officer, borrower, amount_cents=50_000, sector="retail", purpose="Stock for her shop"),
        "juma": _listed_today(officer, juma, amount_cents=40_000, sector="agriculture", purpose="Two more goats"),
    }


def _lender_journey(page: Page, shot: Shot, loans: dict[str, Loan], *, phone: bool) -> None:
    """Sign up, add $50, find Grace's loan by its sector, lend $25, and look at the dashboard and wallet."""

    def check(on: Page, name: str) -> Path:
        """Every step's screenshot; on a phone, also the check that nothing sticks out sideways."""
        path = shot(on, name)
        if phone:
            expect_fits_width(on)
        return path

    grace = loans["grace"]
    signup_lender(
        page, name="Dana Diaz", email="dana@example.org", password=LENDER_PASSWORD, country="Kenya", shot=check
    )
    expect_money(page, "wallet-available", "$0.00")
    expect(page.get_by_test_id("portfolio-count")).to_have_text("0 loans.")
    status_before, sector_before = chart_figures(page, "chart-status"), chart_figures(page, "chart-sector")
    assert status_before == {}, status_before
    assert sector_before == {}, sector_before
    check(page, "new lender's empty dashboard")

    deposit(page, "50", shot=check)
    wait_for_text(page, "$50.00 is in your wallet")
    check(page, "deposit succeeded")

    site_nav(page).get_by_role("link", name="Lend").click()
    expect(page.get_by_role("heading", name="Lend to a borrower")).to_be_visible()
    expect_money(page, "wallet-balance", "$50.00")
    expect(page.get_by_test_id("result-count")).to_have_text("2 loans found")
    check(page, "loans raising money")

    filters = page.get_by_role("form", name="Find a loan")
    more = filters.locator("details")
    if more.get_attribute("open") is None:  # phones fold the filters under the sort
        filters.get_by_text("More filters").click()
    filters.get_by_label("Retail").check()
    filters.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"sector=retail"))
    expect(page.get_by_test_id("result-count")).to_have_text("1 loan found")
    expect(page.get_by_role("article", name="Grace N.")).to_contain_text("Stock for her shop")
    expect(page.get_by_role("article", name="Juma O.")).to_have_count(0)
    check(page, "retail loans only")

    lend(page, "Grace N.", "$25.00", shot=check)
    expect_money(page, "wallet-balance", "$25.00")  # the page's wallet follows without a reload
    expect(page.get_by_test_id(f"loan-card-{grace.pk}").get_by_test_id("amount-left")).to_have_text("$475.00 to go")
    check(page, "lent to Grace")

    site_nav(page).get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
    expect_money(page, "wallet-available", "$25.00")
    expect_money(page, "total-lent", "$25.00")
    expect(page.get_by_test_id("portfolio-count")).to_have_text("1 loan.")
    row = page.locator("#portfolio").get_by_role("row").filter(has_text="Grace N.")
    expect(row).to_contain_text(f"#{grace.pk} Stock for her shop")
    expect(row).to_contain_text("Fundraising")
    expect(row).to_contain_text("$25.00")
    expect(page.get_by_test_id("activity")).to_contain_text("-$25.00")
    status_after, sector_after = chart_figures(page, "chart-status"), chart_figures(page, "chart-sector")
    assert status_after == {"Fundraising": "$25.00 (100%)"}, status_after
    assert sector_after == {"Retail": "$25.00"}, sector_after
    expect(page.get_by_test_id("chart-sector").get_by_role("img")).to_have_accessible_name(
        re.compile(r"the largest is Retail, \$25\.00")
    )
    page.locator("#portfolio").scroll_into_view_if_needed()
    check(page, "dashboard after lending")

    site_nav(page).get_by_role("link", name="Wallet").click()
    expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
    expect_money(page, "balance", "$25.00")
    check(page, "wallet after lending")

    dana = User.objects.get(email="dana@example.org")
    assert wallet_cents(dana) == 2_500
    assert LenderPosition.objects.get(lender=dana).loan_id == grace.pk
    assert reconcile().ok


def test_a_lender_signs_up_adds_50_dollars_and_lends_25_to_a_loan_they_found(
    page: Page, shot: Shot, stripe_settings: LocalStripe, two_loans: dict[str, Loan]
) -> None:
    _lender_journey(page, shot, two_loans, phone=False)


def test_the_lender_journey_fits_a_phone_screen(
    new_page: Callable[..., Page], shot: Shot, stripe_settings: LocalStripe, two_loans: dict[str, Loan]
) -> None:
    _lender_journey(new_page("phone", viewport=PHONE), shot, two_loans, phone=True)


# --- 2. a borrower, staff and lenders ---------------------------------------------------------


def _apply(page: Page, shot: Shot) -> int:
    """The four steps, the schedule preview following the terms as they are typed; returns the loan's number."""
    signup_borrower(
        page, email="amina@example.org", password=BORROWER_PASSWORD, name="Amina W.", country="Kenya", town="Kisumu",
        shot=shot,
    )  # fmt: skip
    steps = page.get_by_role("navigation", name="Application steps")
    steps.get_by_role("link", name="About you").click()
    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Amina W.")
    page.get_by_label("Town or village").fill("Kisumu, Nyalenda")
    shot(page, "about you")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Your business")).to_be_visible()
    page.get_by_label("Sector").select_option(label="Food")
    page.get_by_label("What is the loan for?").fill("A second fridge, to sell cold drinks all day")
    shot(page, "your business")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="The loan")).to_be_visible()
    expect(page.get_by_test_id("schedule")).to_have_count(0)
    page.get_by_label("Amount (USD)").fill("50")
    repayments = page.get_by_label("Number of repayments")
    repayments.fill("4")
    expect(schedule_rows(page)).to_have_count(4)  # no button pressed: the preview follows the typing
    expect(page.get_by_test_id("schedule").locator("caption")).to_have_text("4 repayments, $50.00 in all")
    shot(page, "preview of 4 monthly repayments")
    monthly_second = schedule_rows(page).nth(1).locator("td").nth(1).inner_text()

    page.get_by_label("Every few weeks").check()
    expect(page.get_by_label("Weeks between repayments")).to_be_visible()
    expect(schedule_rows(page).nth(1).locator("td").nth(1)).not_to_have_text(monthly_second)
    shot(page, "preview every 2 weeks")
    page.get_by_label("Every month").check()
    expect(page.get_by_label("Weeks between repayments")).to_be_hidden()
    expect(schedule_rows(page).nth(1).locator("td").nth(1)).to_have_text(monthly_second)

    repayments.fill("2")
    expect(schedule_rows(page)).to_have_count(2)
    expect(page.get_by_test_id("schedule").locator("caption")).to_have_text("2 repayments, $50.00 in all")
    expect(schedule_rows(page).nth(0)).to_contain_text("$25.00")
    shot(page, "preview of 2 monthly repayments")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    expect(page.get_by_test_id("review-amount")).to_have_text("$50.00")
    expect(schedule_rows(page)).to_have_count(2)
    page.get_by_label(re.compile(r"^What I wrote is true")).check()
    shot(page, "review")
    page.get_by_role("button", name="Submit application").click()

    expect(page).to_have_url(re.compile(r"/my-loan/\d+/$"))
    wait_for_text(page, "Your application is submitted.")
    expect(page.get_by_test_id("loan-status")).to_have_text("Submitted")
    shot(page, "application submitted")
    found = re.search(r"/my-loan/(\d+)/$", page.url)
    assert found is not None
    return int(found.group(1))


def test_a_borrower_applies_staff_approve_lenders_fund_and_a_repayment_batch_reaches_the_lender(
    new_page: Callable[..., Page], shot: Shot, staff: User, tmp_path: Path
) -> None:
    ann = people.lender_register(email="ann@example.org", password=PASSWORD, full_name="Ann Lee")
    bo = people.lender_register(email="bo@example.org", password=PASSWORD, full_name="Bo Berg")
    fund_wallet(ann, 5_000)
    fund_wallet(bo, 5_000)

    borrower = new_page("borrower")
    loan_id = _apply(borrower, shot)
    loan = Loan.objects.get(pk=loan_id)
    assert (loan.borrower.display_name, loan.amount_cents, loan.repayments, loan.partner_id) == (
        "Amina W.", 5_000, 2, None,
    )  # fmt: skip

    desk = new_page("staff")
    login(desk, staff.email, STAFF_PASSWORD)
    console_approve_and_list(desk, loan_id, shot=shot)

    visitor = new_page("visitor")
    visitor.goto("/loans/")
    card = visitor.get_by_role("article", name="Amina W.")
    expect(card).to_contain_text("A second fridge, to sell cold drinks all day")
    expect(card.get_by_test_id("amount-left")).to_have_text("$50.00 to go")
    expect(card.get_by_role("link", name="Log in to lend")).to_be_visible()
    shot(visitor, "listed for lenders")

    pages: dict[str, Page] = {}
    for lender, left in ((ann, "$25.00 to go"), (bo, "$0.00 to go")):
        page = pages[lender.email] = new_page(lender.email.split("@")[0])
        login(page, lender.email)
        page.goto("/loans/")
        page.get_by_role("article", name="Amina W.").get_by_role("link", name="Amina W.").click()
        expect(page.get_by_role("heading", level=1, name="Amina W.")).to_be_visible()
        lend(page, "Amina W.", "$25.00", shot=shot)
        expect(page.get_by_test_id("amount-left")).to_have_text(left)
    last = pages[bo.email]
    wait_for_text(last, "Fully funded. Thank you, lenders!")
    shot(last, "fully funded")

    borrower.reload()
    expect(borrower.get_by_test_id("loan-status")).to_have_text("Funded")
    shot(borrower, "borrower sees the loan funded")

    console_disburse(desk, loan_id, shot=shot)
    borrower.reload()
    expect(borrower.get_by_test_id("loan-status")).to_have_text("Paying back")
    expect(borrower.get_by_test_id("next-due")).to_contain_text("$25.00")
    shot(borrower, "borrower's loan paid out")

    lender_page = pages[ann.email]
    lender_page.goto("/dashboard/")
    expect_money(lender_page, "total-repaid", "$0.00")
    received_before = chart_figures(lender_page, "chart-received")
    assert len(received_before) == 12, received_before  # the last twelve months, nothing received yet
    assert set(received_before.values()) == {"$0.00"}, received_before

    today = timezone.localdate()
    batch = tmp_path / "repayments.csv"
    batch.write_text(f"loan,amount_cents,currency,received_on,reference\n{loan_id},2500,USD,{today},bank-{loan_id}-1\n")
    console_post_batch(desk, batch, rows=1, shot=shot)
    expect(desk.get_by_role("row").filter(has_text=f"Loan {loan_id}")).to_contain_text("$25.00")

    lender_page.reload()
    expect_money(lender_page, "total-repaid", "$12.50")
    expect_money(lender_page, "wallet-available", "$37.50")
    expect(lender_page.get_by_test_id("activity")).to_contain_text("+$12.50")
    row = lender_page.locator("#portfolio").get_by_role("row").filter(has_text="Amina W.")
    expect(row).to_contain_text("Paying back")
    expect(row).to_contain_text("$12.50")
    received_after = chart_figures(lender_page, "chart-received")
    month = dateformat.format(today, "F Y")  # as the chart names its months: "November 2026"
    assert received_after[month] == "$12.50", received_after
    assert {k: v for k, v in received_after.items() if k != month} == {
        k: v for k, v in received_before.items() if k != month
    }
    shot(lender_page, "lender's dashboard shows the repayment")

    borrower.reload()
    expect(borrower.get_by_role("region", name="Repayments received")).to_contain_text("$25.00")
    wait_for_text(borrower, "Repaid so far: $25.00; still to repay: $25.00.")
    schedule = borrower.get_by_role("table", name="Your repayment schedule").locator("tbody tr")
    expect(schedule.nth(0)).to_contain_text("✓ Paid")
    expect(schedule.nth(1)).to_contain_text("Upcoming")
    shot(borrower, "borrower's loan after the repayment")

    assert (wallet_cents(ann), wallet_cents(bo)) == (3_750, 3_750)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.PAYING_BACK
    assert reconcile().ok
