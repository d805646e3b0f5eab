"""A direct borrower repays by card over the API: start a payment, then follow it until Stripe confirms it.

As on the site (lending/web/payments.py), the repayment is recorded and split to the lenders only when
Stripe's `payment_intent.succeeded` event arrives; the answer carries the PaymentIntent's client secret
for Stripe.js to confirm the card. Only the loan's own borrower pays; a loan run by a field partner is
repaid through the partner (409), and a loan the caller may not see answers 404.
"""

from __future__ import annotations

import hashlib
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.errors import error_response
from lending.api.idempotency import caller_of, idempotency_key, idempotent
from lending.api.keys import require_scope
from lending.api.loans import visible_loans
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans.models import Loan
from lending.payments.cards import card_repayment_start, outstanding_cents
from lending.payments.errors import PaymentRefused
from lending.payments.models import CardPayment


class CardRepaymentRequest(serializers.Serializer[Any]):
    amount_cents = serializers.IntegerField(min_value=1, help_text="Up to what the loan still owes")


class CardRepaymentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    loan = serializers.IntegerField(source="loan_id")
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=CardPayment.Status.choices)
    payment_intent_id = serializers.CharField(allow_null=True)
    client_secret = serializers.CharField(help_text="For Stripe.js to confirm the card")
    received_cents = serializers.IntegerField(help_text="What Stripe collected, once it confirms")
    failure_message = serializers.CharField()
    repayment = serializers.IntegerField(source="repayment_id", allow_null=True, help_text="Once recorded")
    created_at = serializers.DateTimeField()


def _own_loan(request: Request, pk: int) -> tuple[User, Loan]:
    """The loan (404 if the caller may not see it) and the caller, who must be its borrower (403)."""
    user = request.user
    assert isinstance(user, User)
    loan = generics.get_object_or_404(visible_loans(user).select_related("borrower"), pk=pk)
    if loan.borrower.user_id != user.pk:
        raise PermissionDenied("Only the loan's borrower pays it by card.")
    return user, loan


@extend_schema(
    tags=["borrowers"], request=CardRepaymentRequest, responses={201: CardRepaymentSerializer},
    parameters=[IDEMPOTENCY_KEY],
    summary="Repay a direct loan by card: returns the PaymentIntent to confirm; recorded when Stripe confirms",
)  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("repayments:write")])
@idempotent
def card_repayments(request: Request, pk: int) -> Response:
    user, loan = _own_loan(request, pk)
    body = CardRepaymentRequest(data=request.data)
    body.is_valid(raise_exception=True)
    token = hashlib.sha256(f"{caller_of(request)}:{idempotency_key(request)}".encode()).hexdigest()[:64]
    try:
        payment = card_repayment_start(
            borrower=user, loan=loan, amount_cents=body.validated_data["amount_cents"], request_key=token
        )
    except PaymentRefused as exc:
        if exc.field != "loan":
            raise
        owed = outstanding_cents(loan)
        return error_response(
            code="invalid_state", message=str(exc).split(": ", 1)[-1], http_status=status.HTTP_409_CONFLICT,
            fields={"loan": [f"{str(exc).split(': ', 1)[-1]} (owed: {owed} {loan.currency} minor units)"]},
        )  # fmt: skip
    return Response(CardRepaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["borrowers"], responses=CardRepaymentSerializer, summary="One of my card repayments")
@api_view(["GET"])
@permission_classes([IsAuthenticated, require_scope("loans:read")])
def card_repayment(request: Request, pk: int, payment_pk: int) -> Response:
    user, loan = _own_loan(request, pk)
    payment = CardPayment.objects.filter(
        pk=payment_pk, loan=loan, user=user, purpose=CardPayment.Purpose.REPAYMENT
    ).first()
    if payment is None:
        raise NotFound("No such card repayment.")
    return Response(CardRepaymentSerializer(payment).data)
