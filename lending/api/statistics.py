"""A lender's "my statistics" over the API: what they lent and what became of it, their rates and the platform's.

Amounts are live (from the lender's positions); rates come from the latest nightly close, dated by
`as_of` (null, with null rates, before the first close), the lender's next to the platform's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from lending.api.keys import require_scope
from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.lenders import RATES, LenderStatistics, lender_statistics


class RatesSerializer(serializers.Serializer[Any]):
    """Fractions from 0 to 1 (0.02 is 2%), null when there is nothing to divide by."""

    default_rate_by_amount = serializers.FloatField(
        allow_null=True, help_text="Kiva's default rate: principal lost on defaulted loans / amount of ended loans"
    )
    default_rate_by_count = serializers.FloatField(allow_null=True, help_text="Defaulted loans / ended loans")
    delinquency_rate = serializers.FloatField(allow_null=True, help_text="Amount past due / outstanding principal")
    par_30 = serializers.FloatField(allow_null=True, help_text="Outstanding more than 30 days late / outstanding")
    repayment_rate = serializers.FloatField(allow_null=True, help_text="Paid against installments due / due")


class StatusFiguresSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    lent_cents = serializers.IntegerField()


class StatisticsSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    lent_cents = serializers.IntegerField(help_text="Principal lent, in all")
    repaid_cents = serializers.IntegerField(help_text="Principal repaid to you")
    interest_received_cents = serializers.IntegerField()
    outstanding_cents = serializers.IntegerField(help_text="Lent, less repaid, written off and refunded")
    defaulted_cents = serializers.IntegerField(help_text="Written off, less recovered since")
    written_off_cents = serializers.IntegerField()
    recovered_cents = serializers.IntegerField(help_text="Repaid after the loan defaulted")
    refunded_cents = serializers.IntegerField(help_text="Returned to your wallet: loans expired, cancelled, refunded")
    loans = serializers.IntegerField(help_text="Loans you lent to")
    loans_by_status = serializers.DictField(child=StatusFiguresSerializer(), help_text="By the loan's status now")
    as_of = serializers.DateField(allow_null=True, help_text="The nightly close the rates come from")
    formula_version = serializers.IntegerField()
    mine = RatesSerializer(help_text="Your rates, over your stakes")
    platform = RatesSerializer(help_text="The platform's rates on the same date")


def _rates_json(rates: dict[str, Decimal | None]) -> dict[str, float | None]:
    return {name: None if (value := rates[name]) is None else float(value) for name in RATES}


def _json(stats: LenderStatistics) -> dict[str, Any]:
    return {
        "currency": stats.currency,
        "lent_cents": stats.lent_cents,
        "repaid_cents": stats.repaid_cents,
        "interest_received_cents": stats.interest_received_cents,
        "outstanding_cents": stats.outstanding_cents,
        "defaulted_cents": stats.defaulted_cents,
        "written_off_cents": stats.written_off_cents,
        "recovered_cents": stats.recovered_cents,
        "refunded_cents": stats.refunded_cents,
        "loans": stats.loan_count,
        "loans_by_status": {
            status: {"count": s.count, "lent_cents": s.lent_cents} for status, s in stats.loans_by_status.items()
        },
        "as_of": stats.as_of.isoformat() if stats.as_of else None,
        "formula_version": FORMULA_VERSION,
        "mine": _rates_json(stats.mine),
        "platform": _rates_json(stats.platform),
    }


@extend_schema(
    tags=["lending"],
    responses={200: StatisticsSerializer, 403: OpenApiResponse(description="Not a lender, or no wallet:read scope")},
    summary="My statistics: lent, repaid, outstanding, defaulted; my default and delinquency rates and the platform's",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, require_scope("wallet:read")])
def my_statistics(request: Request) -> Response:
    user = request.user
    if not isinstance(user, User) or not user.is_lender:
        raise PermissionDenied("Only lenders have lending statistics.")
    return Response(_json(lender_statistics(lender_id=user.pk, currency=settings.PLATFORM_CURRENCY)))
