"""/api/v1/webhooks/: a partner's staff register endpoints (the secret shown once), change, pause, remove and
rotate them, read the delivery log and resend a delivery; platform staff manage any partner's; everyone else
gets 404 for an endpoint or delivery and 403 for the list; a key needs webhooks:write; creating, rotating and
resending replay under their Idempotency-Key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as people
from config.celery_app import app as celery_app
from lending.api.keys import api_key_create
from lending.loans.disbursement import loan_disburse
from lending.loans.repayments import repayment_record
from lending.webhooks.delivery import webhook_delivery_attempt
from lending.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from lending.webhooks.outbox import webhook_events_collect
from lending.webhooks.services import webhook_endpoint_create, webhook_endpoint_update
from tests.factories import LenderFactory
from tests.lending.webhooks.receiver import Receiver
from tests.loans import START, buy

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhooks/endpoints/"


@pytest.fixture(autouse=True)
def local_urls(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0]
    settings.WEBHOOK_MAX_ATTEMPTS = 2


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def eager() -> Iterator[None]:
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def clerk(db):
    """Staff of another field partner."""
    other = people.field_partner_create(name="Lake Traders", country="KE")
    return people.partner_staff_add(partner=other, email="clerk@example.org", password="lake-side-ledger-42",
                                    full_name="Cleo Clerk").user  # fmt: skip


@pytest.fixture
def hook(partner, officer, receiver) -> WebhookEndpoint:
    made, secret = webhook_endpoint_create(partner=partner, url=receiver.url, event_types=["loan.funded",
                                           "loan.disbursed", "repayment.recorded"], actor=officer)  # fmt: skip
    receiver.secret = secret
    return made


def _client(user=None, key: str | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _create(client: APIClient, body: dict, key: str = "hook-0001"):
    return client.post(ENDPOINTS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _body(receiver: Receiver, **changes) -> dict:
    return {"url": receiver.url, "event_types": ["repayment.recorded", "loan.funded"], "description": "MIS", **changes}


# --- creating -------------------------------------------------------------------------------------------


def test_a_partners_key_registers_an_endpoint_and_sees_its_secret_once(officer, partner, receiver):
    _, key = api_key_create(user=officer, name="mis", scopes=["webhooks:write"])
    client = _client(key=key)

    response = _create(client, _body(receiver))

    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 40
    assert (body["id"], body["partner"], body["url"]) == (endpoint.pk, partner.pk, receiver.url)
    assert (body["event_types"], body["description"], body["active"]) == (["loan.funded", "repayment.recorded"],
                                                                          "MIS", True)  # fmt: skip
    assert endpoint.created_by == officer
    detail = client.get(f"{ENDPOINTS}{endpoint.pk}/").json()
    assert "secret" not in detail
    assert endpoint.secret not in str(client.get(ENDPOINTS).json())


def test_a_replay_creates_one_endpoint_and_another_body_under_the_key_is_a_409(officer, receiver):
    client = _client(officer)

    first = _create(client, _body(receiver))
    again = _create(client, _body(receiver))
    other = _create(client, _body(receiver, description="another"))

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert WebhookEndpoint.objects.count() == 1
    assert _create(client, _body(receiver), key="").status_code == 400  # the key is required


def test_platform_staff_register_an_endpoint_for_a_partner_they_name(staff, partner, receiver):
    response = _create(_client(staff), _body(receiver, partner=partner.pk))

    assert response.status_code == 201
    assert WebhookEndpoint.objects.get().partner == partner


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": ""}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://127.0.0.1/hooks"}, "url"),
        ({"url": "http://127.0.0.1/" + "x" * 500}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["loan.exploded"]}, "event_types.0"),
        ({"event_types": "loan.funded"}, "event_types"),
        ({"description": "x" * 201}, "description"),
        ({"partner": "one"}, "partner"),
        ({"partner": 10**30}, "partner"),
        ({"url": "http://127.0.0.1:99999/hooks"}, "url"),
    ],
)
def test_a_bad_endpoint_is_a_400_naming_the_field_and_creates_nothing(officer, receiver, change, field):
    response = _create(_client(officer), _body(receiver, **change))

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not WebhookEndpoint.objects.exists()


def test_outside_development_http_and_private_addresses_are_refused(officer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS, settings.DEBUG = False, False
    client = _client(officer)

    for n, url in enumerate(["http://93.184.215.14/hooks", "https://127.0.0.1/hooks", "https://169.254.169.254/"]):
        response = _create(client, {"url": url, "event_types": ["loan.funded"]}, key=f"hook-{n}")
        assert response.status_code == 400, url
        assert list(response.json()["error"]["fields"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_the_partner_must_be_the_callers_own_or_named_by_staff(officer, clerk, staff, receiver):
    theirs = clerk.partner_staff.partner_id

    for n, (client, change) in enumerate([(_client(officer), {"partner": theirs}), (_client(staff), {}),
                           (_client(staff), {"partner": 999_999})]):  # fmt: skip
        response = _create(client, _body(receiver, **change), key=f"hook-{n}")
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["partner"]
    assert not WebhookEndpoint.objects.exists()


def test_a_partner_has_at_most_the_configured_number_of_endpoints(officer, receiver, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_PARTNER = 2
    client = _client(officer)

    statuses = [_create(client, _body(receiver), key=f"hook-{n}").status_code for n in range(3)]

    assert statuses == [201, 201, 400]
    assert WebhookEndpoint.objects.count() == 2


def test_only_partner_staff_and_platform_staff_register_endpoints(officer, receiver):
    lender = LenderFactory()
    _, no_scope = api_key_create(user=officer, name="reader", scopes=["loans:read"])

    assert _create(_client(lender), _body(receiver)).status_code == 403
    assert _create(_client(), _body(receiver)).status_code == 401  # no credentials
    assert _create(_client(key=no_scope), _body(receiver)).status_code == 403
    assert not WebhookEndpoint.objects.exists()


# --- who sees what -------------------------------------------------------------------------------------


def test_the_list_shows_each_partner_its_own_and_staff_everyone(hook, officer, clerk, staff, partner, receiver):
    theirs, _ = webhook_endpoint_create(partner=clerk.partner_staff.partner, url=receiver.url,
                                        event_types=["loan.late"], actor=clerk)  # fmt: skip
    _, key = api_key_create(user=officer, name="mis", scopes=["webhooks:write"])
    _, no_scope = api_key_create(user=officer, name="reader", scopes=["loans:read"])

    def ids(client: APIClient, **params) -> list[int]:
        return [row["id"] for row in client.get(ENDPOINTS, params).json()["results"]]

    assert ids(_client(officer)) == ids(_client(key=key)) == [hook.pk]
    assert ids(_client(clerk)) == [theirs.pk]
    assert ids(_client(staff)) == [theirs.pk, hook.pk]
    assert ids(_client(staff), partner=partner.pk) == [hook.pk]
    assert _client(LenderFactory()).get(ENDPOINTS).status_code == 403
    assert _client().get(ENDPOINTS).status_code == 401
    assert _client(key=no_scope).get(ENDPOINTS).status_code == 403


def _object_calls(endpoint_id: int, delivery_id: int) -> list[tuple[str, str, dict]]:
    url = f"{ENDPOINTS}{endpoint_id}/"
    return [
        ("get", url, {}),
        ("patch", url, {"description": "changed"}),
        ("post", f"{url}rotate-secret/", {}),
        ("get", f"{url}deliveries/", {}),
        ("post", f"/api/v1/webhooks/deliveries/{delivery_id}/retry/", {}),
        ("delete", url, {}),
    ]


@pytest.fixture
def delivered(hook, listed, make_lenders, receiver) -> WebhookDelivery:
    """`hook`'s delivery of a funded loan, delivered."""
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    (pk,) = webhook_events_collect().deliveries
    assert webhook_delivery_attempt(delivery_id=pk).status == "delivered"
    return WebhookDelivery.objects.get(pk=pk)


