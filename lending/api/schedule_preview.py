"""POST /api/v1/schedule-preview/: the public repayment calculator; maps input to ScheduleTerms, nothing more.

Amounts travel as decimal strings in major units of `currency`; every field that is wrong is named in a
400 in the API's one error shape, and a ScheduleError from the engine is named the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from lending.money import MoneyError, check_currency, minor_exponent, to_major, to_minor
from lending.schedules import (
    Amortization,
    DayCount,
    Frequency,
    Installment,
    InstallmentRounding,
    InterestMethod,
    ScheduleError,
    ScheduleTerms,
    build_schedule,
)

# Caps so that nobody can make the server build a million rows or work on absurd numbers.
MAX_PRINCIPAL = Decimal("10000000")
MAX_REPAYMENTS = 600
MAX_REPAYMENT_EVERY = 120
MAX_RATE = Decimal("1000")


def _choices(kind: type[Any]) -> list[str]:
    return [member.value for member in kind]


def _rate_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal(0), max_value=MAX_RATE, **kwargs)


def _amount_field(**kwargs: Any) -> serializers.DecimalField:
    # Three places is the most any supported currency has; the currency's own limit is checked by to_minor.
    return serializers.DecimalField(max_digits=20, decimal_places=3, max_value=MAX_PRINCIPAL, **kwargs)


class SchedulePreviewInput(serializers.Serializer):
    principal = _amount_field()
    currency = serializers.CharField(max_length=3)
    interest_method = serializers.ChoiceField(choices=_choices(InterestMethod), default=InterestMethod.NONE.value)
    amortization = serializers.ChoiceField(
        choices=_choices(Amortization), default=Amortization.EQUAL_INSTALLMENTS.value
    )
    annual_interest_rate = _rate_field(default=Decimal(0))
    interest_rate_per_period = _rate_field(required=False, allow_null=True, default=None)
    repayments = serializers.IntegerField(min_value=1, max_value=MAX_REPAYMENTS)
    repayment_every = serializers.IntegerField(min_value=1, max_value=MAX_REPAYMENT_EVERY, default=1)
    repayment_frequency = serializers.ChoiceField(choices=_choices(Frequency), default=Frequency.MONTHS.value)
    bullet = serializers.BooleanField(default=False)
    disbursement_date = serializers.DateField()
    first_repayment_date = serializers.DateField(required=False, allow_null=True, default=None)
    day_count = serializers.ChoiceField(choices=_choices(DayCount), default=DayCount.SAME_AS_REPAYMENT_PERIOD.value)
    grace_on_principal_periods = serializers.IntegerField(min_value=0, max_value=MAX_REPAYMENTS, default=0)
    grace_on_interest_periods = serializers.IntegerField(min_value=0, max_value=MAX_REPAYMENTS, default=0)
    installment_multiple_of = _amount_field(required=False, allow_null=True, default=None)
    installment_rounding = serializers.ChoiceField(
        choices=_choices(InstallmentRounding), default=InstallmentRounding.NEAREST.value
    )
    annual_fee_rate = _rate_field(default=Decimal(0))

    def validate_currency(self, value: str) -> str:
        try:
            return check_currency(value)
        except MoneyError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_principal(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Ensure this value is greater than 0.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Amounts in minor units of the currency; a precision the currency lacks is named on its field."""
        errors: dict[str, list[str]] = {}
        for field in ("principal", "installment_multiple_of"):
            if attrs[field] is None:
                continue
            try:
                attrs[field] = to_minor(attrs[field], attrs["currency"])
            except MoneyError as exc:
                errors[field] = [str(exc)]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _terms(data: dict[str, Any]) -> ScheduleTerms:
    return ScheduleTerms(
        principal=data["principal"],
        minor_exponent=minor_exponent(data["currency"]),
        repayments=data["repayments"],
        disbursement_date=data["disbursement_date"],
        repayment_every=data["repayment_every"],
        repayment_frequency=Frequency(data["repayment_frequency"]),
        bullet=data["bullet"],
        interest_method=InterestMethod(data["interest_method"]),
        amortization=Amortization(data["amortization"]),
        annual_interest_rate=data["annual_interest_rate"],
        interest_rate_per_period=data["interest_rate_per_period"],
        day_count=DayCount(data["day_count"]),
        first_repayment_date=data["first_repayment_date"],
        grace_on_principal_periods=data["grace_on_principal_periods"],
        grace_on_interest_periods=data["grace_on_interest_periods"],
        installment_multiple_of=data["installment_multiple_of"],
        installment_rounding=InstallmentRounding(data["installment_rounding"]),
        annual_fee_rate=data["annual_fee_rate"],
    )


