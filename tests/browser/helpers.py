"""Steps a person takes on the site, for the journeys to string together.

Each step finds things the way a person (or a screen reader) does: by label, button text, link
text and heading, with `data-testid` only where the text alone is ambiguous. Pass `shot` (the
fixture) to save a screenshot at each step of the helper; the journeys then read as a picture book.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

PASSWORD = "correct-horse-battery"  # tests/factories.py gives every user this password
TEST_CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "34", "cvc": "123"}
DECLINED_CARD = {**TEST_CARD, "number": "4000 0000 0000 0341"}
WEBHOOK_WAIT_MS = 20_000  # the local Stripe server's event arrives about a second after the card
PHONE = {"width": 375, "height": 812}  # `new_page("phone", viewport=PHONE)`: a small phone, portrait

Shot = Callable[[Page, str], Path]


def _shoot(shot: Shot | None, page: Page, name: str) -> None:
    if shot is not None:
        shot(page, name)


def wait_for_text(page: Page, text: str | re.Pattern[str], timeout: float | None = None) -> None:
    """Wait until the page's main content says `text` (pages that poll reload themselves meanwhile)."""
    expect(page.locator("main")).to_contain_text(text, timeout=timeout)


def expect_money(page: Page, testid: str, amount: str, timeout: float | None = None) -> None:
    """The figure marked `data-testid=testid` reads exactly `amount` (e.g. "$50.00")."""
    expect(page.get_by_test_id(testid)).to_have_text(amount, timeout=timeout)


def expect_fits_width(page: Page) -> None:
    """Nothing on the page sticks out sideways (the check that matters at phone width)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the {page.viewport_size} screen"


def site_nav(page: Page) -> Locator:
    """The site's own navigation in the header (pages such as the dashboard and console add their own <nav>)."""
    return page.locator("header").get_by_role("navigation")


def login(page: Page, email: str, password: str = PASSWORD, *, shot: Shot | None = None) -> None:
    """Log in through the login page and wait until the site greets the user."""
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    _shoot(shot, page, "login filled in")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(site_nav(page)).to_contain_text(email)
    _shoot(shot, page, "logged in")


def logout(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(site_nav(page).get_by_role("link", name="Log in")).to_be_visible()


def open_wallet(page: Page, *, shot: Shot | None = None) -> None:
    """Go to the wallet through the navigation, as a person would."""
    site_nav(page).get_by_role("link", name="Wallet").click()
    expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
    _shoot(shot, page, "wallet")


def pay_by_card(page: Page, card: dict[str, str] = TEST_CARD, *, shot: Shot | None = None) -> None:
    """On a payment's page with the local Stripe server's test-card form: type the card in and pay."""
    page.get_by_label("Card number").fill(card["number"])
    page.get_by_label("Expiry month").fill(card["exp_month"])
    page.get_by_label("Expiry year").fill(card["exp_year"])
    page.get_by_label("CVC").fill(card["cvc"])
    _shoot(shot, page, "card filled in")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def wait_for_payment(page: Page, status: str = "Succeeded", *, shot: Shot | None = None) -> None:
    """Wait on a payment's page until Stripe's event has come back and the page shows `status`."""
    expect(page.get_by_test_id("status")).to_have_text(status, timeout=WEBHOOK_WAIT_MS)
    _shoot(shot, page, f"payment {status}")


def deposit(page: Page, amount: str, card: dict[str, str] = TEST_CARD, *, shot: Shot | None = None) -> None:
    """Add `amount` (e.g. "50") to the wallet by card, from wherever the page is, until Stripe confirms it.

    Ends on the payment's page showing "Succeeded" (the declined card's "Failed" when `card` is
    DECLINED_CARD).
    """
    page.goto("/wallet/")
    page.get_by_role("link", name="Add money").click()
    expect(page.get_by_role("heading", name="Add money to your wallet")).to_be_visible()
    page.get_by_label(re.compile(r"^Amount")).fill(amount)
    _shoot(shot, page, "deposit amount")
    page.get_by_role("button", name="Continue to card details").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Add \$[\d,.]+ to your wallet$"))).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Waiting for the card")
    _shoot(shot, page, "card form")
    pay_by_card(page, card, shot=None)
    wait_for_payment(page, "Failed" if card["number"] == DECLINED_CARD["number"] else "Succeeded", shot=shot)


# --- lenders: sign up, find a loan, lend ------------------------------------------------------


def signup_lender(page: Page, *, name: str, email: str, password: str, country: str, shot: Shot | None = None) -> None:
    """Create a lender account on the sign-up page (country by its name, e.g. "Kenya"); ends on the dashboard."""
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", name="Create your lender account")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Country you lend from").select_option(label=country)
    _shoot(shot, page, "sign-up filled in")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
    expect(site_nav(page)).to_contain_text(email)
    _shoot(shot, page, "signed up")


