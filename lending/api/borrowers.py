"""Borrowers over the API: a field partner's staff list and add their own partner's borrowers.

A borrower's name and town are personal data: here only their field partner's staff, the borrower
themself and platform staff see them (a loan, once listed, shows its borrower's name, as Kiva does).
To those the list shows the borrowers they may see and nothing else; any other borrower answers 404,
as if it did not exist. Lenders have no business here (403). Platform staff see every borrower and
name the partner when they add one. Lists run a constant number of queries.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BorrowerProfile, FieldPartner, User
from accounts.services import borrower_create
from lending.api.idempotency import idempotent
from lending.api.keys import require_scope
from lending.api.loans import visible_loans
from lending.api.schema import IDEMPOTENCY_KEY
from lending.loans.models import Loan

REFUSED = OpenApiResponse(description="Not logged in, a lender, or an API key without the scope")
NOT_YOURS = OpenApiResponse(description="No such borrower that you may see")
INVALID = OpenApiResponse(description="Invalid input: `error.fields` names each bad or unknown field; nothing written")
REUSED_KEY = OpenApiResponse(description="The Idempotency-Key was used for a different request")


def _own_partner_id(user: User | Any) -> int | None:
    staff = getattr(user, "partner_staff", None) if getattr(user, "is_partner_staff", False) else None
    return None if staff is None else int(staff.partner_id)


def visible_borrowers(user: User | Any) -> QuerySet[BorrowerProfile]:
    """The borrowers this caller may see: all for platform staff, their partner's for its staff, or themself."""
    if not getattr(user, "is_authenticated", False):
        return BorrowerProfile.objects.none()
    if user.is_platform_staff:
        return BorrowerProfile.objects.all()
    mine = Q(user=user)
    partner_id = _own_partner_id(user)
    if partner_id is not None:
        mine |= Q(partner_id=partner_id)
    return BorrowerProfile.objects.filter(mine)


class MayHandleBorrowers(permissions.BasePermission):
    """Reading: partner staff, platform staff, borrowers. Adding: partner staff of a partner, platform staff."""

    message = "Only field-partner staff and platform staff handle borrowers; a borrower sees only themself."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):
            return False
        if request.method == "POST":
            return user.is_platform_staff or _own_partner_id(user) is not None
        return user.is_platform_staff or user.is_partner_staff or user.is_borrower


class BorrowerSerializer(serializers.ModelSerializer[BorrowerProfile]):
    partner_name = serializers.CharField(source="partner.name", read_only=True, default=None)
    has_login = serializers.SerializerMethodField(help_text="Whether the borrower can log in themself")

    class Meta:
        model = BorrowerProfile
        fields = ["id", "display_name", "country", "town", "partner", "partner_name", "has_login", "created_at"]
        read_only_fields = fields

    def get_has_login(self, borrower: BorrowerProfile) -> bool:
        return borrower.user_id is not None


class BorrowerLoanSerializer(serializers.ModelSerializer[Loan]):
    class Meta:
        model = Loan
        fields = ["id", "status"]
        read_only_fields = fields


class BorrowerDetailSerializer(BorrowerSerializer):
    loans = BorrowerLoanSerializer(source="visible_loans", many=True, read_only=True,
                                   help_text="The borrower's loans you may see, oldest first")  # fmt: skip

    class Meta(BorrowerSerializer.Meta):
        fields = [*BorrowerSerializer.Meta.fields, "loans"]
        read_only_fields = fields


