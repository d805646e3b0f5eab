"""A loan's repayments: read by anyone who may see the loan (a lender with their own part), recorded by staff.

The list runs the same queries for one repayment or a page of them: a lender's own part of each
comes from the same statement, not a query per row. Recording passes the Idempotency-Key down as
the repayment's own key, so the same payment sent again (by any route that uses that key for this
loan) is recorded once.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.applications import ERRORS, caller
from lending.api.idempotency import idempotency_key, idempotent
from lending.api.keys import require_scope
from lending.api.loans import _public_name, visible_loans
from lending.api.pagination import Cursor
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans import permissions
from lending.loans.models import Repayment, RepaymentSplit
from lending.loans.repayments import repayment_record

SOURCE = Repayment.Source
MAX_KEY = 150  # what a repayment's own key holds (`repayment_record`)


class LenderPartSerializer(serializers.Serializer[Any]):
    principal_cents = serializers.IntegerField()
    interest_cents = serializers.IntegerField()


class RepaymentRowSerializer(serializers.ModelSerializer[Repayment]):
    lender_part = serializers.SerializerMethodField(
        help_text="Your own part of this repayment, if you are a lender who received some of it; else null"
    )

    class Meta:
        model = Repayment
        fields = ["id", "received_on", "amount_cents", "currency", "principal_cents", "interest_cents", "fees_cents",
                  "overpayment_cents", "source", "is_recovery", "created_at", "lender_part"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(LenderPartSerializer(allow_null=True))
    def get_lender_part(self, row: Repayment) -> dict[str, int] | None:
        principal = getattr(row, "my_principal_cents", None)
        if principal is None:
            return None
        return {"principal_cents": principal, "interest_cents": row.my_interest_cents}  # type: ignore[attr-defined]


class SplitSerializer(serializers.Serializer[Any]):
    lender = serializers.IntegerField(allow_null=True, help_text="The lender's id: shown to platform staff only")
    lender_name = serializers.CharField(help_text="The lender's public name, or 'Anonymous'")
    principal_cents = serializers.IntegerField()
    interest_cents = serializers.IntegerField()


class RecordedRepaymentSerializer(serializers.ModelSerializer[Repayment]):
    splits = SplitSerializer(many=True, source="splits_shown", help_text="Each lender's part, by lender id")

    class Meta:
        model = Repayment
        fields = ["id", "loan", "received_on", "amount_cents", "currency", "principal_cents", "interest_cents",
                  "fees_cents", "overpayment_cents", "lender_interest_cents", "platform_cents", "source",
                  "is_recovery", "created_at", "splits"]  # fmt: skip
        read_only_fields = fields


class NewRepaymentSerializer(serializers.Serializer[Any]):
    amount_cents = serializers.IntegerField(
        min_value=1, max_value=10**12, help_text="In the loan currency's minor units"
    )
    currency = serializers.CharField(max_length=3)
    received_on = serializers.DateField(required=False, help_text="Default today; not in the future")
    source = serializers.ChoiceField(  # type: ignore[assignment]  # the stubs take `source` for Field.source
        choices=SOURCE.choices, required=False,
        help_text="staff or partner. Default: staff for platform staff, partner for a field partner's staff (who "
        "may send only that); a borrower's card payments come through the card flow, not here",
    )  # fmt: skip

    def validate_source(self, value: str) -> str:
        if value == SOURCE.BORROWER_CARD:
            raise serializers.ValidationError("Card payments are recorded by the card flow; send staff or partner.")
        return value

    def validate_received_on(self, value: Any) -> Any:
        if value > timezone.localdate():
            raise serializers.ValidationError("Cannot be in the future.")
        disbursed_on = self.context["loan"].disbursed_on
        if disbursed_on is not None and value < disbursed_on:
            raise serializers.ValidationError(f"The loan was paid out on {disbursed_on}: a repayment comes after.")
        return value


class RepaymentCursor(Cursor):
    ordering = ("-received_on", "-id")  # type: ignore[assignment]  # DRF takes a tuple; the stubs say str


@extend_schema_view(
    get=extend_schema(
        tags=["repayments"], responses={200: RepaymentRowSerializer(many=True), 404: ERRORS[404]},
        summary="A loan's repayments, newest first; a lender sees their own part of each",
    ),
    post=extend_schema(
        tags=["repayments"], request=NewRepaymentSerializer, responses={201: RecordedRepaymentSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_KEY],
        summary="Record one repayment: allocated to the schedule and split among the lenders to the cent",
    ),
)  # fmt: skip
class LoanRepayments(generics.ListAPIView[Repayment]):
    serializer_class = RepaymentRowSerializer
    pagination_class = RepaymentCursor
    filter_backends: list[Any] = []

    def get_permissions(self) -> list[BasePermission]:
        """Reading is open to whoever may see the loan (a key needs loans:read); recording needs repayments:write."""
        if self.request.method == "POST":
            return [IsAuthenticated(), require_scope("repayments:write")()]
        return [AllowAny(), require_scope("loans:read")()]

    def get_queryset(self) -> QuerySet[Repayment]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Repayment.objects.none()
        user = self.request.user
        loan = generics.get_object_or_404(visible_loans(user), pk=self.kwargs["pk"])
        rows = Repayment.objects.filter(loan=loan)
        if isinstance(user, User) and user.is_lender:
            mine = RepaymentSplit.objects.filter(repayment=OuterRef("pk"), lender_id=user.pk)
            rows = rows.annotate(
                my_principal_cents=Subquery(mine.values("principal_cents")[:1]),
                my_interest_cents=Subquery(mine.values("interest_cents")[:1]),
            )
        return rows

    def post(self, request: Request, pk: int) -> Response:
        return _record(request, pk)


@idempotent
def _record(request: Request, pk: int) -> Response:
    """404 for a loan the caller cannot see, 403 if they may not record for it, then the body (400), then the state."""
    user = caller(request)
    loan = generics.get_object_or_404(visible_loans(user), pk=pk)
    default = SOURCE.STAFF if user.is_platform_staff else SOURCE.PARTNER
    permissions.require_can_record_repayment(user, loan, default)  # 403: a lender, a borrower, another partner
    form = NewRepaymentSerializer(data=request.data, context={"loan": loan})
    form.is_valid(raise_exception=True)
    data = dict(form.validated_data)
    data.setdefault("source", default)
    if data["source"] != default and not user.is_platform_staff:
        raise ValidationError({"source": [f"A field partner's staff record {default} repayments."]})
    key = idempotency_key(request)
    if len(key) > MAX_KEY:
        raise ValidationError({"Idempotency-Key": [f"At most {MAX_KEY} characters when recording a repayment."]})
    repayment = repayment_record(loan=loan, actor=user, idempotency_key=key, **data)
    return Response(_recorded(repayment, show_lenders=user.is_platform_staff), status=status.HTTP_201_CREATED)


def _recorded(repayment: Repayment, *, show_lenders: bool) -> Any:
    splits = RepaymentSplit.objects.filter(repayment=repayment).select_related("lender__lender_profile")
    repayment.splits_shown = [  # type: ignore[attr-defined]
        {"lender": s.lender_id if show_lenders else None, "lender_name": _public_name(s.lender),
         "principal_cents": s.principal_cents, "interest_cents": s.interest_cents}
        for s in splits.order_by("lender_id")
    ]  # fmt: skip
    return RecordedRepaymentSerializer(repayment).data
