"""The admin shows endpoints (never their secret), events and the delivery log; staff may pause an endpoint."""

from __future__ import annotations

import pytest

from accounts.models import User
from lending.webhooks.outbox import webhook_events_collect
from tests.loans import buy

pytestmark = pytest.mark.django_db


def test_the_admin_lists_endpoints_events_and_deliveries_without_secrets(client, endpoint, listed, make_lenders):
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    (pk,) = webhook_events_collect().deliveries
    client.force_login(User.objects.create_superuser(email="root@example.org", password="admin-ledger-42"))

    pages = [
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        "/admin/webhooks/webhookevent/",
        "/admin/webhooks/webhookdelivery/",
        f"/admin/webhooks/webhookdelivery/{pk}/change/",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert endpoint.secret not in response.content.decode(), page
    assert client.get("/admin/webhooks/webhookendpoint/add/").status_code == 403


def test_staff_may_pause_an_endpoint_in_the_admin_and_nothing_else_changes(client, endpoint):
    client.force_login(User.objects.create_superuser(email="root@example.org", password="admin-ledger-42"))

    response = client.post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
                           {"url": "http://10.0.0.1/", "_save": "Save"})  # fmt: skip

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.url.startswith("http://127.0.0.1:")) == (False, True)
