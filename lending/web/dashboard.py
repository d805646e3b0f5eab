"""The lender's dashboard pages: figures, charts and portfolio; the statement; auto-lending settings.

Thin function views: selectors (lending.metrics.dashboard, lending.metrics.lenders, the ledger's
statement), a context dict, a template. The dashboard runs the same number of queries for one
loan or two thousand; charts are SVG drawn on the server (lending.web.charts), with their figures
also printed as tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import dateformat, timezone

from accounts.countries import country_name
from accounts.models import User
from lending.autolending.services import Preview, auto_lending_preview, auto_lending_settings_get
from lending.autolending.services import auto_lending_settings_update as settings_update
from lending.ledger.models import LedgerAccount
from lending.ledger.selectors import Statement, account_statement, lender_wallet_find
from lending.loans.models import Loan, Sector
from lending.loans.statements import statement_csv, statement_row
from lending.metrics import dashboard as figures
from lending.metrics.lenders import LenderStatistics, lender_statistics
from lending.money import format_money, to_major
from lending.web.charts import Chart, Point, bar_chart, column_chart, donut_chart
from lending.web.dashboard_forms import AutoLendingForm, PortfolioFilterForm, StatementForm

PAGE_SIZE = 20
ACTIVITY_LINES = 10
STATEMENT_PAGE_LINES = 200
COUNTRY_BARS = 8  # more countries than this: the smallest are summed as "Other"
# The rates shown for the lender next to the platform's, as Kiva's "my stats" does.
RATE_ROWS = (
    ("default_rate_by_amount", "Default rate", "Principal lost to default, of loans that have ended"),
    ("delinquency_rate", "Delinquency rate", "Amount past due, of what borrowers still owe"),
    ("repayment_rate", "Repayment rate", "Paid on time and late, of what has fallen due"),
)
S = Loan.Status
STATUS_COLORS: dict[str, str] = {
    S.PAYING_BACK: "#2c7a3f", S.REPAID: "#0072B2", S.FUNDRAISING: "#E69F00", S.FUNDED: "#56B4E9",
    S.DEFAULTED: "#B3261E", S.EXPIRED: "#7a7a7a", S.REFUNDED: "#a0a0a0", S.CANCELLED: "#5f5f5f",
}  # fmt: skip


def _lender(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_lender else None


def _not_a_lender(request: HttpRequest) -> HttpResponse:
    return render(request, "lending/dashboard/not_a_lender.html", {}, status=403)


def _money(currency: str) -> Callable[[int], str]:
    return lambda cents: format_money(cents, currency)


def _axis_money(currency: str) -> Callable[[int], str]:
    """Tick labels: whole amounts without zero cents; thousands and millions shortened ($1.5k, $2M)."""
    prefix = format_money(0, currency).split("0", 1)[0]  # "$" or "UGX "

    def label(cents: int) -> str:
        major = to_major(cents, currency)
        for size, suffix in ((Decimal(10**6), "M"), (Decimal(10**3), "k")):
            if major >= size:
                return f"{prefix}{(major / size).normalize():f}{suffix}"
        return format_money(cents, currency).removesuffix(".00")

    return label


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _month_points(rows: list[figures.MonthFigure]) -> list[Point]:
    """Short month names; the year under January, and under the first month unless January is next to it."""
    return [
        Point(
            label=dateformat.format(r.month, "M"),
            value=r.cents,
            name=dateformat.format(r.month, "F Y"),
            sub=dateformat.format(r.month, "Y") if r.month.month == 1 or (n == 0 and r.month.month < 12) else "",
        )
        for n, r in enumerate(rows)
    ]


def _country_points(slices: list[figures.Slice]) -> list[Point]:
    points = [Point(country_name(s.key), s.lent_cents) for s in slices[:COUNTRY_BARS]]
    rest = slices[COUNTRY_BARS:]
    if rest:
        points.append(Point("Other", sum(s.lent_cents for s in rest), f"{len(rest)} other countries"))
    return points


def _charts(breakdown: figures.Breakdown, received: list[figures.MonthFigure], expected: figures.Expected,
            currency: str, loan_count: int) -> dict[str, Chart]:  # fmt: skip
    money, axis, unit = _money(currency), _axis_money(currency), f"Amount ({currency})"
    statuses = [Point(S(s.key).label, s.lent_cents, color=STATUS_COLORS.get(s.key, "")) for s in breakdown.by_status]
    return {
        "received": column_chart(
            slug="chart-received", title="Repayments received per month", points=_month_points(received),
            fmt=money, axis_fmt=axis, x_title="Month received", y_title=unit,
        ),
        "expected": column_chart(
            slug="chart-expected", title="Expected repayments, next 12 months", points=_month_points(expected.months),
            fmt=money, axis_fmt=axis, x_title="Month due", y_title=unit,
        ),
        "status": donut_chart(
            slug="chart-status", title="Portfolio by loan status (amount lent)", points=statuses, fmt=money,
            centre=f"{loan_count} loan{'s' if loan_count != 1 else ''}", noun="statuses",
        ),
        "sector": bar_chart(
            slug="chart-sector", title="Portfolio by sector (amount lent)", noun="sectors", fmt=money, axis_fmt=axis,
            points=[Point(Sector(s.key).label, s.lent_cents) for s in breakdown.by_sector], x_title=unit,
        ),
        "country": bar_chart(
            slug="chart-country", title="Portfolio by country (amount lent)", noun="countries", fmt=money,
            axis_fmt=axis, points=_country_points(breakdown.by_country), x_title=unit,
        ),
    }  # fmt: skip


def _expected_note(expected: figures.Expected, currency: str) -> str:
    note = "Your share of the principal borrowers still owe, by the month it falls due."
    if expected.overdue_cents:
        note += f" Also overdue from earlier months: {format_money(expected.overdue_cents, currency)}."
    return note


def _stats_rows(stats: LenderStatistics) -> list[dict[str, str]]:
    return [
        {"name": name, "help": help_text, "mine": _percent(stats.mine[key]), "platform": _percent(stats.platform[key])}
        for key, name, help_text in RATE_ROWS
    ]


def _query_without_page(request: HttpRequest) -> str:
    """The filters in the query string, so page links keep them."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Wallet, totals, "my stats" against the platform, charts, the portfolio table and the latest activity."""
    lender = _lender(request)
    if lender is None:
        return _not_a_lender(request)
    currency, today = settings.PLATFORM_CURRENCY, timezone.localdate()
    breakdown = figures.portfolio_breakdown(lender_id=lender.pk, currency=currency)
    countries = sorted(((s.key, country_name(s.key)) for s in breakdown.by_country), key=lambda c: c[1])
    filters = PortfolioFilterForm(request.GET, countries=countries)
    chosen = {k: v for k, v in filters.cleaned_data.items() if v} if filters.is_valid() else {}
    positions = figures.portfolio_positions(lender_id=lender.pk, currency=currency, **chosen)
    page: Page[Any] = Paginator(positions, PAGE_SIZE).get_page(request.GET.get("page"))
    stats = lender_statistics(lender_id=lender.pk, currency=currency)
    wallet = figures.lender_wallet_figures(lender_id=lender.pk, currency=currency)
    received = figures.repayments_by_month(lender_id=lender.pk, currency=currency, today=today)
    expected = figures.expected_repayments(lender_id=lender.pk, currency=currency, today=today)
    ctx = {
        "currency": currency,
        "wallet": wallet,
        "stats": stats,
        "rates": _stats_rows(stats),
        "charts": _charts(breakdown, received, expected, currency, stats.loan_count),
        "expected_note": _expected_note(expected, currency),
        "filters": filters,
        "filtered": bool(chosen),
        "page": page,
        "query": _query_without_page(request),
        "activity": figures.wallet_activity(wallet_id=wallet.wallet_id, limit=ACTIVITY_LINES),
    }
    return render(request, "lending/dashboard/dashboard.html", ctx, status=400 if filters.errors else 200)


