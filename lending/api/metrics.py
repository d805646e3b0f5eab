"""Portfolio metrics over the API: time series from the nightly snapshots (nothing is computed on read).

Platform, partner, country and sector figures are public, as Kiva publishes its partners' rates; a
lender's own figures (dimension `lender`) are theirs alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.selectors import group_report

MAX_DAYS = 366
D = PortfolioSnapshot.Dimension


class SeriesQuery(serializers.Serializer[Any]):
    dimension = serializers.ChoiceField(choices=D.values, default=D.PLATFORM)
    key = serializers.CharField(required=False, allow_blank=True, max_length=40,
                                help_text="partner id, country code or sector; not for platform or lender")  # fmt: skip
    start = serializers.DateField(required=False, help_text="default: 90 days before end")
    end = serializers.DateField(required=False, help_text="default: today")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=90)
        if start > end:
            raise serializers.ValidationError({"start": ["must be on or before end"]})
        if (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError({"start": [f"at most {MAX_DAYS} days per request"]})
        if data["dimension"] in (D.PARTNER, D.COUNTRY, D.SECTOR) and not data.get("key"):
            raise serializers.ValidationError({"key": [f"required for the {data['dimension']} dimension"]})
        return {**data, "start": start, "end": end}


class PointSerializer(serializers.Serializer[Any]):
    as_of = serializers.DateField()
    currency = serializers.CharField()
    loans_by_status = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
    outstanding_principal = serializers.IntegerField()
    amount_past_due = serializers.IntegerField()
    amount_repaid = serializers.IntegerField()
    amount_lost = serializers.IntegerField()
    par_1 = serializers.FloatField(allow_null=True)
    par_30 = serializers.FloatField(allow_null=True)
    par_90 = serializers.FloatField(allow_null=True)
    delinquency_rate = serializers.FloatField(allow_null=True)
    default_rate_by_count = serializers.FloatField(allow_null=True)
    default_rate_by_amount = serializers.FloatField(allow_null=True)
    repayment_rate = serializers.FloatField(allow_null=True)
    ended_count = serializers.IntegerField()
    defaulted_count = serializers.IntegerField()


class SeriesSerializer(serializers.Serializer[Any]):
    dimension = serializers.CharField()
    key = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    formula_version = serializers.IntegerField()
    points = PointSerializer(many=True)


@extend_schema(
    tags=["metrics"], parameters=[SeriesQuery], responses=SeriesSerializer,
    summary="Daily portfolio figures (PAR, delinquency, default and repayment rates) from the nightly snapshots",
)  # fmt: skip
@api_view(["GET"])
@permission_classes([AllowAny])
def series(request: Request) -> Response:
    query = SeriesQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    key = q.get("key") or ""
    if q["dimension"] == D.LENDER:
        if not request.user.is_authenticated:
            raise serializers.ValidationError({"dimension": ["log in to read your own lender figures"]})
        key = str(request.user.pk)  # a lender's figures are their own: no key picks someone else's
    elif q["dimension"] == D.PLATFORM:
        key = ""
    elif q["dimension"] == D.COUNTRY:
        key = key.upper()
    rows = PortfolioSnapshot.objects.filter(
        dimension=q["dimension"], key=key, as_of__range=(q["start"], q["end"]), formula_version=FORMULA_VERSION,
        currency=settings.PLATFORM_CURRENCY,
    ).order_by("as_of")  # fmt: skip
    return Response(
        {
            "dimension": q["dimension"],
            "key": key,
            "start": q["start"].isoformat(),
            "end": q["end"].isoformat(),
            "formula_version": FORMULA_VERSION,
            "points": [{"as_of": row.as_of.isoformat(), **group_report(row)} for row in rows],
        }
    )
