"""Shared fixtures: users, ledger accounts, and the PostgreSQL-only marker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.result import allow_join_result
from django.db import connection
from django.test import override_settings
from hypothesis import settings as hypothesis_settings

from accounts.models import User
from config.celery_app import app as celery_app
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import lender_wallet, platform_account
from lending.payments import client
from tests.factories import LenderFactory
from tests.stripe_server import WEBHOOK_SECRET, LocalStripe

# Loan fixtures (staff, partner, officer, borrower, make_lenders, listed, disbursed, ...) for every suite.
pytest_plugins = ["tests.loans"]

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


@pytest.fixture(autouse=True)
def joins_allowed() -> Iterator[None]:
    """Each test may wait on a task's result: the test process is not a task.

    Celery refuses `result.get()` while a process-wide flag says a task is running, and sets that
    flag around every eager task. Eager tasks run both in the test's thread and in the live
    server's (Stripe's webhooks); two overlapping ones can restore each other's value and leave the
    flag set, so a later test's `.get()` on a real worker failed with "Never call result.get()
    within a task!". Each test starts with the flag clear and puts back what it found.
    """
    with allow_join_result():
        yield


@pytest.fixture
def lender(db: None) -> User:
    return LenderFactory()


@pytest.fixture
def cash(db: None) -> LedgerAccount:
    return platform_account(AccountType.PROCESSOR_CASH, "USD")


@pytest.fixture
def wallet(lender: User) -> LedgerAccount:
    return lender_wallet(user=lender, currency="USD")


# --- Stripe: a real local Stripe server (localstripe) whose webhooks reach a live test server -----


@pytest.fixture(scope="session")
def stripe_server(live_server: Any) -> Iterator[LocalStripe]:
    server = LocalStripe(f"{live_server.url}/webhooks/stripe/")
    yield server
    server.stop()


@pytest.fixture
def stripe_settings(stripe_server: LocalStripe) -> Iterator[LocalStripe]:
    """Point the app at the local server; Celery tasks run inline (in the live server's thread for webhooks)."""
    stripe_server.flush()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    client.use_http_client(None)
    with override_settings(
        STRIPE_API_BASE=stripe_server.base, STRIPE_SECRET_KEY="sk_test_local", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ):
        yield stripe_server
    celery_app.conf.task_always_eager = eager
