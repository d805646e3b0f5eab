"""Webhook fixtures: settings for a local receiver (http, 127.0.0.1, no waiting between attempts), Celery
inline, a real receiver, and an endpoint of the `partner` fixture's pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.models import User
from config.celery_app import app as celery_app
from lending.webhooks.models import EventType, WebhookEndpoint
from lending.webhooks.services import webhook_endpoint_create
from tests.lending.webhooks.receiver import Receiver

ALL_TYPES = list(EventType.values)


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0]
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    return settings


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run inline, retries included (a retry's countdown is not waited for)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def endpoint(partner, officer: User, receiver: Receiver) -> WebhookEndpoint:
    made, secret = webhook_endpoint_create(partner=partner, url=receiver.url, event_types=ALL_TYPES, actor=officer)
    receiver.secret = secret
    return made
