"""Money and dates are written as the reader's browser asks (Accept-Language); the words stay English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from lending.web.locale import LOCALES, locale_from_header
from tests.loans import fund_wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(lender):
    lender.date_joined = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    lender.save(update_fields=["date_joined"])
    fund_wallet(lender, 123_456)
    client = Client()
    client.force_login(lender)
    return lambda path, language: client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.parametrize(
    ("language", "money", "day"),
    [
        ("en-US,en;q=0.9", "$1,234.56", "November 27, 2026"),
        ("en-GB", "$1,234.56", "27 November 2026"),
        ("de-DE,de;q=0.9,en;q=0.5", "$1.234,56", "27. November 2026"),
        ("fr-FR", "$1\u202f234,56", "27 November 2026"),
        ("", "$1,234.56", "27 November 2026"),  # no preference: international English
        ("xx-YY", "$1,234.56", "27 November 2026"),  # one we do not know: the same
    ],
)
def test_money_and_dates_follow_the_browsers_locale(page, language, money, day):
    assert money in page("/wallet/", language)
    assert day in page("/accounts/profile/", language)


def test_the_first_known_locale_of_the_header_wins_exact_tag_first_then_its_language():
    assert locale_from_header("pt-BR,en-US;q=0.8") == "pt"
    assert locale_from_header("en-US;q=0.5,de;q=0.9") == "de"
    assert locale_from_header("en-IN") == "en-in"
    assert set(LOCALES) >= {"en", "en-us", "en-gb", "fr", "de", "es", "sw"}
