"""Loans over the API: search and list, detail with funding and repayment status, and a loan's lenders.

Public loans (listed or past fundraising) are open to anyone, as on Kiva. A loan not yet listed
(draft, submitted, approved, rejected, cancelled) exists only for its borrower, its field partner's
staff and platform staff: to anyone else it answers 404. Lists run a constant number of queries
whatever the page size.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BorrowerProfile, User
from lending.api.idempotency import idempotent
from lending.api.keys import require_scope
from lending.api.pagination import Cursor
from lending.api.partners import PartnerStatisticsSerializer
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans import permissions
from lending.loans.applications import loan_apply, loan_submit
from lending.loans.errors import NotAllowed
from lending.loans.models import Installment, LenderPosition, Loan, Sector
from lending.loans.selectors import SORTS, LoanFilter, installment_state, visible_loans
from lending.loans.selectors import loans_annotated as _annotated
from lending.loans.selectors import public_name as _public_name
from lending.metrics.partners import partner_figures_of
from lending.schedules import Frequency

S = Loan.Status


class LoanCursor(Cursor):
    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        return SORTS.get(request.query_params.get("sort", ""), SORTS["newest"])


class LoanSerializer(serializers.ModelSerializer[Loan]):
    amount_left_cents = serializers.IntegerField(source="left_cents", read_only=True)
    lender_count = serializers.IntegerField(read_only=True)
    funded_percent = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    borrower_name = serializers.CharField(source="borrower.display_name", read_only=True)
    partner_name = serializers.CharField(source="partner.name", read_only=True, default=None)

    class Meta:
        model = Loan
        fields = [
            "id", "status", "borrower_name", "borrower_count", "borrower_gender", "partner", "partner_name",
            "purpose", "sector", "country", "amount_cents", "currency", "raised_cents", "amount_left_cents",
            "funded_percent", "share_size_cents", "lender_count", "fundraising_deadline", "days_left",
            "repayments", "repayment_every", "repayment_frequency", "annual_interest_rate", "disbursed_on",
            "maturity_date", "delinquent", "days_past_due", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_funded_percent(self, loan: Loan) -> int:
        return loan.raised_cents * 100 // loan.amount_cents

    def get_days_left(self, loan: Loan) -> int | None:
        if loan.status != S.FUNDRAISING or loan.fundraising_deadline is None:
            return None
        return max((loan.fundraising_deadline - timezone.localdate()).days, 0)


class InstallmentSerializer(serializers.ModelSerializer[Installment]):
    total_cents = serializers.IntegerField(read_only=True)
    paid_cents = serializers.IntegerField(read_only=True)
    state = serializers.SerializerMethodField(help_text="repaid, partial, late or future")

    class Meta:
        model = Installment
        fields = ["number", "due_date", "principal_cents", "interest_cents", "fees_cents", "total_cents",
                  "paid_cents", "paid_on", "state"]  # fmt: skip
        read_only_fields = fields

    def get_state(self, row: Installment) -> str:
        return installment_state(row)


class LoanDetailSerializer(LoanSerializer):
    schedule = InstallmentSerializer(source="installments", many=True, read_only=True)
    partner_statistics = serializers.SerializerMethodField(
        help_text="The field partner's loans posted, amount raised and rates from its latest snapshot; "
        "null for a direct loan"
    )

    class Meta(LoanSerializer.Meta):
        fields = [*LoanSerializer.Meta.fields, "schedule", "partner_statistics"]
        read_only_fields = fields

    @extend_schema_field(PartnerStatisticsSerializer(allow_null=True))
    def get_partner_statistics(self, loan: Loan) -> dict[str, Any] | None:
        """Two queries whatever the partner's size: only the detail shows them, never the list."""
        figures = partner_figures_of(loan.partner_id) if loan.partner_id is not None else None
        return None if figures is None else dict(PartnerStatisticsSerializer(figures).data)


@extend_schema(tags=["loans"])
class LoanList(generics.ListAPIView[Loan]):
    """Search loans: by status (default: fundraising), sector, country, partner, gender, amount or days left."""

    permission_classes = [AllowAny]
    serializer_class = LoanSerializer
    filterset_class = LoanFilter
    pagination_class = LoanCursor

    def get_queryset(self) -> QuerySet[Loan]:
        loans = _annotated(visible_loans(self.request.user))
        if "status" not in self.request.query_params:
            loans = loans.filter(status=S.FUNDRAISING)
        return loans