def _major(amount: int, currency: str) -> str:
    return str(to_major(amount, currency))


def _row(row: Installment, currency: str) -> dict[str, Any]:
    amounts = {
        "principal": row.principal,
        "interest": row.interest,
        "fees": row.fees,
        "total": row.total,
        "balance": row.balance,
    }
    money = {name: _major(value, currency) for name, value in amounts.items()}
    return {"number": row.number, "due_date": row.due_date.isoformat(), **money}


def _totals(rows: list[Installment], currency: str) -> dict[str, str]:
    sums = {
        "principal": sum(row.principal for row in rows),
        "interest": sum(row.interest for row in rows),
        "fees": sum(row.fees for row in rows),
        "total": sum(row.total for row in rows),
    }
    return {name: _major(value, currency) for name, value in sums.items()}


class _SettingsScopedRateThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle, reading the rates per request: the stock class binds them at import time,
    so a changed REST_FRAMEWORK setting (override_settings in tests) would otherwise never apply."""

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES  # the stubs call them numbers; they are "60/minute"
        self.THROTTLE_RATES = rates
        return super().get_rate()


_View = TypeVar("_View", bound=Callable[..., Any])


def _throttle_scope(scope: str) -> Callable[[_View], _View]:
    """Set `throttle_scope` on a function view; DRF's @api_view copies it to the view class."""

    def decorate(view: _View) -> _View:
        view.__dict__["throttle_scope"] = scope
        return view

    return decorate


class _Row(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = serializers.DecimalField(max_digits=20, decimal_places=4)
    interest = serializers.DecimalField(max_digits=20, decimal_places=4)
    fees = serializers.DecimalField(max_digits=20, decimal_places=4)
    total = serializers.DecimalField(max_digits=20, decimal_places=4)
    balance = serializers.DecimalField(max_digits=20, decimal_places=4)


class _Totals(serializers.Serializer):
    principal = serializers.DecimalField(max_digits=20, decimal_places=4)
    interest = serializers.DecimalField(max_digits=20, decimal_places=4)
    fees = serializers.DecimalField(max_digits=20, decimal_places=4)
    total = serializers.DecimalField(max_digits=20, decimal_places=4)


class SchedulePreviewOutput(serializers.Serializer):
    installments = _Row(many=True)
    totals = _Totals()
    currency = serializers.CharField()


@extend_schema(
    tags=["calculator"], request=SchedulePreviewInput, responses=SchedulePreviewOutput, auth=[],
    summary="The repayment schedule of a loan's terms (public, throttled); amounts are decimal strings",
)  # fmt: skip
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([_SettingsScopedRateThrottle])
@_throttle_scope("schedule_preview")
def schedule_preview(request: Request) -> Response:
    """The installments and totals of the loan described in the body; nothing is stored."""
    form = SchedulePreviewInput(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    try:
        rows = build_schedule(_terms(data))
    except ScheduleError as exc:
        raise serializers.ValidationError({exc.field: [str(exc)]}) from None
    currency = data["currency"]
    installments = [_row(row, currency) for row in rows]
    return Response({"installments": installments, "totals": _totals(rows, currency), "currency": currency})
