"""Shared fixtures: users, ledger accounts, and the PostgreSQL-only marker."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from accounts.models import User
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import lender_wallet, platform_account
from tests.factories import LenderFactory

# The machines are small and noisy: a slow example is not a failure. Seeds are printed on failure.
hypothesis_settings.register_profile("project", deadline=None, print_blob=True)
hypothesis_settings.load_profile("project")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need real row locks and triggers; on SQLite they are skipped, loudly."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI's second run does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def lender(db: None) -> User:
    return LenderFactory()


@pytest.fixture
def cash(db: None) -> LedgerAccount:
    return platform_account(AccountType.PROCESSOR_CASH, "USD")


@pytest.fixture
def wallet(lender: User) -> LedgerAccount:
    return lender_wallet(user=lender, currency="USD")