def _statuses(client: APIClient, endpoint_id: int, delivery_id: int) -> list[int]:
    statuses = []
    for n, (method, url, body) in enumerate(_object_calls(endpoint_id, delivery_id)):
        response = getattr(client, method)(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"matrix-{n}")
        statuses.append(response.status_code)
    return statuses


def test_another_partners_staff_and_lenders_get_404_for_every_endpoint_and_delivery_call(delivered, clerk):
    endpoint = delivered.endpoint

    assert _statuses(_client(clerk), endpoint.pk, delivered.pk) == [404] * 6
    assert _statuses(_client(LenderFactory()), endpoint.pk, delivered.pk) == [404] * 6
    assert _statuses(_client(), endpoint.pk, delivered.pk) == [401] * 6  # anonymous: no credentials
    endpoint.refresh_from_db()
    assert (endpoint.description, delivered.endpoint.secret) == ("", endpoint.secret)


def test_a_key_without_webhooks_write_gets_403_for_every_call(delivered, officer):
    _, no_scope = api_key_create(user=officer, name="reader", scopes=["loans:read", "repayments:write"])

    assert _statuses(_client(key=no_scope), delivered.endpoint_id, delivered.pk) == [403] * 6
    assert WebhookEndpoint.objects.filter(pk=delivered.endpoint_id).exists()


