"""Payment fixtures: a real local Stripe server whose webhooks reach a live test server, tasks run inline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from config.celery_app import app as celery_app
from lending.payments import client
from tests.stripe_server import WEBHOOK_SECRET, LocalStripe


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


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until `check()` is truthy: webhooks arrive about a second after the action."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)
