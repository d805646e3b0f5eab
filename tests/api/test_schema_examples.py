"""Every request body in the OpenAPI schema carries a worked example, and each example is valid against
the very schema it illustrates (so an example cannot drift from the fields the endpoint takes)."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.test import APIClient

from lending.api.examples import REQUEST_EXAMPLES


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations_with_bodies(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method in ("post", "put", "patch")
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    }


def test_every_request_body_has_an_example_and_no_example_is_left_over(schema):
    operations = _operations_with_bodies(schema)

    missing = sorted(
        op for op, o in operations.items() if "examples" not in o["requestBody"]["content"]["application/json"]
    )
    assert missing == []
    assert sorted(set(REQUEST_EXAMPLES) - set(operations)) == []  # a renamed operation leaves no stale example


def _validator(schema: dict[str, Any], body_schema: dict[str, Any]) -> Draft202012Validator:
    registry = Registry().with_resource("urn:api", Resource.from_contents(schema, default_specification=DRAFT202012))
    ref = body_schema["$ref"].replace("#", "urn:api#", 1) if "$ref" in body_schema else None
    return Draft202012Validator({"$ref": ref} if ref else body_schema, registry=registry)


@pytest.mark.parametrize("operation_id", sorted(REQUEST_EXAMPLES))
def test_each_example_is_valid_against_its_request_schema(schema, operation_id):
    operation = _operations_with_bodies(schema)[operation_id]
    media = operation["requestBody"]["content"]["application/json"]
    example = media["examples"]["example"]["value"]

    errors = [e.message for e in _validator(schema, media["schema"]).iter_errors(example)]

    assert errors == []


def test_a_validator_built_this_way_does_refuse_a_bad_example(schema):
    media = _operations_with_bodies(schema)["v1_loans_shares_create"]["requestBody"]["content"]["application/json"]

    assert list(_validator(schema, media["schema"]).iter_errors({"amount_cents": "a lot"}))


@pytest.mark.django_db
def test_the_calculator_example_is_answered_as_the_docs_show_it():
    response = APIClient().post(
        "/api/v1/schedule-preview/", REQUEST_EXAMPLES["v1_schedule_preview_create"], format="json"
    )

    assert response.status_code == 200, response.json()
    assert len(response.json()["installments"]) == 6
