"""OpenAPI pieces drf-spectacular cannot guess: the API-key scheme and the Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "lending.api.keys.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "lk_<prefix>_<secret>",
            "description": "An API key, shown once when created (`manage.py api_key_create`), scoped and revocable.",
        }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique value per action (up to 255 characters). Sent again with the same body, the first answer is "
        "returned (header Idempotent-Replayed: true) and nothing is done twice; with another body, 409. Kept 24 hours."
    ),
)


# --- error answers: drf-spectacular documents none; every operation can give some -----------------

_ERROR_DETAIL = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable: invalid, not_found, permission_denied, ..."},
        "message": {"type": "string", "description": "For a person to read"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Each bad field (dotted for nested ones) with its messages; empty when no field is at fault",
        },
    },
    "required": ["code", "message", "fields"],
}
_ERROR = {
    "type": "object",
    "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
    "required": ["error"],
}
_ANY_CALL = {
    "400": "Invalid input (`invalid`): `error.fields` names each bad field or parameter",
    "401": "A bad, unknown or revoked API key (`authentication_failed`), or none where one is needed",
    "403": "Not allowed for this caller (`permission_denied`), or the API key lacks the scope",
    "404": "No such object that the caller may see (`not_found`), or a bad pagination cursor",
    "429": "Too many requests (`throttled`): try again after `Retry-After` seconds",
}
_UNSAFE_CALL = {
    "409": "Not in a state for this (`invalid_state`), not enough money (`insufficient_funds`), or the "
    "Idempotency-Key was used for a different request (`idempotency_conflict`)",
}
_UNSAFE = {"post", "put", "patch", "delete"}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again"}}


def _is_loose(response: dict[str, Any]) -> bool:
    """No body documented, or only "some object" (OpenApiTypes.OBJECT): the error shape says more."""
    content = response.get("content")
    if not content:
        return True
    return all(
        media.get("schema") in (None, {"type": "object", "additionalProperties": {}}) for media in content.values()
    )


def document_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """A postprocessing hook: every operation lists the errors it can answer, in the one error shape.

    Clients (and schemathesis in CI) then know each status code and its body. A view's own, more
    specific error schema is kept; a bare or "any object" one gets the error shape, keeping its description.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in (("ErrorDetail", _ERROR_DETAIL), ("Error", _ERROR)):
        if schemas.setdefault(name, schema) != schema:
            warn(f"a component named {name} already exists: the error responses would point at it")
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = {**_ANY_CALL, **(_UNSAFE_CALL if method in _UNSAFE else {})}
            responses = operation["responses"]
            for code, description in errors.items():
                response = responses.setdefault(code, {"description": description})
                if _is_loose(response):
                    response["content"] = body
                    response["description"] = response.get("description") or description
                if code == "429":
                    response.setdefault("headers", _RETRY_AFTER)
            if "503" in responses and _is_loose(responses["503"]):
                responses["503"]["content"] = body
                responses["503"].setdefault("headers", _RETRY_AFTER)
            operation["responses"] = dict(sorted(responses.items()))
    return result


# --- links: how the ids one operation answers feed the next (for clients, and schemathesis's stateful phase) ---

# A collection whose items live under another address: a draft is a loan; a delivery is retried by its own id.
_ITEMS_ELSEWHERE = {
    "/api/v1/loans/drafts/": ["/api/v1/loans/drafts/", "/api/v1/loans/"],
    "/api/v1/me/loans/": ["/api/v1/loans/"],
    "/api/v1/webhooks/endpoints/{id}/deliveries/": ["/api/v1/webhooks/deliveries/"],
}


def _resolve(result: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return result["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _answered_id(result: dict[str, Any], method: str, operation: dict[str, Any]) -> tuple[str, str] | None:
    """(status, runtime expression of the id) if the operation answers a new object or a page of them."""
    for status_code in ("201", "200"):
        media = operation.get("responses", {}).get(status_code, {}).get("content", {}).get("application/json")
        if media is None or "schema" not in media:
            continue
        body = _resolve(result, media["schema"])
        properties = body.get("properties", {})
        if method == "post" and status_code == "201" and "id" in properties:
            return status_code, "$response.body#/id"
        if (
            method == "get"
            and "results" in properties
            and "id" in _resolve(result, properties["results"]["items"]).get("properties", {})
        ):
            return status_code, "$response.body#/results/0/id"
    return None


def _targets(paths: dict[str, Any], source: str) -> list[tuple[str, dict[str, Any]]]:
    """(the target's new path parameter, the operation) for every operation on `source`'s items."""
    found = []
    for path, item in paths.items():
        bases = [b for b in _ITEMS_ELSEWHERE.get(source, [source]) if path.startswith(b)]
        rest = path[len(bases[0]) :] if bases else ""
        if not rest.startswith("{") or "}/" not in rest:
            continue
        name = rest[1 : rest.index("}")]
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation and method != "parameters":
                found.append((name, operation))
    return found


def add_links(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """A postprocessing hook: each operation that answers an object (201) or a page of them links to every
    operation on that object's address, passing its id; the path parameters already in the source's own
    address travel along (e.g. a loan's id from /loans/{id}/card-repayments/ to one of its card repayments)."""
    paths = result.get("paths", {})
    for source, item in paths.items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in ("get", "post"):
                continue
            answered = _answered_id(result, method, operation)
            if answered is None:
                continue
            status_code, expression = answered
            carried = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            aliased = source in _ITEMS_ELSEWHERE
            links = {}
            for name, target_operation in _targets(paths, source):
                needed = {p["name"] for p in target_operation.get("parameters", []) if p.get("in") == "path"}
                parameters = {name: expression}
                parameters |= {p: f"$request.path.{p}" for p in needed - {name} if p in carried and not aliased}
                if set(parameters) == needed:
                    links[target_operation["operationId"]] = {
                        "operationId": target_operation["operationId"],
                        "parameters": parameters,
                    }
            if links:
                operation["responses"][status_code].setdefault("links", {}).update(links)
    return result
