"""A lender's auto-lending over the API: read and change their settings, and preview what they would lend now.

PUT changes the fields it is given and leaves the others as they are; it is idempotent by nature
(the same body leaves the same settings), so it takes no Idempotency-Key. The dry run decides as
the nightly run would, under the saved settings or under settings posted to try, and writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from lending.api.keys import require_scope
from lending.autolending.models import AutoLendingSettings
from lending.autolending.services import (
    EDITABLE,
    MAX_CENTS,
    MAX_IDLE_DAYS,
    MAX_TERM_MONTHS,
    Preview,
    auto_lending_preview,
    auto_lending_settings_get,
    auto_lending_settings_update,
)
from lending.loans.models import Loan, Sector

SHARE = settings.LOAN_SHARE_CENTS
NOT_A_LENDER = OpenApiResponse(description="Not a lender, or a key without the scope")


def _cap(what: str) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, min_value=SHARE, max_value=MAX_CENTS,
                                    help_text=f"At most this much outstanding per {what}; null: no cap")  # fmt: skip


class SettingsSerializer(serializers.Serializer[Any]):
    """A lender's auto-lending criteria and caps. Empty lists mean "any"."""

    enabled = serializers.BooleanField(help_text="Off until you turn it on")
    # Choices by value alone: the schema's Sector and Gender enums (with labels) stay named after the loan's fields.
    sectors = serializers.ListField(child=serializers.ChoiceField(choices=Sector.values))
    countries = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2, e.g. KE")
    )
    genders = serializers.ListField(child=serializers.ChoiceField(choices=Loan.Gender.values))
    allow_group_loans = serializers.BooleanField()
    max_partner_default_rate = serializers.DecimalField(
        max_digits=7, decimal_places=6, min_value=0, max_value=1, allow_null=True,
        help_text="A fraction (0.02 is 2%): only partners whose default rate is at most this",
    )  # fmt: skip
    min_partner_rating = serializers.DecimalField(
        max_digits=2, decimal_places=1, min_value=0, max_value=5, allow_null=True,
        help_text="Only partners rated at least this (0 to 5)",
    )  # fmt: skip
    max_term_months = serializers.IntegerField(allow_null=True, min_value=1, max_value=MAX_TERM_MONTHS)
    max_per_loan_cents = serializers.IntegerField(
        min_value=SHARE, max_value=MAX_CENTS, help_text=f"A multiple of the share size ({SHARE})"
    )
    max_per_partner_cents = _cap("field partner")
    max_per_country_cents = _cap("country")
    max_per_sector_cents = _cap("sector")
    idle_days = serializers.IntegerField(
        min_value=0, max_value=MAX_IDLE_DAYS, help_text="Lend credit only after it sat this long"
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null: never changed")


class SettingsChange(SettingsSerializer):
    """Settings to change (or, for a dry run, to try): the fields left out keep their value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True  # else a form body's missing booleans would read as false
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Unknown fields (a typo such as `sector`) are named with the bad ones, never silently ignored."""
        names = set(data) if isinstance(data, dict) else set()
        unknown = {name: ["not an auto-lending setting"] for name in sorted(names - set(EDITABLE) - {"updated_at"})}
        try:
            value: dict[str, Any] = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class DecisionSerializer(serializers.Serializer[Any]):
    loan = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    reason = serializers.CharField(help_text="Why this loan: each criterion it meets, and how much it still needs")


class DryRunSerializer(serializers.Serializer[Any]):
    on = serializers.DateField(help_text="The business date decided for: today")
    currency = serializers.CharField()
    available_cents = serializers.IntegerField(help_text="The wallet's credit now")
    lends_from = serializers.DateField(
        allow_null=True, help_text="When the latest credit will have sat idle_days, and may be lent"
    )
    settings = SettingsSerializer(help_text="The settings decided with (the saved ones, with any posted tried on)")
    would_lend_cents = serializers.IntegerField()
    decisions = DecisionSerializer(many=True)
    note = serializers.CharField(help_text="Why nothing would be lent, or what would be")


def _lender(request: Request) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_lender:
        raise PermissionDenied("Only lenders lend, automatically or not.")
    return user


def _settings_json(row: AutoLendingSettings) -> dict[str, Any]:
    data = SettingsSerializer(row).data
    data["updated_at"] = data["updated_at"] if row.pk else None
    return dict(data)


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object of settings."]})
    body = SettingsChange(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


class AutoLending(APIView):
    def get_permissions(self) -> list[BasePermission]:
        """Reading the settings needs wallet:read; changing them, lending:write (they decide what is lent)."""
        scope = "wallet:read" if self.request.method in SAFE_METHODS else "lending:write"
        return [IsAuthenticated(), require_scope(scope)()]

    @extend_schema(
        tags=["auto-lending"], responses={200: SettingsSerializer, 403: NOT_A_LENDER},
        summary="My auto-lending settings (the defaults, off, until first changed)",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        user = _lender(request)
        return Response(_settings_json(auto_lending_settings_get(lender=user)))

    @extend_schema(
        tags=["auto-lending"], request=SettingsChange,
        responses={200: SettingsSerializer, 400: OpenApiResponse(description="Each bad or unknown field named"),
                   403: NOT_A_LENDER},
        summary="Change my auto-lending settings: the fields sent change, the others stay as they are",
    )  # fmt: skip
    def put(self, request: Request) -> Response:
        user = _lender(request)
        return Response(_settings_json(auto_lending_settings_update(lender=user, **_body(request))))


def _note(preview: Preview) -> str:
    if preview.decisions:
        later = "" if preview.trial.enabled else " once auto-lending is turned on"
        return f"Would lend to {len(preview.decisions)} loan(s){later}."
    if preview.available_cents < SHARE:
        return f"Nothing to lend: the wallet holds less than one share ({SHARE})."
    if preview.lends_from is not None and preview.lends_from > preview.on:
        return f"Nothing yet: the latest credit may be lent from {preview.lends_from.isoformat()} (idle_days)."
    return "No fundraising loan matches the criteria and caps now."


@extend_schema(
    tags=["auto-lending"], request=SettingsChange,
    responses={200: DryRunSerializer, 400: OpenApiResponse(description="Each bad or unknown field named"),
               403: NOT_A_LENDER},
    summary="Which loans auto-lending would lend to now, and why; with settings posted to try. Writes nothing",
)  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated, require_scope("wallet:read")])
def auto_lending_dry_run(request: Request) -> Response:
    user = _lender(request)
    preview = auto_lending_preview(lender=user, **_body(request))
    return Response(
        {
            "on": preview.on.isoformat(),
            "currency": settings.PLATFORM_CURRENCY,
            "available_cents": preview.available_cents,
            "lends_from": preview.lends_from.isoformat() if preview.lends_from else None,
            "settings": _settings_json(preview.trial),
            "would_lend_cents": sum(d.amount_cents for d in preview.decisions),
            "decisions": [
                {"loan": d.loan_id, "amount_cents": d.amount_cents, "reason": d.reason} for d in preview.decisions
            ],
            "note": _note(preview),
        }
    )
