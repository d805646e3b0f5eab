"""What the API contract tests (.ci/schemathesis) and the load benchmark (benchmarks/) found, kept fixed:
every operation documents its error answers in the one error shape; an unrouted /api/ address answers that
shape, not an HTML page; a bad page_size is a 400 naming it; two repayment batches sharing loans no longer
deadlock (a 500); a deadlock anywhere answers 503 with Retry-After, never a 500."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from lending.api.errors import api_exception_handler
from lending.loans import batches
from lending.loans.batches import repayment_batch_record
from lending.loans.models import Loan, Repayment
from tests.concurrency import run_together
from tests.loans import START

UNSAFE = {"post", "put", "patch", "delete"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers_in_the_error_shape(schema):
    operations = list(_operations(schema))

    assert len(operations) >= 15
    for path, method, operation in operations:
        expected = {"400", "401", "403", "404", "429"} | ({"409"} if method in UNSAFE else set())
        responses = operation["responses"]
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            assert responses[code]["description"], (method, path, code)
            assert responses[code]["content"]["application/json"]["schema"] == ERROR_REF, (method, path, code)
        assert "Retry-After" in responses["429"]["headers"], (method, path)


@pytest.mark.django_db
def test_the_error_component_is_the_one_error_shape(schema):
    components = schema["components"]["schemas"]

    assert components["Error"]["required"] == ["error"]
    assert components["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert components["ErrorDetail"]["required"] == ["code", "message", "fields"]
    fields = components["ErrorDetail"]["properties"]["fields"]
    assert fields["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


@pytest.mark.django_db
def test_a_deposit_documents_503_when_stripe_cannot_be_reached(schema):
    answer = schema["paths"]["/api/v1/wallet/deposits/"]["post"]["responses"]["503"]

    assert answer["content"]["application/json"]["schema"] == ERROR_REF
    assert "Retry-After" in answer["headers"]


@pytest.mark.django_db
def test_a_view_with_its_own_error_schema_keeps_it(schema):
    batch = schema["paths"]["/api/v1/repayment-batches/"]["post"]["responses"]

    assert batch["201"]["content"]["application/json"]["schema"]["type"] == "array"
    assert batch["400"]["content"]["application/json"]["schema"] == ERROR_REF  # was "any object"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/loans/abc/", "/api/v1/loans/1/nothing/", "/api/v2/", "/api/"])
def test_an_unrouted_api_address_answers_the_json_error_shape(path):
    response = APIClient().get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "No such API address.", "fields": {}}}


@pytest.mark.django_db
def test_an_unrouted_page_still_answers_djangos_html_404(settings):
    settings.DEBUG = False

    response = APIClient().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("size", ["abc", "0", "-3", "1.5", "null", ""])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400_naming_it(size):
    response = APIClient().get(f"/api/v1/loans/?page_size={size}")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == ["page_size"]


@pytest.mark.django_db
def test_a_page_size_above_the_maximum_gives_the_maximum(listed):
    for _ in range(3):
        listed()

    small = APIClient().get("/api/v1/loans/?page_size=2")
    large = APIClient().get("/api/v1/loans/?page_size=100000")

    assert small.status_code == large.status_code == 200
    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) == 3


@pytest.mark.django_db
def test_the_schema_says_page_size_starts_at_1(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/loans/"]["get"]["parameters"]}

    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1}


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_deadlock_answers_503_with_retry_after_not_500():
    exc = OperationalError("deadlock detected")
    exc.__cause__ = _Deadlock()

    response = api_exception_handler(exc, {})

    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.data["error"]["code"] == "busy"


def test_other_database_errors_stay_server_errors():
    assert api_exception_handler(OperationalError("connection refused"), {}) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_batches_sharing_loans_in_opposite_orders_both_record(make_lenders, disbursed, officer, monkeypatch):
    """Batch 0 pays loans (a, b), batch 1 (b, a): each used to lock its first loan and the lenders' wallets,
    then wait for the other's loan: PostgreSQL killed one (a 500). Loans are now locked up front, in id order."""
    lenders = make_lenders(2, 100_000)
    a, b = (disbursed([(lenders[0], 2_500), (lenders[1], 2_500)], repayments=4) for _ in range(2))
    first_row_done = threading.Barrier(2, timeout=2)
    record = batches.repayment_record
    done: dict[int, int] = {}

    def slow_record(**kwargs):  # after each batch's first row, wait (up to 2 s) for the other batch's
        result = record(**kwargs)
        key = threading.get_ident()
        done[key] = done.get(key, 0) + 1
        if done[key] == 1:
            with contextlib.suppress(threading.BrokenBarrierError):  # the other batch waits for our locks, as it should
                first_row_done.wait()
        return result

    monkeypatch.setattr(batches, "repayment_record", slow_record)
    on = (START + timedelta(days=20)).isoformat()
    orders = [(a, b), (b, a)]

    results = run_together(
        2,
        lambda i: repayment_batch_record(
            rows=[{"loan": loan.pk, "amount_cents": 100, "currency": "USD", "received_on": on,
                   "reference": f"batch-{i}-{loan.pk}"} for loan in orders[i]],
            actor=officer, source="partner",
        ),
    )  # fmt: skip

    assert all(isinstance(r, list) and len(r) == 2 for r in results), results
    assert Repayment.objects.filter(loan__in=[a, b]).count() == 4
    for loan in (a, b):
        loan.refresh_from_db()
        assert loan.status == Loan.Status.PAYING_BACK
