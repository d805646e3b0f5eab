"""A lender's wallet over the API: what they hold and may withdraw, deposits by card, withdrawals.

Money travels as integer `amount_cents` with its `currency`. Requests that create something take an
`Idempotency-Key` header (8 to 64 letters, digits, - or _): the same key returns the first result.
The wider API (tokens, schemas, pagination) builds on these.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.idempotency import caller_of, idempotency_key, idempotent
from lending.api.keys import require_scope
from lending.api.schema import IDEMPOTENCY_KEY
from lending.ledger.chart import AccountType, account_code
from lending.ledger.models import LedgerAccount
from lending.ledger.selectors import lender_wallet_find
from lending.payments.cards import deposit_start
from lending.payments.models import CardPayment, Withdrawal
from lending.payments.withdrawals import withdrawable, withdrawal_request


class AmountSerializer(serializers.Serializer[Any]):
    amount_cents = serializers.IntegerField(min_value=1, help_text="In the wallet currency's minor units")


class WalletSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    available_cents = serializers.IntegerField(help_text="Credit to lend or withdraw")
    pending_withdrawal_cents = serializers.IntegerField(help_text="On its way back to a card")
    refundable_by_card_cents = serializers.IntegerField(help_text="What the lender's card deposits can still take back")
    withdrawable_cents = serializers.IntegerField(help_text="The smaller of the two above")
    withdrawable_explanation = serializers.CharField()


class DepositSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=CardPayment.Status.choices)
    payment_intent_id = serializers.CharField(allow_null=True)
    client_secret = serializers.CharField(help_text="For Stripe.js to confirm the card")
    received_cents = serializers.IntegerField(help_text="Credited once Stripe confirms")
    failure_message = serializers.CharField()
    created_at = serializers.DateTimeField()


class WithdrawalSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Withdrawal.Status.choices)
    method = serializers.CharField()
    paid_cents = serializers.IntegerField()
    returned_cents = serializers.IntegerField(help_text="Back in the wallet after a failed refund")
    created_at = serializers.DateTimeField()


def _lender(request: Request) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_lender:
        raise PermissionDenied("Only lenders have a wallet.")
    return user


def _request_key(request: Request) -> str:
    """The service's one-time token, derived from the caller's Idempotency-Key (any value the header allows)."""
    return hashlib.sha256(f"{caller_of(request)}:{idempotency_key(request)}".encode()).hexdigest()[:64]


def _deposit_json(payment: CardPayment) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "status": payment.status,
        "payment_intent_id": payment.payment_intent_id,
        "client_secret": payment.client_secret,
        "received_cents": payment.received_cents,
        "failure_message": payment.failure_message,
        "created_at": payment.created_at.isoformat(),
    }


def _withdrawal_json(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "id": withdrawal.pk,
        "amount_cents": withdrawal.amount_cents,
        "currency": withdrawal.currency,
        "status": withdrawal.status,
        "method": withdrawal.method,
        "paid_cents": withdrawal.paid_cents,
        "returned_cents": withdrawal.returned_cents,
        "created_at": withdrawal.created_at.isoformat(),
    }


@extend_schema(tags=["wallet"], responses=WalletSerializer)
@api_view(["GET"])
@permission_classes([IsAuthenticated, require_scope("wallet:read")])
def wallet(request: Request) -> Response:
    """The lender's available credit, what is on its way to their card, and what they may withdraw, and why."""
    user, currency = _lender(request), settings.PLATFORM_CURRENCY
    account = lender_wallet_find(user_id=user.pk, currency=currency)
    pending = LedgerAccount.objects.filter(
        code=account_code(AccountType.PENDING_WITHDRAWAL, currency, ref=f"lender:{user.pk}")
    ).first()
    limit = withdrawable(user, currency)
    return Response(
        {
            "currency": currency,
            "available_cents": account.balance_cents if account else 0,
            "pending_withdrawal_cents": pending.balance_cents if pending else 0,
            "refundable_by_card_cents": limit.refundable_cents,
            "withdrawable_cents": limit.cents,
            "withdrawable_explanation": limit.explanation,
        }
    )


@extend_schema(tags=["wallet"], request=AmountSerializer, parameters=[IDEMPOTENCY_KEY], responses={
    201: DepositSerializer,
    503: OpenApiResponse(description="Stripe could not be reached (`payments_unavailable`); nothing was charged"),
})  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("wallet:write")])
@idempotent
def deposits(request: Request) -> Response:
    """Start a card deposit: returns the PaymentIntent's client secret; the wallet is credited on Stripe's event."""
    user = _lender(request)
    body = AmountSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    payment = deposit_start(
        lender=user, amount_cents=body.validated_data["amount_cents"], request_key=_request_key(request)
    )
    return Response(_deposit_json(payment), status=status.HTTP_201_CREATED)


@extend_schema(tags=["wallet"], responses=DepositSerializer)
@api_view(["GET"])
@permission_classes([IsAuthenticated, require_scope("wallet:read")])
def deposit_detail(request: Request, pk: int) -> Response:
    payment = CardPayment.objects.filter(pk=pk, user=_lender(request), purpose=CardPayment.Purpose.DEPOSIT).first()
    if payment is None:
        raise NotFound("No such deposit.")
    return Response(_deposit_json(payment))


@extend_schema(tags=["wallet"], request=AmountSerializer, responses={201: WithdrawalSerializer},
               parameters=[IDEMPOTENCY_KEY])  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("wallet:write")])
@idempotent
def withdrawals(request: Request) -> Response:
    """Withdraw to the cards the lender deposited with; refused, naming amount_cents and why, beyond the limit."""
    user = _lender(request)
    body = AmountSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    withdrawal = withdrawal_request(
        lender=user, amount_cents=body.validated_data["amount_cents"], request_key=_request_key(request)
    )
    return Response(_withdrawal_json(withdrawal), status=status.HTTP_201_CREATED)


@extend_schema(tags=["wallet"], responses=WithdrawalSerializer)
@api_view(["GET"])
@permission_classes([IsAuthenticated, require_scope("wallet:read")])
def withdrawal_detail(request: Request, pk: int) -> Response:
    withdrawal = Withdrawal.objects.filter(pk=pk, lender=_lender(request)).first()
    if withdrawal is None:
        raise NotFound("No such withdrawal.")
    return Response(_withdrawal_json(withdrawal))
