"""Field partners over the API, public as Kiva's partner pages: who they are, what they posted and raised,
and how their loans repay (delinquency, default, PAR 30 from the nightly snapshots, dated by them).

Lists run a constant number of queries whatever the page size. A partner's figures over time come from
the same snapshots as /metrics/series/, checked by the same rules.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import FieldPartner
from lending.api.keys import require_scope
from lending.api.metrics import SeriesQuery, SeriesSerializer
from lending.api.pagination import Cursor
from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.partners import partner_figures, partner_series, partners_with_totals
from lending.metrics.selectors import group_report

D = PortfolioSnapshot.Dimension
NO_PARTNER = OpenApiResponse(description="No such field partner")


class PartnerStatisticsSerializer(serializers.Serializer[Any]):
    """Shown on a partner and on each of its loans."""

    loans_posted = serializers.IntegerField(help_text="Loans the partner ever listed for lenders")
    amount_raised_cents = serializers.IntegerField(
        help_text="Lenders' money in its loans (fundraising or funded), expired and refunded loans left out"
    )
    currency = serializers.CharField(help_text="The platform currency the amount and the rates are in")
    as_of = serializers.DateField(allow_null=True, help_text="The business date of the snapshot the rates are from")
    formula_version = serializers.IntegerField()
    par_30 = serializers.FloatField(allow_null=True, help_text="Outstanding principal over 30 days late, 0..1")
    delinquency_rate = serializers.FloatField(allow_null=True, help_text="Amount past due / outstanding, 0..1")
    default_rate_by_amount = serializers.FloatField(allow_null=True, help_text="Kiva's default rate, 0..1")
    default_rate_by_count = serializers.FloatField(allow_null=True)


class PartnerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2")
    status = serializers.ChoiceField(choices=FieldPartner.Status.choices)
    risk_rating = serializers.DecimalField(max_digits=2, decimal_places=1, allow_null=True, help_text="0 to 5")
    statistics = PartnerStatisticsSerializer()


class PartnerFilter(django_filters.FilterSet):
    country = django_filters.CharFilter(method="filter_country", help_text="ISO 3166-1 alpha-2, e.g. KE")
    status = django_filters.MultipleChoiceFilter(choices=FieldPartner.Status.choices)

    class Meta:
        model = FieldPartner
        fields: list[str] = []

    def filter_country(self, queryset: QuerySet[FieldPartner], name: str, value: str) -> QuerySet[FieldPartner]:
        return queryset.filter(country=value.upper())


class PartnerCursor(Cursor):
    ordering = "name"  # unique, so the cursor needs no tie-breaker


def _rows(partners: list[FieldPartner]) -> list[dict[str, Any]]:
    figures = partner_figures(partners)
    return [
        {"id": p.pk, "name": p.name, "country": p.country, "status": p.status, "risk_rating": p.risk_rating,
         "statistics": figures[p.pk]}
        for p in partners
    ]  # fmt: skip


def _partner_json(pk: int) -> dict[str, Any]:
    partner = partners_with_totals(FieldPartner.objects.filter(pk=pk)).first()
    if partner is None:
        raise NotFound("No such field partner.")
    return dict(PartnerSerializer(_rows([partner])[0]).data)


@extend_schema(tags=["partners"], summary="Field partners with loans posted, amount raised and repayment rates")
class PartnerList(generics.ListAPIView[FieldPartner]):
    permission_classes = [AllowAny]
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilter
    pagination_class = PartnerCursor

    def get_queryset(self) -> QuerySet[FieldPartner]:
        return partners_with_totals(FieldPartner.objects.all())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PartnerSerializer(_rows(list(page or [])), many=True).data)


@extend_schema(tags=["partners"], responses={200: PartnerSerializer, 404: NO_PARTNER},
               summary="A field partner with loans posted, amount raised and repayment rates")  # fmt: skip
@api_view(["GET"])
@permission_classes([AllowAny])
def partner_detail(request: Request, pk: int) -> Response:
    return Response(_partner_json(pk))


@extend_schema(
    tags=["partners"], summary="The field partner I work for (partner staff)",
    responses={200: PartnerSerializer, 403: OpenApiResponse(description="Not logged in"),
               404: OpenApiResponse(description="You do not work for a field partner")},
)  # fmt: skip
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def partner_me(request: Request) -> Response:
    staff = getattr(request.user, "partner_staff", None) if getattr(request.user, "is_partner_staff", False) else None
    if staff is None:
        raise NotFound("You do not work for a field partner.")
    return Response(_partner_json(staff.partner_id))


class PartnerSeriesQuery(SeriesQuery):
    """`start` and `end`, checked as /metrics/series/ checks them; the dimension and key are the partner's."""

    dimension = None  # type: ignore[assignment]
    key = None  # type: ignore[assignment]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        return super().validate({**data, "dimension": D.PARTNER, "key": self.context["key"]})


@extend_schema(
    tags=["partners"], parameters=[PartnerSeriesQuery],
    responses={200: SeriesSerializer, 400: OpenApiResponse(description="A bad start or end, named in `fields`"),
               403: OpenApiResponse(description="An API key without metrics:read"), 404: NO_PARTNER},
    summary="A field partner's daily portfolio figures (PAR, delinquency, default and repayment rates)",
)  # fmt: skip
@api_view(["GET"])
@permission_classes([AllowAny, require_scope("metrics:read")])
def partner_metrics(request: Request, pk: int) -> Response:
    if not FieldPartner.objects.filter(pk=pk).exists():
        raise NotFound("No such field partner.")
    query = PartnerSeriesQuery(data=request.query_params, context={"key": str(pk)})
    query.is_valid(raise_exception=True)
    start, end = query.validated_data["start"], query.validated_data["end"]
    rows = partner_series(partner_id=pk, start=start, end=end)
    return Response(
        {
            "dimension": D.PARTNER,
            "key": str(pk),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "formula_version": FORMULA_VERSION,
            "points": [{"as_of": row.as_of.isoformat(), **group_report(row)} for row in rows],
        }
    )
