"""Repayment batches from field partners' systems: JSON rows or a CSV file, recorded whole or not at all."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.errors import error_response
from lending.api.idempotency import idempotent
from lending.api.keys import require_scope
from lending.api.roles import IsPartnerOrPlatformStaff
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans.batches import BatchRefused, repayment_batch_record, rows_from_csv
from lending.loans.models import Repayment

MAX_CSV_BYTES = 2_000_000


class BatchRowSerializer(serializers.Serializer[Any]):
    loan = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    received_on = serializers.DateField()
    reference = serializers.CharField(help_text="Your own id for the payment; sending it again records nothing twice")


class BatchSerializer(serializers.Serializer[Any]):
    rows = BatchRowSerializer(many=True)


class RecordedSerializer(serializers.ModelSerializer[Repayment]):
    class Meta:
        model = Repayment
        fields = ["id", "loan", "amount_cents", "currency", "received_on", "principal_cents", "interest_cents",
                  "fees_cents", "overpayment_cents", "is_recovery"]  # fmt: skip


@extend_schema(
    tags=["repayments"],
    request={"application/json": BatchSerializer, "multipart/form-data": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "CSV with the header loan,amount_cents,currency,received_on,reference"}}}},
    responses={201: RecordedSerializer(many=True), 400: OpenApiTypes.OBJECT},
    parameters=[IDEMPOTENCY_KEY],
    examples=[OpenApiExample("Two repayments", request_only=True, value={"rows": [
        {"loan": 17, "amount_cents": 2500, "currency": "USD", "received_on": "2026-11-20", "reference": "mis-8812"},
        {"loan": 18, "amount_cents": 1250, "currency": "USD", "received_on": "2026-11-21", "reference": "mis-8813"},
    ]})],
    summary="Record a batch of repayments: every row is checked, and all are recorded or none",
)  # fmt: skip
@api_view(["POST"])
@parser_classes([JSONParser, MultiPartParser])
@permission_classes([IsAuthenticated, require_scope("repayments:write"), IsPartnerOrPlatformStaff])
@idempotent
def repayment_batches(request: Request) -> Response:
    user = request.user
    assert isinstance(user, User)
    if "file" in request.FILES:
        upload = request.FILES["file"]
        if upload.size and upload.size > MAX_CSV_BYTES:
            return _refused([("0", "file", f"at most {MAX_CSV_BYTES} bytes per file; split it")])
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            return _refused([("0", "file", "must be a UTF-8 CSV file")])
        try:
            rows = rows_from_csv(text)
        except BatchRefused as exc:
            return _refused([(str(e.row), e.field, e.message) for e in exc.errors])
    else:
        sent = request.data.get("rows") if isinstance(request.data, dict) else None
        if not isinstance(sent, list):
            return _refused([("0", "rows", "send {\"rows\": [...]} as JSON, or a CSV file in the field 'file'")])
        rows = sent
    source = Repayment.Source.STAFF if user.is_platform_staff else Repayment.Source.PARTNER
    try:
        recorded = repayment_batch_record(rows=rows, actor=user, source=source)
    except BatchRefused as exc:
        return _refused([(str(e.row), e.field, e.message) for e in exc.errors])
    return Response(RecordedSerializer(recorded, many=True).data, status=status.HTTP_201_CREATED)


def _refused(errors: list[tuple[str, str, str]]) -> Response:
    fields: dict[str, list[str]] = {}
    for row, field, message in errors:
        fields.setdefault(f"rows.{row}.{field}" if row != "0" else field, []).append(message)
    return error_response(
        code="invalid_batch", http_status=status.HTTP_400_BAD_REQUEST, fields=fields,
        message=f"Nothing was recorded: {len(errors)} problem(s) in the batch, listed by row and field.",
    )  # fmt: skip
