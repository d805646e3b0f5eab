"""Pages for finding a loan and lending to it: the searchable list, a loan's page, and lending in one step.

Lending posts a small form carrying a one-time token, passed to share_purchase as its idempotency key, so
a double click or a resent form lends once. With JavaScript the form is sent by fetch and answered with
JSON holding the loan's refreshed funding panel; without it, the answer is a redirect back with a message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import FieldPartner, User
from lending.ledger.errors import InsufficientFunds
from lending.loans.errors import ShareRefused
from lending.loans.fundraising import share_purchase
from lending.loans.models import Loan, Sector
from lending.loans.selectors import PUBLIC, lender_balances, loan_lenders, loan_page_find, loan_search
from lending.metrics.partners import partner_figures_of
from lending.money import format_money, to_minor

PER_PAGE = 12
LENDERS_SHOWN = 100  # a loan's page names this many lenders, then counts the others
SORT_CHOICES = [
    ("newest", "Newest"),
    ("expiring", "Ending soonest"),
    ("amount_left", "Least left to raise"),
    ("popularity", "Most lenders"),
]


class LoanSearchForm(forms.Form):
    """The API's loan filters for people: amounts in the platform currency's major units, not cents."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        currency = settings.PLATFORM_CURRENCY
        self.fields["amount_left_min"].label = f"Left to raise, at least ({currency})"
        self.fields["amount_left_max"].label = f"Left to raise, at most ({currency})"

    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort by")
    status = forms.MultipleChoiceField(
        choices=[(s.value, s.label) for s in PUBLIC],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Status",
        help_text="Fundraising when none is ticked.",
    )
    sector = forms.MultipleChoiceField(
        choices=Sector.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Sector"
    )
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        required=False,
        label="Country",
        help_text="Two-letter code, such as KE.",
        error_messages={"invalid": "Enter a two-letter country code, such as KE or UG."},
    )
    partner = forms.ModelChoiceField(
        queryset=FieldPartner.objects.order_by("name"), required=False, label="Field partner", empty_label="Any"
    )
    borrower_gender = forms.ChoiceField(choices=[("", "Any"), *Loan.Gender.choices], required=False, label="Borrower")
    amount_left_min = forms.DecimalField(
        min_value=Decimal(0), max_digits=12, decimal_places=2, required=False, label="Left to raise, at least"
    )
    amount_left_max = forms.DecimalField(
        min_value=Decimal(0), max_digits=12, decimal_places=2, required=False, label="Left to raise, at most"
    )
    days_left_max = forms.IntegerField(min_value=0, max_value=366, required=False, label="Days left, at most")
    expiring_soon = forms.BooleanField(required=False, label="Ending within 7 days")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("amount_left_min"), data.get("amount_left_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_left_max", "Must be at least the lower amount.")
        return data

    def filters(self) -> dict[str, Any]:
        """The valid fields as LoanFilter's parameters (the invalid ones are left out, and shown as errors)."""
        data, currency = getattr(self, "cleaned_data", {}), settings.PLATFORM_CURRENCY
        found: dict[str, Any] = {name: data.get(name) for name in ("sort", "status", "sector", "borrower_gender")}
        found["country"] = data.get("country") or None
        found["partner"] = data["partner"].pk if data.get("partner") else None
        found["days_left_max"] = data.get("days_left_max")
        found["expiring_soon"] = True if data.get("expiring_soon") else None
        for name in ("amount_left_min", "amount_left_max"):
            found[name] = to_minor(data[name], currency) if data.get(name) is not None else None
        return {name: value for name, value in found.items() if value not in (None, "", [])}


class LendForm(forms.Form):
    amount_cents = forms.IntegerField(min_value=1, label="Amount to lend")
    request_key = forms.CharField(max_length=64)
    next = forms.CharField(max_length=2000, required=False)

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loan = loan
        self.fields["request_key"].error_messages["required"] = "This form has expired: reload the page and lend again."

    def clean_amount_cents(self) -> int:
        cents: int = self.cleaned_data["amount_cents"]
        share = self.loan.share_size_cents
        if cents % share:
            raise forms.ValidationError(f"Lend a multiple of {format_money(share, self.loan.currency)}.")
        return cents


def _wallets(request: HttpRequest, currencies: list[str]) -> dict[str, int]:
    user = request.user
    if not isinstance(user, User) or not user.is_lender:
        return {}
    return lender_balances(user_id=user.pk, currencies=currencies)