@extend_schema(tags=["loans"])
class LoanDetail(generics.RetrieveAPIView[Loan]):
    """One loan with its funding progress and, once disbursed, its schedule and each installment's state."""

    permission_classes = [AllowAny]
    serializer_class = LoanDetailSerializer

    def get_queryset(self) -> QuerySet[Loan]:
        return _annotated(visible_loans(self.request.user)).prefetch_related("installments")


class LenderSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The lender's public name, or 'Anonymous'")
    lent_cents = serializers.IntegerField()


@extend_schema(tags=["loans"], responses=LenderSerializer(many=True))
class LoanLenders(generics.ListAPIView[LenderPosition]):
    """Who lent to a loan: public names, or 'Anonymous' for lenders who keep their lending private."""

    permission_classes = [AllowAny]
    serializer_class = LenderSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[LenderPosition]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return LenderPosition.objects.none()
        loan = generics.get_object_or_404(visible_loans(self.request.user), pk=self.kwargs["pk"])
        return LenderPosition.objects.filter(loan=loan, lent_cents__gt=0).select_related("lender__lender_profile")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = [
            {"name": _public_name(position.lender), "lent_cents": position.lent_cents}
            for position in self.get_queryset().order_by("-lent_cents", "id")
        ]
        return Response(LenderSerializer(rows, many=True).data)


# --- drafts: field partners' systems (or borrowers) post applications ----------------------------


class LoanDraftSerializer(serializers.Serializer[Any]):
    """A loan application: the borrower (a partner's own, or the caller), what is asked for, the terms."""

    borrower = serializers.IntegerField(help_text="A borrower id the caller may apply for")
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField(max_length=3)
    purpose = serializers.CharField(max_length=200)
    sector = serializers.ChoiceField(choices=Sector.choices)
    repayments = serializers.IntegerField(min_value=1, max_value=600)
    repayment_every = serializers.IntegerField(min_value=1, max_value=120, required=False)
    repayment_frequency = serializers.ChoiceField(choices=[f.value for f in Frequency], required=False)
    annual_interest_rate = serializers.DecimalField(max_digits=7, decimal_places=4, min_value=0, required=False)
    borrower_count = serializers.IntegerField(min_value=1, max_value=100, required=False)
    borrower_gender = serializers.ChoiceField(choices=Loan.Gender.choices, required=False)
    fundraising_days = serializers.IntegerField(min_value=1, max_value=90, required=False)
    country = serializers.CharField(min_length=2, max_length=2, required=False)


@extend_schema(
    tags=["loans"], request=LoanDraftSerializer, responses={201: LoanDetailSerializer}, parameters=[IDEMPOTENCY_KEY],
    summary="Create a loan application (a draft) for a borrower you may apply for",
)  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("loans:write")])
@idempotent
def loan_draft_create(request: Request) -> Response:
    form = LoanDraftSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = dict(form.validated_data)
    user = request.user
    assert isinstance(user, User)
    borrower = BorrowerProfile.objects.filter(pk=data.pop("borrower")).first()
    if borrower is None:
        raise serializers.ValidationError({"borrower": ["No such borrower."]})
    try:
        permissions.require_can_apply_for(user, borrower)
    except NotAllowed:
        raise serializers.ValidationError({"borrower": ["No such borrower that you may apply for."]}) from None
    loan = loan_apply(actor=user, borrower=borrower, **data)
    return Response(LoanDetailSerializer(_annotated(Loan.objects.filter(pk=loan.pk)).get()).data, status=201)


@extend_schema(tags=["loans"], request=None, responses=LoanDetailSerializer, parameters=[IDEMPOTENCY_KEY],
               summary="Submit a draft for review")  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("loans:write")])
@idempotent
def loan_submit_view(request: Request, pk: int) -> Response:
    loan = generics.get_object_or_404(visible_loans(request.user), pk=pk)
    loan_submit(loan=loan, actor=request.user)  # type: ignore[arg-type]
    return Response(LoanDetailSerializer(_annotated(Loan.objects.filter(pk=loan.pk)).get()).data)
