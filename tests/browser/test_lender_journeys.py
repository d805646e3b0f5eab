"""A lender's journeys in a real browser: log in, add money by card against the local Stripe server.

The money is checked twice: on the page (what the person sees) and in the ledger (what is true).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from lending.ledger.reconcile import reconcile
from lending.payments.models import CardPayment
from tests.browser.helpers import (
    DECLINED_CARD,
    PHONE,
    Shot,
    deposit,
    expect_fits_width,
    expect_money,
    login,
    open_wallet,
    wait_for_text,
)
from tests.factories import LenderFactory
from tests.loans import fund_wallet, wallet_cents
from tests.stripe_server import LocalStripe

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lender_logs_in_and_adds_50_dollars_with_a_test_card(
    page: Page, shot: Shot, stripe_settings: LocalStripe
) -> None:
    ann = LenderFactory(email="ann@example.org", full_name="Ann Lee")

    login(page, ann.email, shot=shot)
    open_wallet(page)
    expect_money(page, "balance", "$0.00")
    shot(page, "empty wallet")

    deposit(page, "50", shot=shot)

    wait_for_text(page, "$50.00 is in your wallet")
    page.get_by_role("link", name="Go to your wallet").click()
    expect_money(page, "balance", "$50.00")
    expect_money(page, "withdrawable", "$50.00")
    expect(page.get_by_role("row").filter(has_text="Succeeded")).to_contain_text("$50.00")
    shot(page, "wallet with 50 dollars")
    assert wallet_cents(ann) == 5_000
    assert CardPayment.objects.get().status == CardPayment.Status.SUCCEEDED
    assert reconcile().ok


def test_a_declined_card_is_explained_and_the_wallet_stays_empty(
    page: Page, shot: Shot, stripe_settings: LocalStripe
) -> None:
    bo = LenderFactory(email="bo@example.org")
    login(page, bo.email)

    deposit(page, "30", DECLINED_CARD, shot=shot)

    wait_for_text(page, "Your card was declined.")
    expect(page.get_by_role("button", name="Try another card")).to_be_visible()
    open_wallet(page, shot=shot)
    expect_money(page, "balance", "$0.00")
    assert wallet_cents(bo) == 0


def test_the_wallet_fits_a_phone_screen(new_page: Callable[..., Page], shot: Shot) -> None:
    cy = LenderFactory(email="cy@example.org")
    fund_wallet(cy, 5_000)
    phone = new_page("phone", viewport=PHONE)

    login(phone, cy.email)
    open_wallet(phone)
    expect_money(phone, "balance", "$50.00")
    shot(phone, "wallet on a phone")

    expect_fits_width(phone)