class NewBorrowerSerializer(serializers.Serializer[Any]):
    """A new borrower of a field partner; unknown fields are refused rather than silently dropped."""

    display_name = serializers.CharField(max_length=100, help_text="Shown on their loans once listed")
    country = serializers.RegexField(
        r"^[A-Za-z]{2}\Z", help_text="ISO 3166-1 alpha-2, e.g. KE",
        error_messages={"invalid": "Use a two-letter ISO 3166 country code, such as KE."},
    )  # fmt: skip
    town = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    partner = serializers.IntegerField(
        min_value=1, required=False, help_text="Platform staff: required. Partner staff: your own partner, or leave out"
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return data


def _partner_for(user: User, partner_id: int | None) -> FieldPartner:
    """The partner a new borrower joins: the one platform staff name, or the caller's own."""
    own = _own_partner_id(user)
    if user.is_platform_staff or own is None:
        if partner_id is None:
            raise serializers.ValidationError({"partner": ["Name the field partner the borrower belongs to."]})
        partner = FieldPartner.objects.filter(pk=partner_id).first()
        if partner is None:
            raise serializers.ValidationError({"partner": ["No such field partner."]})
        return partner
    if partner_id is not None and partner_id != own:
        raise serializers.ValidationError({"partner": ["You may add borrowers only to your own field partner."]})
    return FieldPartner.objects.get(pk=own)


def _detail_queryset(user: User | Any) -> QuerySet[BorrowerProfile]:
    loans = visible_loans(user).only("id", "status", "borrower").order_by("id")
    return (
        visible_borrowers(user)
        .select_related("partner")
        .prefetch_related(Prefetch("loans", queryset=loans, to_attr="visible_loans"))
    )


@idempotent
def _borrower_add(request: Request) -> Response:
    body = NewBorrowerSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    user = request.user
    assert isinstance(user, User)  # MayHandleBorrowers let only users through
    partner = _partner_for(user, data.get("partner"))
    borrower = borrower_create(
        display_name=data["display_name"], country=data["country"], town=data["town"], partner=partner
    )
    created = _detail_queryset(user).get(pk=borrower.pk)
    return Response(BorrowerDetailSerializer(created).data, status=status.HTTP_201_CREATED)


class BorrowerFilter(django_filters.FilterSet):
    partner = django_filters.NumberFilter(field_name="partner_id", help_text="A field partner id (platform staff)")
    country = django_filters.CharFilter(method="filter_country", help_text="ISO 3166-1 alpha-2, e.g. KE")

    class Meta:
        model = BorrowerProfile
        fields: list[str] = []

    def filter_country(self, queryset: QuerySet[BorrowerProfile], name: str, value: str) -> QuerySet[BorrowerProfile]:
        return queryset.filter(country=value.upper())


@extend_schema(tags=["borrowers"])
class BorrowerList(generics.ListAPIView[BorrowerProfile]):
    """A field partner's borrowers (to its staff), every borrower (to platform staff), or yourself (a borrower)."""

    serializer_class = BorrowerSerializer
    filterset_class = BorrowerFilter

    def get_permissions(self) -> list[permissions.BasePermission]:
        scope = "loans:write" if getattr(self.request, "method", None) == "POST" else "loans:read"
        return [IsAuthenticated(), require_scope(scope)(), MayHandleBorrowers()]

    def get_queryset(self) -> QuerySet[BorrowerProfile]:
        return visible_borrowers(self.request.user).select_related("partner")

    @extend_schema(
        summary="List the borrowers you may see (scope loans:read)",
        responses={200: BorrowerSerializer(many=True), 403: REFUSED},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=NewBorrowerSerializer, parameters=[IDEMPOTENCY_KEY],
        responses={201: BorrowerDetailSerializer, 400: INVALID, 403: REFUSED, 409: REUSED_KEY},
        summary="Add a borrower to your field partner, or (platform staff) to the partner named (scope loans:write)",
    )  # fmt: skip
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _borrower_add(request)


@extend_schema(
    tags=["borrowers"], responses={200: BorrowerDetailSerializer, 403: REFUSED, 404: NOT_YOURS},
    summary="A borrower you may see, with the ids and statuses of their loans (scope loans:read)",
)  # fmt: skip
class BorrowerDetail(generics.RetrieveAPIView[BorrowerProfile]):
    serializer_class = BorrowerDetailSerializer
    permission_classes = [IsAuthenticated, require_scope("loans:read"), MayHandleBorrowers]

    def get_queryset(self) -> QuerySet[BorrowerProfile]:
        return _detail_queryset(self.request.user)
