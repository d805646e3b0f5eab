"""A lender's wallet statement over the API: every movement in a date range, with opening and closing balance.

Bounded by the date range (at most 366 days), not paged: a statement is read whole, its balances
carry from line to line, and the CSV download is one file. Each line's balance is the wallet's
after that movement, so a `kind` filter hides lines without changing the balances shown. A
constant number of queries, whatever the number of lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.models import User
from lending.api.keys import require_scope
from lending.ledger.models import LedgerAccount
from lending.ledger.selectors import account_statement, lender_wallet_find
from lending.loans.statements import COLUMNS, statement_csv, statement_row

MAX_DAYS = 366
DEFAULT_DAYS = 90
# Every journal kind the services post (journal_post takes any string; tests/api/test_statement.py checks
# this list against the code). Not every kind touches a wallet: disbursement and write_off never do.
JOURNAL_KINDS = (
    "deposit", "unapplied_payment", "share_purchase", "expiry_refund", "cancel_refund", "refund",
    "disbursement", "repayment", "recovery", "write_off", "withdrawal_hold", "withdrawal_paid",
    "withdrawal_returned", "dispute_hold", "dispute_lost", "reversal",
)  # fmt: skip


class StatementQuery(serializers.Serializer[Any]):
    start = serializers.DateField(required=False, help_text=f"default: {DEFAULT_DAYS} days before end")
    end = serializers.DateField(required=False, help_text="default: today")
    kind = serializers.MultipleChoiceField(
        choices=JOURNAL_KINDS, required=False, help_text="only these journal kinds; repeat for several"
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS)
        if start > end:
            raise serializers.ValidationError({"start": ["must be on or before end"]})
        if (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError({"start": [f"at most {MAX_DAYS} days per statement"]})
        return {**data, "start": start, "end": end, "kind": sorted(data.get("kind") or [])}


class LineSerializer(serializers.Serializer[Any]):
    effective_at = serializers.DateTimeField(help_text="When the money moved")
    kind = serializers.CharField(help_text="The journal's kind: deposit, share_purchase, repayment, ...")
    description = serializers.CharField()
    amount_cents = serializers.IntegerField(help_text="Into the wallet positive, out of it negative")
    currency = serializers.CharField()
    balance_cents = serializers.IntegerField(help_text="The wallet's balance after this movement")
    journal = serializers.IntegerField(help_text="The ledger journal")
    loan = serializers.IntegerField(allow_null=True, help_text="The loan it concerns, if any")


class StatementSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    kind = serializers.ListField(child=serializers.CharField(), help_text="The kinds asked for; empty: all")
    opening_balance_cents = serializers.IntegerField(help_text="At the start of `start`")
    closing_balance_cents = serializers.IntegerField(help_text="At the end of `end`")
    total_in_cents = serializers.IntegerField(help_text="Over the lines shown")
    total_out_cents = serializers.IntegerField(help_text="Over the lines shown, as a positive amount")
    lines = LineSerializer(many=True)


class StatementCsv(BaseRenderer):
    """The statement's lines as CSV, one header row first."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return statement_csv(data.get("lines", []) if isinstance(data, Mapping) else []).encode()


class FormatNamed(DefaultContentNegotiation):
    """An unknown ?format= is a 400 naming `format` (DRF's own answer is a bare 404)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        offered = list(renderers)
        asked = format_suffix or request.query_params.get(api_settings.URL_FORMAT_OVERRIDE or "format")
        known = [r.format for r in offered]
        if asked and asked not in known:
            raise serializers.ValidationError({"format": [f"one of {', '.join(known)}"]})
        return super().select_renderer(request, offered, format_suffix)


def _statement_json(account: LedgerAccount | None, q: dict[str, Any]) -> dict[str, Any]:
    head = {"currency": settings.PLATFORM_CURRENCY, "start": q["start"].isoformat(), "end": q["end"].isoformat(),
            "kind": q["kind"]}  # fmt: skip
    if account is None:  # no deposit yet: an empty statement, and reading opens no wallet
        return {**head, "opening_balance_cents": 0, "closing_balance_cents": 0, "total_in_cents": 0,
                "total_out_cents": 0, "lines": []}  # fmt: skip
    statement = account_statement(account=account, start=q["start"], end=q["end"])
    lines = [statement_row(account, line) for line in statement.lines if not q["kind"] or line.kind in q["kind"]]
    return {
        **head,
        "opening_balance_cents": statement.opening_balance_cents,
        "closing_balance_cents": statement.closing_balance_cents,
        "total_in_cents": sum(line["amount_cents"] for line in lines if line["amount_cents"] > 0),
        "total_out_cents": -sum(line["amount_cents"] for line in lines if line["amount_cents"] < 0),
        "lines": lines,
    }


class WalletStatement(APIView):
    permission_classes = [IsAuthenticated, require_scope("wallet:read")]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, StatementCsv]
    content_negotiation_class = FormatNamed

    @extend_schema(
        tags=["wallet"], parameters=[StatementQuery],
        responses={
            (200, "application/json"): StatementSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=f"A header row ({','.join(COLUMNS)}), "
                                               "then one row per line"),
            400: OpenApiResponse(description="A bad start, end, kind or format, named in `fields`"),
            403: OpenApiResponse(description="Not a lender, or a key without wallet:read"),
        },
        summary="My wallet statement: each movement with the balance after it, between opening and closing balances",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        user = request.user
        if not isinstance(user, User) or not user.is_lender:
            raise PermissionDenied("Only lenders have a wallet.")
        query = StatementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        account = lender_wallet_find(user_id=user.pk, currency=settings.PLATFORM_CURRENCY)
        response = Response(_statement_json(account, q))
        if isinstance(getattr(request, "accepted_renderer", None), StatementCsv):
            name = f"wallet-statement-{q['start'].isoformat()}-{q['end'].isoformat()}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Errors keep the API's one JSON error shape, even when CSV was asked for."""
        if response.status_code >= 400 and isinstance(getattr(request, "accepted_renderer", None), StatementCsv):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