def lend(page: Page, borrower: str, amount: str = "$25.00", *, shot: Shot | None = None) -> None:
    """Lend `amount` to `borrower` from their card on the list or their loan's page, and wait for the thanks.

    The card (or the loan page) is the <article> named by the borrower's name; the form answers in place.
    """
    loan = page.get_by_role("article", name=borrower, exact=True)
    loan.get_by_label(f"Amount to lend to {borrower}").select_option(label=amount)
    button = loan.get_by_role("button", name=f"Lend {amount}")
    expect(button).to_be_enabled()
    _shoot(shot, page, f"lend {amount} to {borrower}")
    button.click()
    expect(loan.get_by_role("status")).to_have_text(f"You lent {amount} to {borrower.rstrip('.')}. Thank you!")
    _shoot(shot, page, f"lent {amount} to {borrower}")


def chart_figures(page: Page, testid: str) -> dict[str, str]:
    """The figures under a dashboard chart (`data-testid=testid`), read from its "as a table" fallback.

    Opens the table as a person would (it is folded under the chart) and returns {row name: amount};
    an empty chart ("Nothing to show yet.") gives {}.
    """
    chart = page.get_by_test_id(testid)
    details = chart.locator("details")
    if details.get_attribute("open") is None:
        chart.get_by_text("Show the figures as a table").click()
    table = chart.get_by_role("table")
    expect(table).to_be_visible()
    rows: list[list[str]] = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))"
    )
    return {row[0]: row[1] for row in rows if len(row) == 2}


# --- borrowers: sign up and apply -------------------------------------------------------------


def signup_borrower(
    page: Page, *, email: str, password: str, name: str, country: str, town: str = "", shot: Shot | None = None
) -> None:
    """Step 1 of the application for a new visitor: a borrower account; ends on "Your business"."""
    page.goto("/apply/signup/")
    expect(page.get_by_role("heading", name="Apply for a loan")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Country").select_option(label=country)
    page.get_by_label("Town or village").fill(town)
    _shoot(shot, page, "borrower sign-up filled in")
    page.get_by_role("button", name="Create account and continue").click()
    expect(page).to_have_url(re.compile(r"/apply/business/$"))
    expect(page.get_by_role("heading", name="Your business")).to_be_visible()
    _shoot(shot, page, "borrower signed up")


def schedule_rows(page: Page) -> Locator:
    """The rows of the live repayment schedule preview on the loan step (and the review)."""
    return page.get_by_test_id("schedule").locator("tbody tr")


# --- staff at the console ---------------------------------------------------------------------


def console_approve_and_list(page: Page, loan_id: int, *, shot: Shot | None = None) -> None:
    """From the review queue: approve the submitted loan, then list it for lenders."""
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    row = page.get_by_test_id(f"loan-row-{loan_id}")
    expect(row).to_be_visible()
    _shoot(shot, page, f"queue with loan {loan_id} submitted")
    row.get_by_role("button", name=f"Approve loan {loan_id}").click()
    wait_for_text(page, f"Loan {loan_id} approved.")
    _shoot(shot, page, f"loan {loan_id} approved")
    page.get_by_role("button", name=f"List loan {loan_id} for lenders").click()
    wait_for_text(page, f"Loan {loan_id} is listed for lenders until")
    _shoot(shot, page, f"loan {loan_id} listed")


def console_disburse(page: Page, loan_id: int, *, shot: Shot | None = None) -> None:
    """From the review queue: pay out a funded loan today, the first repayment one period later."""
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    page.get_by_text(f"Disburse loan {loan_id}…").click()
    _shoot(shot, page, f"disburse loan {loan_id}")
    page.get_by_role("button", name=f"Disburse loan {loan_id}", exact=True).click()
    wait_for_text(page, f"Loan {loan_id} paid out:")
    _shoot(shot, page, f"loan {loan_id} paid out")


def console_post_batch(page: Page, csv_file: Path, rows: int, *, shot: Shot | None = None) -> None:
    """Upload a repayment batch (CSV), check its preview says every row is fine, and apply it."""
    page.goto("/console/repayments/batch/")
    expect(page.get_by_role("heading", name="Post repayments")).to_be_visible()
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv_file))
    _shoot(shot, page, "batch file chosen")
    page.get_by_role("button", name="Preview batch").click()
    preview = page.get_by_test_id("batch-preview")
    expect(preview).to_contain_text(f"All {rows} row{'s' if rows != 1 else ''} can be recorded")
    _shoot(shot, page, "batch preview")
    page.get_by_role("button", name=f"Apply {rows} repayment{'s' if rows != 1 else ''}").click()
    expect(page.get_by_test_id("batch-applied")).to_contain_text(f"Recorded {rows} repayment")
    _shoot(shot, page, "batch applied")
