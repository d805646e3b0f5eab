"""Rate limits and the API's description: over the limit a caller gets a 429 with Retry-After in the API's
one error shape, anonymous callers per address and API keys each on their own; GET /api/schema/ is an
OpenAPI 3 document naming the loans and wallet endpoints, the Idempotency-Key header and the API-key scheme;
GET /api/docs/ works offline (its scripts and styles are local); and `manage.py spectacular --validate
--fail-on-warn` passes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from lending.api.keys import api_key_create
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db

LOANS = "/api/v1/loans/"


@pytest.fixture
def three_a_minute() -> Iterator[None]:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "caller": "3/minute", "anonymous": "3/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        cache.clear()
        yield
    cache.clear()


def _statuses(client: APIClient, n: int, **headers: str) -> list[int]:
    return [client.get(LOANS, **headers).status_code for _ in range(n)]


def _bearer(full_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    return client


# --- throttling -------------------------------------------------------------------------------------


def test_the_fourth_anonymous_request_in_a_minute_is_a_429_with_retry_after_in_the_error_shape(three_a_minute):
    client = APIClient()

    assert _statuses(client, 3) == [200, 200, 200]
    response = client.get(LOANS)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert error["message"]
    assert error["fields"] == {}


def test_anonymous_callers_are_limited_per_address(three_a_minute):
    client = APIClient()

    assert _statuses(client, 4, REMOTE_ADDR="10.0.0.1") == [200, 200, 200, 429]
    assert _statuses(client, 3, REMOTE_ADDR="10.0.0.2") == [200, 200, 200]


def test_the_limit_counts_every_endpoint_together(three_a_minute):
    client = APIClient()
    client.get(LOANS)
    client.get(f"{LOANS}999/")
    client.get(f"{LOANS}999/lenders/")

    assert client.get(LOANS).status_code == 429


def test_two_keys_of_one_user_are_limited_separately(three_a_minute):
    ann = LenderFactory()
    _, first = api_key_create(user=ann, name="budget app", scopes=["loans:read"])
    _, second = api_key_create(user=ann, name="spreadsheet", scopes=["loans:read"])

    assert _statuses(_bearer(first), 4) == [200, 200, 200, 429]
    assert _statuses(_bearer(second), 4) == [200, 200, 200, 429]


def test_a_users_session_is_limited_apart_from_their_keys_and_from_anonymous_callers(three_a_minute):
    ann = LenderFactory()
    _, key = api_key_create(user=ann, name="budget app", scopes=["loans:read"])
    session = APIClient()
    session.force_login(ann)

    assert _statuses(_bearer(key), 4) == [200, 200, 200, 429]
    assert _statuses(APIClient(), 4) == [200, 200, 200, 429]
    assert _statuses(session, 4) == [200, 200, 200, 429]


def test_a_caller_is_limited_whatever_their_address(three_a_minute):
    ann = LenderFactory()
    _, key = api_key_create(user=ann, name="budget app", scopes=["loans:read"])
    client = _bearer(key)

    statuses = [client.get(LOANS, REMOTE_ADDR=f"10.0.0.{n}").status_code for n in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_an_anonymous_caller_cannot_escape_the_limit_by_inventing_forwarded_addresses(three_a_minute):
    client = APIClient()

    statuses = [client.get(LOANS, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)]

    assert statuses == [200, 200, 200, 429]


# --- the schema ---------------------------------------------------------------------------------------


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_schema_is_an_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Lend a hand API"


def test_the_schema_is_served_as_yaml_by_default_to_anyone():
    response = APIClient().get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_describes_the_loan_endpoints(schema):
    paths = schema["paths"]

    assert {"/api/v1/loans/", "/api/v1/loans/{id}/", "/api/v1/loans/{id}/lenders/"} <= set(paths)
    parameters = {p["name"] for p in paths["/api/v1/loans/"]["get"]["parameters"]}
    assert {"status", "sector", "country", "partner", "borrower_gender", "amount_left_min", "amount_left_max",
            "days_left_max", "expiring_soon", "sort", "cursor", "page_size"} <= parameters  # fmt: skip


def test_the_schema_requires_the_idempotency_key_header_on_withdrawals_and_deposits(schema):
    for path in ("/api/v1/wallet/withdrawals/", "/api/v1/wallet/deposits/"):
        post = schema["paths"][path]["post"]
        headers = [p for p in post["parameters"] if p["in"] == "header"]

        assert [(p["name"], p["required"]) for p in headers] == [("Idempotency-Key", True)], path


def test_the_schema_has_the_api_key_bearer_scheme_and_the_endpoints_accept_it(schema):
    scheme = schema["components"]["securitySchemes"]["apiKey"]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert scheme["bearerFormat"].startswith("lk_")
    assert {"apiKey": []} in schema["paths"]["/api/v1/wallet/withdrawals/"]["post"]["security"]
    assert {"apiKey": []} in schema["paths"]["/api/v1/loans/"]["get"]["security"]


def test_the_spectacular_command_validates_the_schema_without_warnings():
    out, err = StringIO(), StringIO()

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)

    assert out.getvalue().startswith("openapi: 3.")
    assert "Warning" not in err.getvalue()
    assert "Error" not in err.getvalue()


# --- the docs page -------------------------------------------------------------------------------------


def test_the_docs_page_loads_only_local_static_assets():
    response = APIClient().get("/api/docs/")

    html = response.content.decode()
    assets = re.findall(r"<(?:script|link)\b[^>]*?\b(?:src|href)=[\"']([^\"']+)[\"']", html)
    assert response.status_code == 200
    assert any(asset.endswith(".js") for asset in assets)
    assert any(asset.endswith(".css") for asset in assets)
    for asset in assets:
        assert asset.startswith(f"/{settings.STATIC_URL.strip('/')}/"), asset
        assert finders.find(asset.removeprefix(f"/{settings.STATIC_URL.strip('/')}/")), f"{asset} is not shipped"
    assert not re.search(r"<(?:script|link)\b[^>]*?(?:src|href)=[\"']?(?:https?:)?//", html)
    assert "@import" not in html
    assert '"/api/schema/"' in html
