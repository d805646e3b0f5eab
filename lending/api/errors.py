"""One error shape for the whole API: {"error": {"code", "message", "fields"}}; never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from lending.ledger.errors import IdempotencyConflict, InsufficientFunds, LedgerError
from lending.loans.errors import InvalidTransition, LoanError, NotAllowed, RepaymentRefused, ShareRefused
from lending.money import MoneyError
from lending.payments.errors import PaymentRefused, StripeUnavailable


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": ["message", ...]}; nested fields joined with dots."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            messages = value if isinstance(value, list) else [value]
            fields.setdefault(prefix or "non_field_errors", []).extend(str(m) for m in messages)

    walk("", detail)
    return fields


def error_response(
    *, code: str, message: str, http_status: int, fields: dict[str, list[str]] | None = None
) -> Response:
    return Response({"error": {"code": code, "message": message, "fields": fields or {}}}, status=http_status)


# PostgreSQL's "try again" failures: deadlock detected, serialization failure, lock not available
TRANSIENT_SQLSTATES = {"40P01", "40001", "55P03"}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every known failure to the one shape; unknown exceptions still become Django's 500."""
    if isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES:
        busy = error_response(code="busy", message="A conflicting request held the same rows; nothing was done. "
                              "Try again (with the same Idempotency-Key).", http_status=503)  # fmt: skip
        busy["Retry-After"] = "1"
        return busy
    if isinstance(exc, Http404):  # what DRF's own handler does, done first so the code below reads not_found
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, IdempotencyConflict):
        return error_response(code="idempotency_conflict", message=str(exc), http_status=status.HTTP_409_CONFLICT)
    if isinstance(exc, InsufficientFunds):
        return error_response(code="insufficient_funds", message=str(exc), http_status=status.HTTP_409_CONFLICT)
    if isinstance(exc, StripeUnavailable):
        unavailable = error_response(code="payments_unavailable", message=str(exc), http_status=503)
        unavailable["Retry-After"] = "30"
        return unavailable
    if isinstance(exc, PaymentRefused):
        name = exc.field or "non_field_errors"
        message = str(exc).split(": ", 1)[-1] if exc.field else str(exc)
        return error_response(
            code="invalid", message=str(exc), http_status=status.HTTP_400_BAD_REQUEST, fields={name: [message]}
        )
    if isinstance(exc, InvalidTransition):
        return error_response(code="invalid_state", message=str(exc), http_status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotAllowed):
        return error_response(code="permission_denied", message=str(exc), http_status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, LoanError):
        name = exc.field or "non_field_errors"
        message = str(exc).split(": ", 1)[-1] if exc.field and str(exc).startswith(f"{exc.field}:") else str(exc)
        state = isinstance(exc, (ShareRefused, RepaymentRefused)) and exc.field in (None, "loan")
        return error_response(
            code="invalid_state" if state else "invalid", message=str(exc), fields={name: [message]},
            http_status=status.HTTP_409_CONFLICT if state else status.HTTP_400_BAD_REQUEST,
        )  # fmt: skip
    if isinstance(exc, (LedgerError, MoneyError)):
        return error_response(code="invalid", message=str(exc), http_status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        names = ", ".join(sorted(fields))
        return error_response(
            code="invalid", message=f"Invalid input: {names}.", http_status=response.status_code, fields=fields
        )
    detail = getattr(exc, "detail", str(exc))
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else code
    response.data = {"error": {"code": code, "message": str(detail), "fields": {}}}
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an address under /api/ that matches no route (e.g. /api/v1/loans/abc/) answers the one JSON
    error shape, as the API's own 404s do; the site's pages keep Django's HTML page."""
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": "No such API address.", "fields": {}}}
        return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)