@pytest.mark.parametrize("who", ["officer", "staff", "key"])
def test_the_owner_partner_and_platform_staff_may_make_every_call(delivered, officer, staff, who, eager):
    _, key = api_key_create(user=officer, name="mis", scopes=["webhooks:write"])
    client = {"officer": _client(officer), "staff": _client(staff), "key": _client(key=key)}[who]

    assert _statuses(client, delivered.endpoint_id, delivered.pk) == [200, 200, 200, 200, 202, 204]
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()  # removed with the endpoint


@pytest.mark.parametrize("pk", [999_999, 10**30])
def test_nonexistent_ids_are_404s(officer, pk):
    assert _statuses(_client(officer), pk, pk) == [404] * 6


# --- changing, rotating -------------------------------------------------------------------------------------


def test_patch_changes_the_url_events_and_pauses_and_checks_them(hook, officer, receiver):
    client, url = _client(officer), f"{ENDPOINTS}{hook.pk}/"

    changed = client.patch(url, {"event_types": ["loan.late"], "active": False}, format="json")
    bad = client.patch(url, {"url": "not a url", "event_types": ["nope"]}, format="json")

    assert changed.status_code == 200
    assert (changed.json()["event_types"], changed.json()["active"]) == (["loan.late"], False)
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"url", "event_types.0"}
    hook.refresh_from_db()
    assert (hook.url, hook.event_types, hook.active) == (receiver.url, ["loan.late"], False)
    assert client.patch(url, {"url": "gopher://x"}, format="json").status_code == 400
    assert client.patch(url, {"url": "ftp://127.0.0.1/x"}, format="json").json()["error"]["fields"] == {
        "url": ["Use an http:// or https:// URL with a host name."]
    }


