"""Pages for card money: add money to a wallet, pay a loan by card, follow a payment, withdraw.

The card itself is entered with Stripe's Payment Element when talking to Stripe, or with a
test-card form when the local Stripe test server stands in for it (that form does not exist
otherwise). Either way nothing is credited here: the page waits for Stripe's event.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from lending.loans.models import Loan
from lending.money import MoneyError, format_money, to_major, to_minor
from lending.payments import cards
from lending.payments.client import is_local
from lending.payments.errors import PaymentError, StripeUnavailable
from lending.payments.models import CardPayment
from lending.payments.withdrawals import withdrawable, withdrawal_request

TEST_CARDS = [
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0341", "is declined"),
]


def new_request_key() -> str:
    """A one-time token for a form, so sending it twice (a double click, a reload) acts once."""
    return secrets.token_urlsafe(18)


def _amount(request: HttpRequest, currency: str) -> tuple[int | None, str]:
    text = (request.POST.get("amount") or "").strip().replace(",", "")
    if not text:
        return None, "Enter an amount."
    try:
        cents = to_minor(text, currency)
    except MoneyError:
        return None, f"Enter an amount in {currency}, such as 50 or 50.00."
    if cents <= 0:
        return None, "Enter an amount above zero."
    return cents, ""


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def deposit(request: HttpRequest) -> HttpResponse:
    """Add money to the wallet: the amount first, then the card on the payment's page."""
    user, currency = _user(request), settings.PLATFORM_CURRENCY
    if not user.is_lender:
        return render(request, "lending/not_a_lender.html", {}, status=403)
    error, amount_text = "", ""
    if request.method == "POST":
        amount_text = request.POST.get("amount", "")
        cents, error = _amount(request, currency)
        if cents is not None:
            try:
                payment = cards.deposit_start(
                    lender=user, amount_cents=cents, request_key=request.POST.get("request_key", "")
                )
            except PaymentError as exc:
                error = _say(exc, currency)
            else:
                return redirect("card-payment", pk=payment.pk)
    ctx = {
        "currency": currency,
        "request_key": new_request_key(),
        "error": error,
        "amount": amount_text,
        "low": format_money(settings.DEPOSIT_MIN_CENTS, currency),
        "high": format_money(settings.DEPOSIT_MAX_CENTS, currency),
    }
    return render(request, "lending/deposit.html", ctx, status=400 if error else 200)


def _say(exc: PaymentError, currency: str) -> str:
    """A refusal in words for a person (the services' messages name fields for programs)."""
    if isinstance(exc, StripeUnavailable):
        return "The card service did not answer. Nothing was charged; please try again in a minute."
    text = str(exc)
    if exc.field == "amount_cents":
        low = format_money(settings.DEPOSIT_MIN_CENTS, currency)
        high = format_money(settings.DEPOSIT_MAX_CENTS, currency)
        return text.split(": ", 1)[-1] if "withdraw" in text else f"Choose an amount between {low} and {high}."
    return text.split(": ", 1)[-1]


def _own_payment(request: HttpRequest, pk: int) -> CardPayment:
    payment = get_object_or_404(CardPayment.objects.select_related("loan"), pk=pk)
    if payment.user_id != request.user.pk:
        raise Http404("No such payment")  # someone else's payment does not exist, as far as you know
    return payment


@login_required
def card_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """A payment's page: the card form while it waits for one, then its status as Stripe reports it."""
    payment = _own_payment(request, pk)
    error, status = "", 200
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            payment = cards.payment_cancel(payment=payment)
        except PaymentError as exc:
            error, status = _say(exc, payment.currency), 409
    elif request.method == "POST" and request.POST.get("action") == "retry":
        try:
            retry = cards.payment_retry(payment=payment)
        except PaymentError as exc:
            error, status = _say(exc, payment.currency), 409
        else:
            return redirect("card-payment", pk=retry.pk)
    elif request.method == "POST":
        try:
            payment = cards.pay_with_test_card(
                payment=payment,
                number=request.POST.get("number", ""),
                exp_month=request.POST.get("exp_month", ""),
                exp_year=request.POST.get("exp_year", ""),
                cvc=request.POST.get("cvc", ""),
            )
        except PaymentError as exc:
            error, status = _say(exc, payment.currency), 400
        else:
            return redirect("card-payment", pk=payment.pk)
    ctx = {
        "payment": payment,
        "error": error,
        "local": is_local(),
        "test_cards": TEST_CARDS,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "waiting": payment.status == CardPayment.Status.PROCESSING,
        "can_pay": payment.status == CardPayment.Status.AWAITING_CARD,
        "can_retry": payment.status == CardPayment.Status.FAILED,
    }
    return render(request, "lending/card_payment.html", ctx, status=status)


