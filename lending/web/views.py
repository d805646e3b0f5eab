"""Function views: a selector call, a context dict, a template."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from lending.ledger.selectors import account_statement, lender_wallet_find
from lending.loans.featured import loans_needing_funding
from lending.metrics.platform import platform_figures
from lending.money import format_money
from lending.web.payments import wallet_payments_context


def home(request: HttpRequest) -> HttpResponse:
    """The public front page: the platform's figures, loans that need lenders now, and how it works."""
    needs = loans_needing_funding(today=timezone.localdate(), limit=6)
    ctx = {
        "figures": platform_figures(currency=settings.PLATFORM_CURRENCY),
        "needs": [(need, f"/loans/{need.loan.pk}/") for need in needs],  # the loan page: `loan-detail` once built
        "share": format_money(settings.LOAN_SHARE_CENTS, settings.PLATFORM_CURRENCY).removesuffix(".00"),  # "$25"
    }
    return render(request, "lending/home.html", ctx)


def _statement_range(request: HttpRequest) -> tuple[date, date, str]:
    """The ?start=&end= range asked for (default: the last 90 days), or the default and an error."""
    today = timezone.localdate()
    try:
        end = date.fromisoformat(request.GET.get("end") or today.isoformat())
        start = date.fromisoformat(request.GET.get("start") or (end - timedelta(days=90)).isoformat())
    except ValueError:
        return today - timedelta(days=90), today, "Dates must look like 2026-01-31; showing the last 90 days."
    if start > end:
        return today - timedelta(days=90), today, "The start date must be on or before the end date."
    return start, end, ""


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    """A lender's wallet: available credit and a statement of its movements."""
    if not request.user.is_lender:  # type: ignore[union-attr]
        return render(request, "lending/not_a_lender.html", {}, status=403)
    start, end, error = _statement_range(request)
    account = lender_wallet_find(
        user_id=int(request.user.pk),  # type: ignore[arg-type]
        currency=settings.PLATFORM_CURRENCY,
    )
    statement = account_statement(account=account, start=start, end=end) if account else None
    ctx = {
        "currency": settings.PLATFORM_CURRENCY,
        "statement": statement,
        "balance_cents": account.balance_cents if account else 0,
        "start": start,
        "end": end,
        "error": error,
        **wallet_payments_context(request.user),  # type: ignore[arg-type]
    }
    return render(request, "lending/wallet.html", ctx, status=400 if error else 200)