def test_rotating_shows_a_new_secret_once_and_the_old_one_signs_a_while_longer(hook, officer):
    old, client = hook.secret, _client(officer)
    url = f"{ENDPOINTS}{hook.pk}/rotate-secret/"

    first = client.post(url, {"previous_secret_valid_hours": 2}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    again = client.post(url, {"previous_secret_valid_hours": 2}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    other = client.post(url, {"previous_secret_valid_hours": 0}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    bad = client.post(url, {"previous_secret_valid_hours": 500}, format="json", HTTP_IDEMPOTENCY_KEY="rot-2")

    assert (first.status_code, again.status_code, other.status_code, bad.status_code) == (200, 200, 409, 400)
    assert list(bad.json()["error"]["fields"]) == ["previous_secret_valid_hours"]
    assert again.json() == first.json()
    hook.refresh_from_db()
    assert first.json()["secret"] == hook.secret != old
    assert hook.previous_secret == old
    expires = hook.previous_secret_expires_at
    assert timezone.now() + timedelta(minutes=119) < expires < timezone.now() + timedelta(minutes=121)


# --- the delivery log, resending --------------------------------------------------------------------------


def test_the_delivery_log_shows_each_attempt(hook, officer, listed, make_lenders, receiver):
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    (pk,) = webhook_events_collect().deliveries
    receiver.answer(500)
    webhook_delivery_attempt(delivery_id=pk)
    webhook_delivery_attempt(delivery_id=pk)

    body = _client(officer).get(f"{ENDPOINTS}{hook.pk}/deliveries/").json()

    (row,) = body["results"]
    assert (row["id"], row["status"], row["attempts"], row["last_status_code"]) == (pk, "delivered", 2, 200)
    assert row["event"]["type"] == "loan.funded"
    assert row["event"]["data"]["loan_id"] == loan.pk
    assert [(a["number"], a["status_code"]) for a in row["attempt_log"]] == [(1, 500), (2, 200)]
    assert row["attempt_log"][0]["response_body"].startswith("boom")
    assert body["next"] is None


def test_the_delivery_log_costs_the_same_queries_for_one_delivery_or_five(hook, officer, listed, make_lenders):
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    for pk in webhook_events_collect().deliveries:
        webhook_delivery_attempt(delivery_id=pk)
    client, url = _client(officer), f"{ENDPOINTS}{hook.pk}/deliveries/"
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url).json()["results"]) == 1
    loan_disburse(loan=loan, actor=officer, on=START)
    for n in range(3):
        repayment_record(loan=loan, amount_cents=500, currency="USD", received_on=date(2026, 2, 5 + n),
                         source="staff", idempotency_key=f"p{n}", actor=None)  # fmt: skip
    for pk in webhook_events_collect().deliveries:
        webhook_delivery_attempt(delivery_id=pk)
    with CaptureQueriesContext(connection) as five:
        rows = client.get(url).json()["results"]

    assert len(rows) == 5
    assert all(len(row["attempt_log"]) == 1 for row in rows)
    assert len(five.captured_queries) == len(one.captured_queries)
    assert [r["event"]["type"] for r in client.get(url, {"type": "repayment.recorded"}).json()["results"]] == [
        "repayment.recorded"
    ] * 3
    assert client.get(url, {"status": "failed"}).json()["results"] == []


def test_the_endpoint_list_costs_the_same_queries_for_one_endpoint_or_five(hook, officer, partner, receiver):
    client = _client(officer)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(ENDPOINTS).json()["results"]) == 1
    for _ in range(4):
        webhook_endpoint_create(partner=partner, url=receiver.url, event_types=["loan.late"], actor=officer)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(ENDPOINTS).json()["results"]) == 5

    assert len(five.captured_queries) == len(one.captured_queries)


def test_a_failed_delivery_is_resent_once_per_idempotency_key(
    hook, officer, listed, make_lenders, receiver, eager, django_capture_on_commit_callbacks
):
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    (pk,) = webhook_events_collect().deliveries
    receiver.answer(500, 500)
    webhook_delivery_attempt(delivery_id=pk)
    webhook_delivery_attempt(delivery_id=pk)
    assert WebhookDelivery.objects.get(pk=pk).status == "failed"  # two attempts, WEBHOOK_MAX_ATTEMPTS here
    client, url = _client(officer), f"/api/v1/webhooks/deliveries/{pk}/retry/"

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, HTTP_IDEMPOTENCY_KEY="resend-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, HTTP_IDEMPOTENCY_KEY="resend-1")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert first.json()["status"] == "pending"
    assert len(receiver.requests) == 3  # two failures, then the one resend
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3
    assert client.post("/api/v1/webhooks/deliveries/999999/retry/", HTTP_IDEMPOTENCY_KEY="resend-1").status_code == 409


def test_a_delivery_of_a_paused_endpoint_cannot_be_resent(delivered, officer):
    webhook_endpoint_update(endpoint=delivered.endpoint, active=False)

    response = _client(officer).post(f"/api/v1/webhooks/deliveries/{delivered.pk}/retry/", HTTP_IDEMPOTENCY_KEY="r-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    assert WebhookDelivery.objects.get(pk=delivered.pk).status == "delivered"


def test_rotating_an_endpoint_deleted_meanwhile_is_a_404_not_a_500(hook, officer, monkeypatch):
    """Found by schemathesis: the view read the endpoint, a DELETE removed it, then the service's lock found none."""
    stale = WebhookEndpoint.objects.get(pk=hook.pk)
    monkeypatch.setattr("lending.api.webhooks._visible_endpoint", lambda request, pk: stale)
    hook.delete()

    response = _client(officer).post(f"{ENDPOINTS}{stale.pk}/rotate-secret/", {}, format="json",
                                     HTTP_IDEMPOTENCY_KEY="rot-gone")  # fmt: skip

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
