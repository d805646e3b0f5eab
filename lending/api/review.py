"""Staff and field partners move loans along: approve, reject, publish, disburse; platform staff refund and write off.

Each action is a POST with an Idempotency-Key, answers the loan as GET /loans/<id>/ shows it, and is
checked in this order: a loan the caller may not see is a 404; one they may see but not act on is a
403 (a lender sees a listed loan but may not approve it); then the body (400); then the loan's
state (409 `invalid_state`). A field partner's staff act on their own partner's loans only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.applications import ERRORS, caller, loan_answer
from lending.api.idempotency import idempotent
from lending.api.keys import require_scope
from lending.api.loans import LoanDetailSerializer, visible_loans
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans import permissions
from lending.loans.applications import loan_approve, loan_publish, loan_reject
from lending.loans.default import loan_refund, loan_write_off
from lending.loans.disbursement import loan_disburse
from lending.loans.models import Loan

Check = Callable[[User, Loan], None]
Act = Callable[[Loan, User, dict[str, Any]], object]
REVIEW: list[type[BasePermission]] = [IsAuthenticated, require_scope("loans:review")]


class OptionalReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RequiredReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, help_text="Kept in the loan's audit trail")


class NoBody(serializers.Serializer[Any]):
    pass


class DisbursementSerializer(serializers.Serializer[Any]):
    disbursed_on = serializers.DateField(required=False, help_text="Default today; not in the future")
    first_repayment_date = serializers.DateField(required=False, help_text="Default one period after disbursement")

    def validate_disbursed_on(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError("A loan cannot be paid out in the future.")
        funded_on = self.context["loan"].funded_on
        if funded_on is not None and value < funded_on:
            raise serializers.ValidationError(f"The loan was funded on {funded_on}: pay it out then or later.")
        return value


def _review(user: User, loan: Loan) -> None:
    permissions.require_can_review(user, loan)


def _staff_only(action: str) -> Check:
    def check(user: User, loan: Loan) -> None:
        permissions.require_platform_staff(user, action)

    return check


def _act(request: Request, pk: int, *, check: Check, body: type[serializers.Serializer[Any]], act: Act) -> Response:
    """Find the loan the caller may see (404), check they may act (403), read the body (400), act (409)."""
    user = caller(request)
    loan = generics.get_object_or_404(visible_loans(user), pk=pk)
    check(user, loan)
    form = body(data=request.data, context={"loan": loan})
    form.is_valid(raise_exception=True)
    act(loan, user, dict(form.validated_data))
    return Response(loan_answer(loan.pk))


def _schema(summary: str, request: type[serializers.Serializer[Any]] | None) -> Callable[[Any], Any]:
    return extend_schema(
        tags=["review"], request=request, responses={200: LoanDetailSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_KEY], summary=summary,
    )  # fmt: skip


@_schema("Approve a submitted loan (platform staff, or its field partner's staff)", OptionalReasonSerializer)
@api_view(["POST"])
@permission_classes(REVIEW)
@idempotent
def approve(request: Request, pk: int) -> Response:
    return _act(request, pk, check=_review, body=OptionalReasonSerializer,
                act=lambda loan, user, data: loan_approve(loan=loan, actor=user, reason=data["reason"]))  # fmt: skip


@_schema("Reject a submitted loan, with a reason the borrower can read", RequiredReasonSerializer)
@api_view(["POST"])
@permission_classes(REVIEW)
@idempotent
def reject(request: Request, pk: int) -> Response:
    return _act(request, pk, check=_review, body=RequiredReasonSerializer,
                act=lambda loan, user, data: loan_reject(loan=loan, actor=user, reason=data["reason"]))  # fmt: skip


@_schema("List an approved loan for fundraising, from today for its fundraising days", None)
@api_view(["POST"])
@permission_classes(REVIEW)
@idempotent
def publish(request: Request, pk: int) -> Response:
    return _act(request, pk, check=_review, body=NoBody,
                act=lambda loan, user, data: loan_publish(loan=loan, actor=user))  # fmt: skip


@_schema("Pay out a funded loan and fix its repayment schedule", DisbursementSerializer)
@api_view(["POST"])
@permission_classes(REVIEW)
@idempotent
def disburse(request: Request, pk: int) -> Response:
    def act(loan: Loan, user: User, data: dict[str, Any]) -> Loan:
        return loan_disburse(loan=loan, actor=user, on=data.get("disbursed_on"),
                             first_repayment_date=data.get("first_repayment_date"))  # fmt: skip

    return _act(request, pk, check=_review, body=DisbursementSerializer, act=act)


@_schema("Refund a funded or paying-back loan: each lender gets back their unrepaid principal (platform staff)",
         RequiredReasonSerializer)  # fmt: skip
@api_view(["POST"])
@permission_classes(REVIEW)
@idempotent
def refund(request: Request, pk: int) -> Response:
    return _act(request, pk, check=_staff_only("refund a loan"), body=RequiredReasonSerializer,
                act=lambda loan, user, data: loan_refund(loan=loan, actor=user, reason=data["reason"]))  # fmt: skip


@_schema("Write off a paying-back loan now: defaulted, each lender's outstanding principal written off "
         "(platform staff)", RequiredReasonSerializer)  # fmt: skip
@api_view(["POST"])
@permission_classes(REVIEW)
@idempotent
def write_off(request: Request, pk: int) -> Response:
    return _act(request, pk, check=_staff_only("write off a loan"), body=RequiredReasonSerializer,
                act=lambda loan, user, data: loan_write_off(loan=loan, actor=user, reason=data["reason"]))  # fmt: skip
