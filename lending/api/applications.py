"""A borrower's side of the API: edit or cancel an application, and follow one's own loans step by step.

Who applied may edit: the borrower, their field partner's staff, or platform staff. To anyone else an
application does not exist (404), even one they could see once it is listed. Only a draft may be
edited (409 once submitted); a draft, submitted or approved application may be withdrawn.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BorrowerProfile, User
from lending.api.idempotency import idempotent
from lending.api.keys import require_scope
from lending.api.loans import LoanDetailSerializer, LoanDraftSerializer, LoanSerializer, _annotated, visible_loans
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans import permissions
from lending.loans.applications import NotADraft, loan_cancel, loan_draft_update
from lending.loans.errors import NotAllowed
from lending.loans.models import Installment, Loan, LoanEvent

S = Loan.Status

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input: `error.fields` names each bad field"),
    403: OpenApiResponse(
        OpenApiTypes.OBJECT, description="Not allowed (`permission_denied`), or a key lacks the scope"
    ),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such loan that you may see"),
    409: OpenApiResponse(OpenApiTypes.OBJECT, description="The loan is not in a state for this (`invalid_state`)"),
}


def caller(request: Request) -> User:
    """The authenticated user (every view here requires one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def loan_answer(loan_id: int) -> Any:
    """The loan as GET /loans/<id>/ shows it, read afresh after an action."""
    loan = _annotated(Loan.objects.filter(pk=loan_id)).prefetch_related("installments").get()
    return LoanDetailSerializer(loan).data


def _applicant_loan(user: User, pk: int) -> Loan:
    """A loan the caller may edit; to anyone else it does not exist, whether or not it is listed."""
    loan = generics.get_object_or_404(visible_loans(user).select_related("borrower"), pk=pk)
    try:
        permissions.require_can_edit(user, loan)
    except NotAllowed:
        raise NotFound("No Loan matches the given query.") from None
    return loan


def _draft_changes(user: User, data: Any) -> dict[str, Any]:
    """The validated fields of a PATCH: only those sent, each checked as on a new draft; unknown ones refused."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object of the fields to change."]})
    unknown = sorted(set(data) - set(LoanDraftSerializer().fields))
    if unknown:
        raise serializers.ValidationError({name: ["This field cannot be changed."] for name in unknown})
    form = LoanDraftSerializer(data=data, partial=True)
    form.is_valid(raise_exception=True)
    changes = dict(form.validated_data)
    if "borrower" in changes:
        borrower = BorrowerProfile.objects.filter(pk=changes["borrower"]).first()
        try:
            if borrower is None:
                raise NotAllowed("no such borrower")
            permissions.require_can_apply_for(user, borrower)
        except NotAllowed:
            raise serializers.ValidationError({"borrower": ["No such borrower that you may apply for."]}) from None
        changes["borrower"] = borrower
    return changes


@extend_schema(
    methods=["PATCH"], tags=["applications"], request=LoanDraftSerializer,
    responses={200: LoanDetailSerializer, **ERRORS}, parameters=[IDEMPOTENCY_KEY],
    summary="Edit a draft application: send only the fields to change; each is checked as on a new draft",
)  # fmt: skip
@extend_schema(
    methods=["DELETE"], tags=["applications"], request=None, responses={200: LoanDetailSerializer, **ERRORS},
    parameters=[IDEMPOTENCY_KEY, OpenApiParameter("reason", OpenApiTypes.STR, OpenApiParameter.QUERY,
                description="Why it is withdrawn (default: 'Withdrawn by the applicant')")],
    summary="Withdraw a draft, submitted or approved application; answers the cancelled loan",
)  # fmt: skip
@api_view(["PATCH", "DELETE"])
@permission_classes([IsAuthenticated, require_scope("loans:write")])
@idempotent
def loan_draft(request: Request, pk: int) -> Response:
    user = caller(request)
    loan = _applicant_loan(user, pk)
    if request.method == "DELETE":
        reason = request.query_params.get("reason", "").strip()[:500] or "Withdrawn by the applicant"
        loan_cancel(loan=loan, actor=user, reason=reason)
        return Response(loan_answer(loan.pk))
    if loan.status != S.DRAFT:  # before the fields: no edit could help
        raise NotADraft(loan_id=loan.pk, status=loan.status)
    loan_draft_update(loan=loan, actor=user, **_draft_changes(user, request.data))
    return Response(loan_answer(loan.pk))


class CancellationSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, help_text="Why the application is withdrawn")


@extend_schema(
    tags=["applications"], request=CancellationSerializer, responses={200: LoanDetailSerializer, **ERRORS},
    parameters=[IDEMPOTENCY_KEY],
    summary="Withdraw a draft, submitted or approved application, with a reason",
)  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("loans:write")])
@idempotent
def loan_draft_cancel(request: Request, pk: int) -> Response:
    user = caller(request)
    loan = _applicant_loan(user, pk)
    form = CancellationSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    loan_cancel(loan=loan, actor=user, reason=form.validated_data["reason"])
    return Response(loan_answer(loan.pk))


# --- my loans: a borrower follows each application from draft to the last repayment ----------------

# status -> (step, what happens next), in the borrower's words
STEPS: dict[str, tuple[str, str]] = {
    S.DRAFT: ("application", "Complete the application and submit it for review."),
    S.SUBMITTED: ("review", "Submitted: waiting for the field partner or staff to review it."),
    S.APPROVED: ("review", "Approved: waiting to be listed for lenders."),
    S.FUNDRAISING: ("fundraising", "Listed: lenders are funding it."),
    S.FUNDED: ("disbursement", "Fully funded: waiting to be paid out."),
    S.PAYING_BACK: ("repayment", "Paid out: repay each installment by its due date."),
    S.REPAID: ("ended", "Repaid in full."),
    S.DEFAULTED: ("ended", "Defaulted: the unpaid principal was written off."),
    S.REFUNDED: ("ended", "Refunded to the lenders."),
    S.EXPIRED: ("ended", "Fundraising ended before the loan was fully funded."),
    S.REJECTED: ("ended", "Not approved: see the reason."),
    S.CANCELLED: ("ended", "Withdrawn: see the reason."),
}
STEP_NAMES = ["application", "review", "fundraising", "disbursement", "repayment", "ended"]


class MyLoanSerializer(LoanSerializer):
    step = serializers.SerializerMethodField(help_text=f"One of {', '.join(STEP_NAMES)}")
    next_step = serializers.SerializerMethodField(help_text="What happens next, in words")
    status_reason = serializers.CharField(
        read_only=True, allow_null=True, help_text="The reason given with the last change of status (e.g. a rejection)"
    )
    next_due_date = serializers.DateField(read_only=True, allow_null=True, help_text="The next unpaid installment")

    class Meta(LoanSerializer.Meta):
        fields = [*LoanSerializer.Meta.fields, "step", "next_step", "status_reason", "next_due_date"]
        read_only_fields = fields

    @staticmethod
    def get_step(loan: Loan) -> str:
        return STEPS[loan.status][0]

    @staticmethod
    def get_next_step(loan: Loan) -> str:
        return STEPS[loan.status][1]


@extend_schema(
    tags=["applications"], responses=MyLoanSerializer(many=True),
    summary="My loans as a borrower, every status, newest first, each with the step it is at",
)  # fmt: skip
class MyLoans(generics.ListAPIView[Loan]):
    serializer_class = MyLoanSerializer
    permission_classes = [IsAuthenticated, require_scope("loans:read")]
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[Loan]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no caller
            return Loan.objects.none()
        next_due = Installment.objects.filter(loan=OuterRef("pk"), paid_on__isnull=True).order_by("number")
        last_event = LoanEvent.objects.filter(loan=OuterRef("pk")).order_by("-id")
        return _annotated(Loan.objects.filter(borrower__user=caller(self.request))).annotate(
            next_due_date=Subquery(next_due.values("due_date")[:1]),
            status_reason=Subquery(last_event.values("reason")[:1]),
        )