def _statement_csv(
    account: LedgerAccount | None, found: Statement | None, kinds: list[str], start: date, end: date
) -> HttpResponse:
    """The same CSV as the API's statement (its columns, and its guard against spreadsheet formulas)."""
    lines = (
        []
        if found is None or account is None
        else [statement_row(account, line) for line in found.lines if not kinds or line.kind in kinds]
    )
    response = HttpResponse(statement_csv(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="wallet-statement-{start}-{end}.csv"'
    return response


@login_required
def statement(request: HttpRequest) -> HttpResponse:
    """The wallet's statement between two dates, on screen (paged) or as a CSV download."""
    lender = _lender(request)
    if lender is None:
        return _not_a_lender(request)
    currency = settings.PLATFORM_CURRENCY
    form = StatementForm(request.GET)
    ctx: dict[str, Any] = {"currency": currency, "form": form, "statement": None}
    if not form.is_valid():
        return render(request, "lending/dashboard/statement.html", ctx, status=400)
    start, end, kinds = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["kinds"]
    account = lender_wallet_find(user_id=lender.pk, currency=currency)
    found = account_statement(account=account, start=start, end=end) if account else None
    if request.GET.get("format") == "csv":
        return _statement_csv(account, found, kinds, start, end)
    lines = [line for line in found.lines if not kinds or line.kind in kinds] if found else []
    ctx.update(
        start=start, end=end, statement=found, filtered=bool(kinds), query=_query_without_page(request),
        page=Paginator(lines, STATEMENT_PAGE_LINES).get_page(request.GET.get("page")),
        total_in=sum(line.credit_cents for line in lines), total_out=sum(line.debit_cents for line in lines),
    )  # fmt: skip
    return render(request, "lending/dashboard/statement.html", ctx)


def _reason(text: str, currency: str) -> str:
    """The service's reasons name amounts in minor units ("60000 still needed"): print them as money."""
    amount, sep, rest = text.partition(" still needed")
    return f"{format_money(int(amount), currency)} still needed{rest}" if sep and amount.isdigit() else text


def _dry_run(preview: Preview, currency: str) -> dict[str, Any]:
    """The dry run as the page shows it: each loan it would choose, how much and why, and a one-line verdict."""
    loans = figures.loans_named([d.loan_id for d in preview.decisions])
    share = settings.LOAN_SHARE_CENTS
    if preview.decisions:
        later = "" if preview.trial.enabled else " once you turn auto-lending on"
        note = f"Auto-lending would lend to {len(preview.decisions)} loan(s){later}."
    elif preview.available_cents < share:
        note = f"Nothing to lend: your wallet holds less than one share ({format_money(share, currency)})."
    elif preview.lends_from is not None and preview.lends_from > preview.on:
        note = f"Nothing yet: your latest credit may be lent from {dateformat.format(preview.lends_from, 'j F Y')}."
    else:
        note = "No fundraising loan matches your criteria and caps today."
    return {
        "note": note,
        "on": preview.on,
        "available_cents": preview.available_cents,
        "total_cents": sum(d.amount_cents for d in preview.decisions),
        "rows": [{"loan": loans.get(d.loan_id), "loan_id": d.loan_id, "amount_cents": d.amount_cents,
                  "reasons": [_reason(r, currency) for r in d.reason.split("; ")]} for d in preview.decisions],
    }  # fmt: skip


@login_required
def auto_lending(request: HttpRequest) -> HttpResponse:
    """Auto-lending settings: save them, or try them in a dry run that lists the loans they would choose and why."""
    lender = _lender(request)
    if lender is None:
        return _not_a_lender(request)
    currency = settings.PLATFORM_CURRENCY
    saved = auto_lending_settings_get(lender=lender)
    dry_run = None
    if request.method == "POST":
        form = AutoLendingForm(request.POST, currency=currency)
        if form.is_valid() and request.POST.get("action") == "dry_run":
            dry_run = _dry_run(auto_lending_preview(lender=lender, **form.settings_fields), currency)
        elif form.is_valid():
            settings_update(lender=lender, **form.settings_fields)
            messages.success(request, "Your auto-lending settings are saved.")
            return redirect("dashboard-auto-lending")
    else:
        form = AutoLendingForm(initial=AutoLendingForm.initial_from(saved, currency), currency=currency)
    ctx = {"form": form, "saved": saved, "dry_run": dry_run, "currency": currency}
    return render(request, "lending/dashboard/auto_lending.html", ctx, status=400 if form.errors else 200)