@login_required
def card_payment_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The payment's status, for the page to poll while Stripe's event is on its way."""
    payment = _own_payment(request, pk)
    return JsonResponse({"status": payment.status, "message": payment.failure_message})


@login_required
@require_POST
def withdraw(request: HttpRequest) -> HttpResponse:
    user, currency = _user(request), settings.PLATFORM_CURRENCY
    if not user.is_lender:
        return render(request, "lending/not_a_lender.html", {}, status=403)
    cents, error = _amount(request, currency)
    if cents is not None:
        try:
            key = request.POST.get("request_key", "")
            withdrawal = withdrawal_request(lender=user, amount_cents=cents, request_key=key)
        except PaymentError as exc:
            error = _say(exc, currency)
        else:
            messages.success(
                request,
                f"{format_money(withdrawal.amount_cents, currency)} is on its way back to your card(s). "
                "Refunds take 5 to 10 business days to appear on a card statement.",
            )
            return redirect("wallet")
    messages.error(request, f"Withdrawal not made: {error}")
    return redirect("wallet")


@login_required
def loan_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """A direct borrower pays their loan by card: the next installment, or any amount up to what is owed."""
    user = _user(request)
    loan = get_object_or_404(Loan.objects.select_related("borrower"), pk=pk)
    if loan.borrower.user_id != user.pk:
        raise Http404("No such loan")
    owed, next_due = cards.outstanding_cents(loan), cards.open_installment_cents(loan)
    error, can_pay = "", False
    if loan.partner_id is not None:
        error = "This loan is repaid through your field partner, not by card."
    elif loan.status not in (Loan.Status.PAYING_BACK, Loan.Status.DEFAULTED):
        error = f"This loan is {loan.get_status_display().lower()}: there is nothing to pay."
    elif owed <= 0:
        error = "Nothing is owed on this loan."
    elif request.method != "POST":
        can_pay = True
    else:
        can_pay = True
        cents, error = _amount(request, loan.currency)
        if cents is not None:
            try:
                payment = cards.card_repayment_start(
                    borrower=user, loan=loan, amount_cents=cents, request_key=request.POST.get("request_key", "")
                )
            except PaymentError as exc:
                error = (
                    f"Choose an amount up to {format_money(owed, loan.currency)}."
                    if exc.field == "amount_cents"
                    else _say(exc, loan.currency)
                )
            else:
                return redirect("card-payment", pk=payment.pk)
    ctx = {
        "loan": loan,
        "owed": owed,
        "next_due": next_due,
        "can_pay": can_pay,
        "default_amount": str(to_major(next_due, loan.currency)) if next_due else "",
        "request_key": new_request_key(),
        "error": error,
        "amount": request.POST.get("amount", "") if request.method == "POST" else "",
    }
    return render(request, "lending/loan_pay.html", ctx, status=400 if error and request.method == "POST" else 200)


def wallet_payments_context(user: User) -> dict[str, object]:
    """What the wallet page shows about cards: recent payments, withdrawals, what can be withdrawn."""
    limit = withdrawable(user)
    return {
        "withdrawable": limit,
        "withdraw_key": new_request_key(),
        "deposits": CardPayment.objects.filter(user=user, purpose=CardPayment.Purpose.DEPOSIT).order_by("-created_at")[
            :10
        ],
        "withdrawals": user.withdrawals.order_by("-created_at")[:10],
    }
