"""The schema's OpenAPI links: each answer that carries a new object's id (a 201, or a page of results)
links to every operation on that object's address, so clients and schemathesis's stateful phase can
chain calls: create a draft, then edit, submit, approve it; list loans, then lend to the first."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _links(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    return {
        (operation["operationId"], target): link["parameters"]
        for item in schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
        for response in operation["responses"].values()
        for target, link in response.get("links", {}).items()
    }


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)}


def test_a_new_draft_links_to_editing_submitting_and_reviewing_it(schema):
    links = _links(schema)

    for target in ("v1_loans_drafts_partial_update", "v1_loans_drafts_cancel_create", "v1_loans_submit_create",
                   "v1_loans_approve_create", "v1_loans_retrieve"):  # fmt: skip
        assert links[("v1_loans_drafts_create", target)] == {"id": "$response.body#/id"}, target
    assert links[("v1_loans_list", "v1_loans_shares_create")] == {"id": "$response.body#/results/0/id"}


def test_a_path_parameter_of_the_source_travels_to_the_target(schema):
    assert _links(schema)[("v1_loans_card_repayments_create", "v1_loans_card_repayments_retrieve")] == {
        "id": "$request.path.id",
        "payment_pk": "$response.body#/id",
    }


def test_every_link_names_a_real_operation_and_fills_exactly_its_path_parameters(schema):
    operations, links = _operations(schema), _links(schema)

    assert len(links) > 50
    for (source, target), parameters in links.items():
        needed = {p["name"] for p in operations[target].get("parameters", []) if p["in"] == "path"}
        assert set(parameters) == needed, (source, target)