@require_GET
def loan_list(request: HttpRequest) -> HttpResponse:
    """Search the loans: the API's filters and sorts, as cards that each offer to lend in one step."""
    form = LoanSearchForm(request.GET)
    form.is_valid()  # invalid fields are shown next to their input and left out of the search
    page = Paginator(loan_search(user=request.user, filters=form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    currency = settings.PLATFORM_CURRENCY
    wallets = _wallets(request, [currency, *{loan.currency for loan in page}])
    ctx = {
        "form": form,
        "page": page,
        "wallets": wallets,
        "wallet_cents": wallets.get(currency, 0),
        "currency": currency,
        "here": request.get_full_path(),
        "filtering": bool(form.errors) or bool(set(form.filters()) - {"sort"}),
    }
    return render(request, "lending/loans/list.html", ctx, status=400 if form.errors else 200)


@require_GET
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A loan's page: its story, funding, schedule with each installment's state, partner figures, lenders."""
    loan = loan_page_find(user=request.user, pk=pk)
    if loan is None:
        raise Http404("No such loan")
    wallets = _wallets(request, [loan.currency])
    ctx = {
        "loan": loan,
        "lenders": loan_lenders(loan=loan, limit=LENDERS_SHOWN),
        "partner_figures": partner_figures_of(loan.partner_id) if loan.partner_id is not None else None,
        "wallets": wallets,
        "wallet_cents": wallets.get(loan.currency, 0),
        "here": request.get_full_path(),
    }
    return render(request, "lending/loans/detail.html", ctx)


@require_POST
def loan_lend(request: HttpRequest, pk: int) -> HttpResponse:
    """Lend to a loan from the wallet, once per form token; JSON for fetch, else a redirect with a message."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    user = request.user
    if not isinstance(user, User):
        if wants_json:
            return JsonResponse({"ok": False, "message": "Log in to lend."}, status=401)
        return redirect_to_login(reverse("loan-detail", args=[pk]))
    if not user.is_lender:
        if wants_json:
            return JsonResponse({"ok": False, "message": "Only lenders can lend."}, status=403)
        return render(request, "lending/loans/lenders_only.html", {}, status=403)
    loan = loan_page_find(user=user, pk=pk, schedule=False)
    if loan is None:
        raise Http404("No such loan")
    form = LendForm(request.POST, loan=loan)
    message, error, status = _lend(form, loan, user)
    back = _safe_next(request, form.data.get("next", ""), loan)
    if not wants_json:
        if error:
            messages.error(request, f"Nothing was lent to {loan.borrower.display_name}: {error}")
        else:
            messages.success(request, message)
        return redirect(back)
    return _panel_json(request, pk, back, message=message, error=error, status=status)


def _lend(form: LendForm, loan: Loan, user: User) -> tuple[str, str, int]:
    """(success message, error, HTTP status): the purchase made through the service, or why it was refused."""
    if not form.is_valid():
        return "", str(next(iter(form.errors.values()))[0]), 400
    cents = form.cleaned_data["amount_cents"]
    try:
        share_purchase(loan=loan, lender=user, amount_cents=cents, idempotency_key=form.cleaned_data["request_key"])
    except ShareRefused as exc:
        return "", _refusal_words(exc, loan, cents), 409
    except InsufficientFunds as exc:
        have = format_money(exc.available_cents, loan.currency)
        return "", f"Your wallet holds {have}, not enough to lend {format_money(cents, loan.currency)}.", 409
    name = loan.borrower.display_name.rstrip(".")  # "Grace N." ends its own sentence
    return f"You lent {format_money(cents, loan.currency)} to {name}. Thank you!", "", 200


def _refusal_words(exc: ShareRefused, loan: Loan, cents: int) -> str:
    """The service's refusal for a person, decided from the loan's state now (its message is for programs)."""
    loan.refresh_from_db()
    if exc.field == "idempotency_key":
        return "This form was already sent with another amount. Choose the amount again and lend."
    if exc.field == "lender":
        return "You cannot lend to your own loan."  # the only lender refusal left: the view let lenders alone in
    if exc.field == "loan" and loan.status != Loan.Status.FUNDRAISING:
        return f"This loan is no longer raising money: it is {loan.get_status_display().lower()}."
    if exc.field == "loan":
        return f"This loan stopped raising money on {loan.fundraising_deadline:%d %B %Y}."
    if cents > loan.remaining_cents:
        return f"Only {format_money(loan.remaining_cents, loan.currency)} is still needed for this loan."
    return f"Lend a multiple of {format_money(loan.share_size_cents, loan.currency)}."


def _safe_next(request: HttpRequest, target: str, loan: Loan) -> str:
    """Where the no-JavaScript answer goes back to: the page the form was on, if it is on this site."""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target.split("#")[0]
    return reverse("loan-detail", args=[loan.pk])


def _panel_json(request: HttpRequest, pk: int, back: str, *, message: str, error: str, status: int) -> JsonResponse:
    """The loan's funding panel re-rendered after the attempt, and the wallet balance, for the page to swap in."""
    loan = loan_page_find(user=request.user, pk=pk, schedule=False)
    assert loan is not None  # it was visible a moment ago, and loans are never deleted
    wallets = _wallets(request, [loan.currency])
    ctx = {
        "loan": loan,
        "wallets": wallets,
        "here": back,
        "lend_message": message,
        "lend_error": error,
    }
    html = render_to_string("lending/loans/_panel.html", ctx, request=request)
    balance = wallets.get(loan.currency, 0)
    body = {
        "ok": not error,
        "message": message or error,
        "html": html,
        "wallet_cents": balance,
        "wallet": format_money(balance, loan.currency),
        "currency": loan.currency,
        "raised_cents": loan.raised_cents,
        "status": loan.status,
    }
    return JsonResponse(body, status=status)
