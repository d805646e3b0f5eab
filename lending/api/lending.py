"""Lending over the API: buy shares of a loan from the wallet, and the lender's portfolio."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.idempotency import idempotency_key, idempotent
from lending.api.keys import require_scope
from lending.api.loans import visible_loans
from lending.api.roles import IsLender
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans.fundraising import share_purchase
from lending.loans.models import Installment, LenderPosition


class ShareRequest(serializers.Serializer[Any]):
    amount_cents = serializers.IntegerField(min_value=1, help_text="A multiple of the loan's share size ($25)")


class ShareSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    loan = serializers.IntegerField(source="loan_id")
    amount_cents = serializers.IntegerField()
    loan_raised_cents = serializers.IntegerField()
    loan_status = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema(
    tags=["lending"], request=ShareRequest, responses={201: ShareSerializer}, parameters=[IDEMPOTENCY_KEY],
    summary="Lend to a loan from your wallet; never over-funds the loan or overdraws the wallet",
)  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("lending:write")])
@idempotent
def shares(request: Request, pk: int) -> Response:
    user = request.user
    if not isinstance(user, User) or not user.is_lender:
        raise PermissionDenied("Only lenders lend.")
    loan = generics.get_object_or_404(visible_loans(user), pk=pk)
    body = ShareRequest(data=request.data)
    body.is_valid(raise_exception=True)
    share = share_purchase(
        loan=loan,
        lender=user,
        amount_cents=body.validated_data["amount_cents"],
        idempotency_key=idempotency_key(request),
    )
    loan.refresh_from_db()
    data = {"id": share.pk, "loan_id": loan.pk, "amount_cents": share.amount_cents, "loan_raised_cents":
            loan.raised_cents, "loan_status": loan.status, "created_at": share.created_at}  # fmt: skip
    return Response(ShareSerializer(data).data, status=status.HTTP_201_CREATED)


class HoldingSerializer(serializers.Serializer[Any]):
    loan = serializers.IntegerField(source="loan_id")
    status = serializers.CharField(source="loan.status")
    borrower_name = serializers.CharField(source="loan.borrower.display_name")
    sector = serializers.CharField(source="loan.sector")
    country = serializers.CharField(source="loan.country")
    currency = serializers.CharField(source="loan.currency")
    lent_cents = serializers.IntegerField()
    repaid_cents = serializers.IntegerField(source="principal_repaid_cents")
    outstanding_cents = serializers.IntegerField()
    written_off_cents = serializers.IntegerField()
    recovered_cents = serializers.IntegerField()
    refunded_cents = serializers.IntegerField()
    delinquent = serializers.BooleanField(source="loan.delinquent")
    next_due_date = serializers.DateField(allow_null=True, help_text="The loan's next unpaid installment")


@extend_schema(
    tags=["lending"],
    responses=HoldingSerializer(many=True),
    summary="My portfolio: each loan I lent to, what came back, what is outstanding, what is due next",
)
class Portfolio(generics.ListAPIView[LenderPosition]):
    serializer_class = HoldingSerializer
    permission_classes = [IsAuthenticated, require_scope("wallet:read"), IsLender]
    filterset_fields = ["loan__status"]

    def get_queryset(self) -> QuerySet[LenderPosition]:
        next_due = Installment.objects.filter(loan=OuterRef("loan_id"), paid_on__isnull=True).order_by("number")
        return (
            LenderPosition.objects.filter(lender_id=self.request.user.pk, lent_cents__gt=0)
            .select_related("loan__borrower")
            .annotate(next_due_date=Subquery(next_due.values("due_date")[:1]))
        )
