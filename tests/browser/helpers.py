"""Steps a person takes on the site, for the journeys to string together.

Each step finds things the way a person (or a screen reader) does: by label, button text, link
text and heading, with `data-testid` only where the text alone is ambiguous. Pass `shot` (the
fixture) to save a screenshot at each step of the helper; the journeys then read as a picture book.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

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


def login(page: Page, email: str, password: str = PASSWORD, *, shot: Shot | None = None) -> None:
    """Log in through the login page and wait until the site greets the user."""
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    _shoot(shot, page, "login filled in")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("navigation")).to_contain_text(email)
    _shoot(shot, page, "logged in")


def logout(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()


def open_wallet(page: Page, *, shot: Shot | None = None) -> None:
    """Go to the wallet through the navigation, as a person would."""
    page.get_by_role("navigation").get_by_role("link", name="Wallet").click()
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
