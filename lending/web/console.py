"""The console of field partners' staff and platform staff: review, pay out, post repayments, follow arrears.

Thin function views over the loan services (applications, disbursement, repayments, batches, default)
and the read-only selectors of `lending.loans.worklists`. A partner's staff see and act on their own
partner's loans only (another partner's loan is a 404, as if it did not exist); platform staff see
every loan and alone may refund or write one off; lenders and borrowers are answered 403.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.models import FieldPartner, User
from lending.ledger.errors import IdempotencyConflict, LedgerError
from lending.loans.applications import loan_approve, loan_publish, loan_reject
from lending.loans.batches import COLUMNS, BatchRefused, repayment_batch_record, rows_from_csv
from lending.loans.default import loan_refund, loan_write_off
from lending.loans.disbursement import loan_disburse
from lending.loans.errors import InvalidTransition, LoanError, NotAllowed
from lending.loans.models import Loan, Repayment
from lending.loans.repayments import repayment_record
from lending.loans.worklists import (
    arrears_buckets,
    batch_preview,
    bucket_of,
    console_loans,
    console_partner,
    loans_at_risk,
    loans_lost,
    loans_lost_totals,
    principal_outstanding,
    review_queue,
    state_counts,
)
from lending.metrics.partners import partner_figures_of, partner_series
from lending.metrics.selectors import group_report
from lending.money import format_money
from lending.web import console_forms as cf
from lending.web.console_charts import Point, day_label, line_chart
from lending.web.payments import new_request_key

S = Loan.Status
PAGE_SIZE = 50
BATCHES_KEPT = 5  # previews kept in the session at once; older ones are forgotten
SESSION_KEY = "console_batches"


@dataclass(frozen=True)
class Console:
    """Who is at the console and which loans they work on."""

    user: User
    partner: FieldPartner | None  # None: platform staff, every loan

    @property
    def partner_id(self) -> int | None:
        return None if self.partner is None else self.partner.pk

    @property
    def is_platform(self) -> bool:
        return self.partner_id is None

    @property
    def loans(self) -> QuerySet[Loan]:
        return console_loans(self.partner_id)

    @property
    def source(self) -> str:
        """What the repayments this user posts are recorded as (the API's rule)."""
        return Repayment.Source.STAFF if self.is_platform else Repayment.Source.PARTNER


ConsoleView = Callable[..., HttpResponse]


def console_page(view: ConsoleView) -> Callable[..., HttpResponse]:
    """Log in first; then only a field partner's staff and platform staff get past (403 for anyone else)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)
        try:
            partner = console_partner(user)
        except NotAllowed:
            return render(request, "lending/console/forbidden.html", {}, status=403)
        return view(request, Console(user, partner), *args, **kwargs)

    return wrapped


def _loan(c: Console, pk: int) -> Loan:
    """The loan if this user works on it; another partner's loan does not exist for them (404)."""
    return get_object_or_404(c.loans, pk=pk)


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and ok else default


def _paged(request: HttpRequest, rows: QuerySet[Any]) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _money(cents: int, currency: str) -> str:
    return format_money(cents, currency)


# --- the review queue --------------------------------------------------------------------------------


@console_page
def queue(request: HttpRequest, c: Console) -> HttpResponse:
    """Submitted loans to approve or reject, approved ones to list, funded ones to pay out; counts per state."""
    loans = c.loans
    counts = [(Loan.Status(state).label, n, state) for state, n in state_counts(loans).items()]
    ctx = {"c": c, "counts": counts, "queue": review_queue(loans)}
    return render(request, "lending/console/queue.html", ctx)


# --- one loan: its page and the actions on it ---------------------------------------------------------

LOAN_FORMS: dict[str, type[forms.Form]] = {
    "approve": cf.ApproveForm,
    "reject": cf.RejectForm,
    "publish": cf.PublishForm,
    "disburse": cf.DisburseForm,
    "repay": cf.RepaymentForm,
}
NEEDS_LOAN = {"disburse", "repay"}


def _new_form(name: str, loan: Loan, data: Any = None) -> forms.Form:
    kwargs: dict[str, Any] = {"prefix": name}
    if name in NEEDS_LOAN:
        kwargs["loan"] = loan
    form = LOAN_FORMS[name](data, **kwargs)
    if name == "repay" and data is None:
        form.initial["request_key"] = new_request_key()
    return form


def _loan_actions(loan: Loan) -> list[str]:
    """The forms the loan page offers in the loan's state."""
    offered: dict[str, list[str]] = {
        S.SUBMITTED: ["approve", "reject"],
        S.APPROVED: ["publish"],
        S.FUNDED: ["disburse"],
        S.PAYING_BACK: ["repay"],
        S.DEFAULTED: ["repay"],
    }
    return offered.get(loan.status, [])


def _loan_page(
    request: HttpRequest, c: Console, loan: Loan, bound: dict[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    names = _loan_actions(loan)
    # A refused form the loan's state no longer offers (approved meanwhile): its message goes above the page.
    notices = [e for name, form in bound.items() if name not in names for e in form.non_field_errors()]
    ctx = {
        "c": c,
        "loan": loan,
        "notices": notices,
        "forms": {name: bound.get(name) or _new_form(name, loan) for name in names},
        "events": loan.events.select_related("actor").order_by("-id")[:20],
        "repayments": loan.payments.order_by("-received_on", "-id")[:10],
        "can_refund": c.is_platform and loan.status in (S.FUNDED, S.PAYING_BACK),
        "can_write_off": c.is_platform and loan.status == S.PAYING_BACK,
        "bucket": bucket_of(loan),
    }
    return render(request, "lending/console/loan.html", ctx, status=status)


@console_page
def loan_detail(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    return _loan_page(request, c, _loan(c, pk))


def _refused(form: forms.Form, exc: LoanError, fields: dict[str, str]) -> int:
    """Put a service's refusal next to the field it names (400), else above the form: the loan's state (409)."""
    if isinstance(exc, InvalidTransition):
        form.add_error(None, f"Nothing was done: the loan is {exc.from_status.replace('_', ' ')} now.")
        return 409
    message = str(exc).split(": ", 1)[-1]
    name = fields.get(exc.field or "", "")
    if name in form.fields:
        form.add_error(name, message[:1].upper() + message[1:])
        return 400
    form.add_error(None, f"Nothing was done: {message}.")
    return 409


Act = Callable[[Loan, Console, dict[str, Any]], str]


def _act(request: HttpRequest, c: Console, pk: int, name: str, act: Act) -> HttpResponse:
    """POST one of the loan page's forms: checked, then the service; success back to where it came from."""
    loan = _loan(c, pk)
    if request.method != "POST":
        return redirect("console-loan", pk=loan.pk)
    form = _new_form(name, loan, request.POST)
    status = 400
    if form.is_valid():
        try:
            done = act(loan, c, form.cleaned_data)
        except NotAllowed:
            return render(request, "lending/console/forbidden.html", {}, status=403)
        except (LoanError, LedgerError) as exc:
            status = _say_refusal(form, exc)
        else:
            messages.success(request, done)
            return redirect(_next(request, default=f"/console/loans/{loan.pk}/"))
    loan.refresh_from_db()
    return _loan_page(request, c, loan, {name: form}, status=status)


def _say_refusal(form: forms.Form, exc: LoanError | LedgerError) -> int:
    if isinstance(exc, IdempotencyConflict):
        form.add_error(None, "This form was already sent with other figures. Reload the page to post another.")
        return 409
    if isinstance(exc, LedgerError):
        form.add_error(None, f"Nothing was recorded: {exc}.")
        return 409
    fields = {"reason": "reason", "amount_cents": "amount", "received_on": "received_on",
              "first_repayment_date": "first_repayment_date", "disbursement_date": "disbursed_on"}  # fmt: skip
    return _refused(form, exc, fields)


@console_page
def approve(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    def act(loan: Loan, c: Console, data: dict[str, Any]) -> str:
        loan_approve(loan=loan, actor=c.user, reason=data["reason"])
        return f"Loan {loan.pk} approved. List it for lenders when you are ready."

    return _act(request, c, pk, "approve", act)


@console_page
def reject(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    def act(loan: Loan, c: Console, data: dict[str, Any]) -> str:
        loan_reject(loan=loan, actor=c.user, reason=data["reason"])
        return f"Loan {loan.pk} rejected."

    return _act(request, c, pk, "reject", act)


@console_page
def publish(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    def act(loan: Loan, c: Console, data: dict[str, Any]) -> str:
        listed = loan_publish(loan=loan, actor=c.user)
        deadline = listed.fundraising_deadline
        return f"Loan {loan.pk} is listed for lenders until {day_label(deadline) if deadline else 'its deadline'}."

    return _act(request, c, pk, "publish", act)


@console_page
def disburse(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    def act(loan: Loan, c: Console, data: dict[str, Any]) -> str:
        paid = loan_disburse(
            loan=loan, actor=c.user, on=data["disbursed_on"], first_repayment_date=data["first_repayment_date"]
        )
        first, amount = paid.first_repayment_date, _money(paid.amount_cents, paid.currency)
        return (
            f"Loan {loan.pk} paid out: {amount}, first repayment due {day_label(first) if first else 'as scheduled'}."
        )

    return _act(request, c, pk, "disburse", act)


@console_page
def repayment(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    """Post one repayment; the form's one-time key is the repayment's key, so a double click posts it once."""

    def act(loan: Loan, c: Console, data: dict[str, Any]) -> str:
        paid = repayment_record(
            loan=loan, amount_cents=data["amount"], currency=loan.currency, received_on=data["received_on"],
            source=c.source, idempotency_key=f"web:{data['request_key']}", actor=c.user,
        )  # fmt: skip
        parts = [f"principal {_money(paid.principal_cents, paid.currency)}"]
        parts += [f"interest {_money(paid.interest_cents, paid.currency)}"] if paid.interest_cents else []
        parts += [f"fees {_money(paid.fees_cents, paid.currency)}"] if paid.fees_cents else []
        parts += [f"{_money(paid.overpayment_cents, paid.currency)} held as credit"] if paid.overpayment_cents else []
        kind, amount = ("recovery" if paid.is_recovery else "repayment"), _money(paid.amount_cents, paid.currency)
        return f"Recorded a {kind} of {amount} for loan {loan.pk}: {', '.join(parts)}."

    return _act(request, c, pk, "repay", act)


# --- write-off and refund: platform staff, after a confirmation page ----------------------------------

ENDINGS: dict[str, dict[str, Any]] = {
    "write-off": {
        "form": cf.WriteOffForm,
        "allowed": (S.PAYING_BACK,),
        "title": "Write off loan",
        "button": "Write off loan",
        "service": loan_write_off,
        "done": "Loan {pk} written off: {amount} of lenders' principal.",
    },
    "refund": {
        "form": cf.RefundForm,
        "allowed": (S.FUNDED, S.PAYING_BACK),
        "title": "Refund loan",
        "button": "Refund loan",
        "service": loan_refund,
        "done": "Loan {pk} refunded: {amount} back to its lenders.",
    },
}


def _ending(request: HttpRequest, c: Console, pk: int, kind: str) -> HttpResponse:
    """The confirmation page (GET) and the act (POST) of writing off or refunding a loan."""
    loan, ending = _loan(c, pk), ENDINGS[kind]
    if not c.is_platform:
        return render(request, "lending/console/forbidden.html", {"only_platform": True}, status=403)
    form, status = ending["form"](request.POST if request.method == "POST" else None, prefix=kind), 200
    possible = loan.status in ending["allowed"]
    amount = principal_outstanding(loan) if possible else 0
    if request.method == "POST" and possible:
        status = 400
        if form.is_valid():
            try:
                ending["service"](loan=loan, actor=c.user, reason=form.cleaned_data["reason"])
            except LoanError as exc:
                status = _refused(form, exc, {"reason": "reason"})
            else:
                done = ending["done"].format(pk=loan.pk, amount=_money(amount, loan.currency))
                messages.success(request, done)
                return redirect("console-defaults")
    elif request.method == "POST":
        status = 409
    ctx = {"c": c, "loan": loan, "form": form, "kind": kind, "ending": ending, "possible": possible, "amount": amount}
    return render(request, "lending/console/confirm.html", ctx, status=status)


@console_page
def write_off(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    return _ending(request, c, pk, "write-off")


@console_page
def refund(request: HttpRequest, c: Console, pk: int) -> HttpResponse:
    return _ending(request, c, pk, "refund")


# --- lists: at risk, defaults ---------------------------------------------------------------------------


@console_page
def at_risk(request: HttpRequest, c: Console) -> HttpResponse:
    """Portfolio at risk: paying-back loans behind schedule, most days late first, as of the nightly close."""
    form = cf.AtRiskForm(request.GET)
    valid = form.is_valid()
    min_days = int(form.cleaned_data.get("min_days") or 1) if valid else 1
    page = _paged(request, loans_at_risk(c.loans, min_days=min_days))
    rows = [{"loan": loan, "bucket": bucket_of(loan)} for loan in page.object_list]
    as_of = max((loan.arrears_as_of for loan in page.object_list if loan.arrears_as_of), default=None)
    ctx = {"c": c, "form": form, "page": page, "rows": rows, "buckets": arrears_buckets(c.loans), "as_of": as_of,
           "query": f"min_days={min_days}"}  # fmt: skip
    return render(request, "lending/console/at_risk.html", ctx, status=200 if valid else 400)


@console_page
def defaults(request: HttpRequest, c: Console) -> HttpResponse:
    """Defaulted and refunded loans: principal written off, recovered since, refunded."""
    page = _paged(request, loans_lost(c.loans))
    ctx = {"c": c, "page": page, "totals": loans_lost_totals(c.loans), "currency": settings.PLATFORM_CURRENCY}
    return render(request, "lending/console/defaults.html", ctx)


@console_page
def find(request: HttpRequest, c: Console) -> HttpResponse:
    """Go to a loan by its number (one of this user's loans), or say there is none."""
    form = cf.FindLoanForm(request.GET or None)
    if form.is_valid():
        if c.loans.filter(pk=form.cleaned_data["loan"]).exists():
            return redirect("console-loan", pk=form.cleaned_data["loan"])
        form.add_error("loan", f"There is no loan {form.cleaned_data['loan']} among the loans you work on.")
    return render(request, "lending/console/find.html", {"c": c, "form": form}, status=400 if form.is_bound else 200)


# --- metrics over time ----------------------------------------------------------------------------------


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


CHARTS = [
    ("par_30", "PAR 30", "Outstanding principal more than 30 days late, as a share of all outstanding principal."),
    ("delinquency_rate", "Delinquency rate", "Amount past due as a share of outstanding principal."),
    ("default_rate_by_amount", "Default rate", "Principal lost on defaulted loans as a share of ended loans."),
    ("outstanding_principal", "Outstanding principal", "What borrowers still owe of the principal."),
]


def _charts(points: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    charts = []
    for name, title, help_text in CHARTS:
        fmt = (lambda v: format_money(round(v), currency)) if name == "outstanding_principal" else _percent
        series = [Point(p["as_of"], None if p[name] is None else float(p[name])) for p in points]
        svg = line_chart(series, title=title, chart_id=f"chart-{name}", fmt=fmt)
        charts.append({"name": name, "title": title, "help": help_text, "svg": mark_safe(svg)})  # noqa: S308  # escaped
    return charts


def _table(points: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """The charts' figures as rows a person can read (and a screen reader can step through)."""

    def rate(value: float | None) -> str:
        return "n/a" if value is None else _percent(value)

    return [
        {"as_of": p["as_of"], "par_30": rate(p["par_30"]), "delinquency_rate": rate(p["delinquency_rate"]),
         "default_rate": rate(p["default_rate_by_amount"]),
         "outstanding": format_money(p["outstanding_principal"], currency)}
        for p in reversed(points)
    ]  # fmt: skip


def _now(figures: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The latest snapshot's rates as (label, percent) for the figures above the charts."""
    if not figures or figures.get("as_of") is None:
        return []
    rates = [("PAR 30", "par_30"), ("Delinquency", "delinquency_rate"), ("Default rate", "default_rate_by_amount")]
    return [(label, "n/a" if figures[name] is None else _percent(figures[name])) for label, name in rates]


@console_page
def metrics(request: HttpRequest, c: Console) -> HttpResponse:
    """The partner's PAR 30, delinquency and default rates and outstanding principal, from the nightly snapshots."""
    form = cf.MetricsForm(request.GET, choose_partner=c.is_platform)
    valid = form.is_valid()  # every field is optional: no query at all means the last year
    data = form.cleaned_data if valid else {}
    partner = _metrics_partner(c, data.get("partner"))
    figures = partner_figures_of(partner.pk) if partner else None
    points: list[dict[str, Any]] = []
    if partner is not None and valid:
        rows = partner_series(partner_id=partner.pk, start=data["start"], end=data["end"])
        points = [{"as_of": row.as_of, **group_report(row)} for row in rows]
    ctx = {
        "c": c,
        "form": form,
        "partner": partner,
        "figures": figures,
        "now": _now(figures),
        "points": points,
        "charts": _charts(points, settings.PLATFORM_CURRENCY),
        "table": _table(points, settings.PLATFORM_CURRENCY),
        "currency": settings.PLATFORM_CURRENCY,
        "start": data.get("start"),
        "end": data.get("end"),
    }
    return render(request, "lending/console/metrics.html", ctx, status=200 if valid else 400)


def _metrics_partner(c: Console, chosen: FieldPartner | None) -> FieldPartner | None:
    if c.partner is not None:
        return c.partner
    return chosen or FieldPartner.objects.order_by("name").first()


# --- repayment batches: upload, preview, apply all or nothing -------------------------------------------


def _batches(request: HttpRequest) -> dict[str, dict[str, Any]]:
    stored = request.session.get(SESSION_KEY)
    return stored if isinstance(stored, dict) else {}


def _keep(request: HttpRequest, token: str, entry: dict[str, Any]) -> None:
    """Keep a batch in the session (the rows as uploaded, or what applying them recorded); the newest few only."""
    stored = {k: v for k, v in _batches(request).items() if k != token}
    stored[token] = entry
    request.session[SESSION_KEY] = dict(list(stored.items())[-BATCHES_KEPT:])


def _batch_page(request: HttpRequest, c: Console, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    ctx = {"c": c, "form": cf.BatchUploadForm(), "find": cf.FindLoanForm(), **ctx}
    return render(request, "lending/console/batch.html", ctx, status=status)


@console_page
def batch(request: HttpRequest, c: Console) -> HttpResponse:
    """Upload a CSV of repayments and see every row with its problems; apply only a batch without any."""
    if request.method != "POST":
        return _batch_page(request, c, {})
    form = cf.BatchUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _batch_page(request, c, {"form": form}, status=400)
    try:
        rows = rows_from_csv(form.cleaned_data["file"])
    except BatchRefused as exc:
        form.add_error("file", " ".join(e.message[:1].upper() + e.message[1:] for e in exc.errors))
        return _batch_page(request, c, {"form": form}, status=400)
    preview, name = batch_preview(rows=rows, actor=c.user, source=c.source), form.filename
    token = ""
    if preview.ok:
        token = secrets.token_urlsafe(18)
        kept = [{column: row.get(column) for column in COLUMNS} for row in rows]  # what apply needs, no more
        _keep(request, token, {"user": c.user.pk, "rows": kept, "name": name})
    ctx = {"preview": preview, "token": token, "filename": name, "total": _total(preview)}
    return _batch_page(request, c, ctx, status=200 if preview.ok else 400)


def _total(preview: Any) -> list[tuple[str, int]]:
    """What the batch adds up to, per currency (rows whose amount is readable)."""
    sums: dict[str, int] = {}
    for row in preview.rows:
        if row.amount_cents is not None and row.currency:
            sums[row.currency] = sums.get(row.currency, 0) + row.amount_cents
    return sorted(sums.items())


@console_page
@require_POST
def batch_apply(request: HttpRequest, c: Console) -> HttpResponse:
    """Record the previewed batch, every row or none, checked again now; the same token applies it once."""
    form = cf.BatchApplyForm(request.POST)
    token = form.cleaned_data["token"] if form.is_valid() else ""
    entry = _batches(request).get(token)
    if entry is None or entry.get("user") != c.user.pk:
        note = "That preview has expired or was never made: upload the file again."
        return _batch_page(request, c, {"apply_error": note}, status=409)
    if "applied" in entry:  # a second click, or a reload: the batch was applied once already
        return redirect("console-batch-done", token=token)
    started = timezone.now()
    try:
        recorded = repayment_batch_record(rows=entry["rows"], actor=c.user, source=c.source)
    except BatchRefused as exc:
        preview = batch_preview(rows=entry["rows"], actor=c.user, source=c.source, errors=exc.errors)
        note = "Nothing was recorded: the batch has problems now that it did not have at the preview."
        ctx = {"preview": preview, "token": "", "filename": entry.get("name", ""), "apply_error": note}
        return _batch_page(request, c, {**ctx, "total": _total(preview)}, status=400)
    earlier = [r.pk for r in recorded if r.created_at < started]
    _keep(request, token, {"user": c.user.pk, "applied": [r.pk for r in recorded], "earlier": earlier,
                           "name": entry.get("name", "")})  # fmt: skip
    return redirect("console-batch-done", token=token)


@console_page
def batch_done(request: HttpRequest, c: Console, token: str) -> HttpResponse:
    """What applying a batch recorded (or found recorded already under the same references)."""
    entry = _batches(request).get(token)
    if entry is None or entry.get("user") != c.user.pk or "applied" not in entry:
        raise Http404("No such batch")
    ids, earlier = entry["applied"], set(entry.get("earlier", []))
    found = Repayment.objects.filter(pk__in=ids).select_related("loan__borrower").in_bulk()
    rows = [{"repayment": found[pk], "earlier": pk in earlier} for pk in ids if pk in found]
    ctx = {"c": c, "rows": rows, "filename": entry.get("name", ""), "new": len(rows) - len(earlier)}
    return render(request, "lending/console/batch_done.html", ctx)
