"""Card payments in: a lender's wallet deposit, or a direct borrower's repayment, each one PaymentIntent.

1. `deposit_start` / `card_repayment_start` record what is asked and create the PaymentIntent
   (amount and currency decided here, never by the browser; idempotency key from our row, so a
   retry after a lost response gets the same PaymentIntent, and the form's one-time token makes a
   double click one payment).
2. The card is entered with Stripe.js (real Stripe) or, on the local Stripe test server only, with
   our test-card form, whose details `pay_with_test_card` forwards to that server.
3. Money moves only when Stripe's signed `payment_intent.succeeded` event is processed
   (`payment_intent_apply`): the wallet is credited, or the repayment recorded and split, once per
   PaymentIntent, whatever the number or order of deliveries.
"""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import date, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans import books
from lending.loans.errors import RepaymentRefused
from lending.loans.models import Installment, Loan, Repayment
from lending.loans.repayments import repayment_record
from lending.payments.client import client, is_local
from lending.payments.errors import PaymentRefused, StripeUnavailable
from lending.payments.models import CardPayment

logger = logging.getLogger(__name__)
P = CardPayment.Status
TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
STRIPE_MIN_CHARGE_CENTS = 50  # Stripe's smallest USD charge


def _check_amount(amount_cents: object, low: int, high: int, currency: str) -> int:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise PaymentRefused("amount_cents: must be a whole number of minor units", field="amount_cents")
    if not low <= amount_cents <= high:
        raise PaymentRefused(
            f"amount_cents: must be between {low} and {high} ({currency} minor units)", field="amount_cents"
        )
    return amount_cents


def _check_request_key(request_key: object) -> str:
    if not isinstance(request_key, str) or not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", request_key):
        raise PaymentRefused("request_key: must be 8 to 64 letters, digits, - or _", field="request_key")
    return request_key


def deposit_start(*, lender: User, amount_cents: int, request_key: str) -> CardPayment:
    """Ask Stripe for a deposit of `amount_cents` into the lender's wallet; returns it with its client secret."""
    currency = settings.PLATFORM_CURRENCY
    _check_amount(amount_cents, settings.DEPOSIT_MIN_CENTS, settings.DEPOSIT_MAX_CENTS, currency)
    payment, _ = CardPayment.objects.get_or_create(
        user=lender,
        request_key=_check_request_key(request_key),
        defaults={"purpose": CardPayment.Purpose.DEPOSIT, "amount_cents": amount_cents, "currency": currency},
    )
    return _ensure_payment_intent(payment)


def outstanding_cents(loan: Loan) -> int:
    """What the borrower still owes on the schedule (principal, interest and fees not yet paid)."""
    due = loan.installments.aggregate(
        total=Sum(F("principal_cents") + F("interest_cents") + F("fees_cents")),
        paid=Sum(F("paid_principal_cents") + F("paid_interest_cents") + F("paid_fees_cents")),
    )
    return (due["total"] or 0) - (due["paid"] or 0)


def card_repayment_start(*, borrower: User, loan: Loan, amount_cents: int, request_key: str) -> CardPayment:
    """A direct borrower pays part or all of what they owe by card; recorded when Stripe confirms it."""
    loan = Loan.objects.select_related("borrower").get(pk=loan.pk)
    if loan.borrower.user_id != borrower.pk:
        raise PaymentRefused(f"loan {loan.pk} is not yours to repay", field="loan")
    if loan.partner_id is not None:
        raise PaymentRefused("loan: this loan is repaid through its field partner, not by card", field="loan")
    if loan.status not in (Loan.Status.PAYING_BACK, Loan.Status.DEFAULTED):
        raise PaymentRefused(
            f"loan: loan {loan.pk} is {loan.get_status_display().lower()}, not being repaid", field="loan"
        )
    owed = outstanding_cents(loan)
    if owed < STRIPE_MIN_CHARGE_CENTS:
        raise PaymentRefused("loan: nothing left to pay by card", field="loan")
    _check_amount(amount_cents, STRIPE_MIN_CHARGE_CENTS, owed, loan.currency)
    payment, _ = CardPayment.objects.get_or_create(
        user=borrower,
        request_key=_check_request_key(request_key),
        defaults={
            "purpose": CardPayment.Purpose.REPAYMENT,
            "loan": loan,
            "amount_cents": amount_cents,
            "currency": loan.currency,
        },
    )
    return _ensure_payment_intent(payment)


def _ensure_payment_intent(payment: CardPayment) -> CardPayment:
    """Create the PaymentIntent once (idempotency key from our row), outside any database transaction."""
    if payment.payment_intent_id:
        return payment
    metadata = {"purpose": payment.purpose, "card_payment": str(payment.pk), "user": str(payment.user_id)}
    if payment.loan_id:
        metadata["loan"] = str(payment.loan_id)
    try:
        intent = client().v1.payment_intents.create(
            params={"amount": payment.amount_cents, "currency": payment.currency.lower(), "metadata": metadata},
            options={"idempotency_key": f"card-payment:{payment.pk}"},
        )
    except TRANSIENT as exc:
        raise StripeUnavailable(f"Stripe could not be reached ({exc.__class__.__name__}); nothing was charged") from exc
    CardPayment.objects.filter(pk=payment.pk, payment_intent_id__isnull=True).update(
        payment_intent_id=intent.id, client_secret=intent.client_secret or "", updated_at=timezone.now()
    )
    payment.refresh_from_db()
    return payment


# --- the local Stripe test server's card form --------------------------------------------------------


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


def check_test_card(number: str, exp_month: object, exp_year: object, cvc: str) -> dict[str, Any]:
    """Validate the test-card form; returns Stripe's `card` parameters or raises naming the field."""
    number = re.sub(r"[\s-]", "", str(number))
    if not re.fullmatch(r"\d{16}", number) or not _luhn_ok(number):
        raise PaymentRefused("number: enter a 16-digit test card number, such as 4242 4242 4242 4242", field="number")
    try:
        month, year = int(str(exp_month)), int(str(exp_year))
    except ValueError:
        raise PaymentRefused("exp_month: enter the expiry as MM and YY", field="exp_month") from None
    if not 1 <= month <= 12:
        raise PaymentRefused("exp_month: must be 1 to 12", field="exp_month")
    year = year + 2000 if year < 100 else year
    today = timezone.localdate()
    if (year, month) < (today.year, today.month) or year > today.year + 50:
        raise PaymentRefused("exp_year: the card has expired", field="exp_year")
    if not re.fullmatch(r"\d{3}", str(cvc)):
        raise PaymentRefused("cvc: must be 3 digits", field="cvc")
    return {"number": number, "exp_month": month, "exp_year": year, "cvc": str(cvc)}


def pay_with_test_card(
    *, payment: CardPayment, number: str, exp_month: object, exp_year: object, cvc: str
) -> CardPayment:
    """Forward a test card to the local Stripe test server and confirm the PaymentIntent (never real Stripe)."""
    if not is_local():
        raise PaymentRefused("number: card details are entered with Stripe's own form here", field="number")
    card = check_test_card(number, exp_month, exp_year, cvc)
    if payment.status != P.AWAITING_CARD or not payment.payment_intent_id:
        # After a decline, `payment_retry` starts a new payment: the local server cannot confirm a PaymentIntent twice.
        raise PaymentRefused(f"payment: this payment is {payment.get_status_display().lower()}", field="payment")
    stripe_client = client()
    try:
        method = stripe_client.v1.payment_methods.create(params={"type": "card", "card": card})  # type: ignore[arg-type]
        stripe_client.v1.payment_intents.update(payment.payment_intent_id, params={"payment_method": method.id})
        intent = stripe_client.v1.payment_intents.confirm(payment.payment_intent_id)
    except stripe.CardError as exc:
        # Shown at once; the payment_intent.payment_failed event will say the same.
        message = exc.user_message or "Your card was declined."
        CardPayment.objects.filter(pk=payment.pk, status=P.AWAITING_CARD).update(
            status=P.FAILED, failure_message=message[:500], updated_at=timezone.now()
        )
    except TRANSIENT as exc:
        raise StripeUnavailable(f"Stripe could not be reached ({exc.__class__.__name__}); try again") from exc
    except stripe.InvalidRequestError as exc:
        raise PaymentRefused(f"number: Stripe refused the card: {exc.user_message or exc}", field="number") from exc
    else:
        if intent.status == "requires_action":
            status, message = (
                P.FAILED,
                (
                    "This card asks for 3-D Secure authentication, which the local test server cannot show. "
                    "Use 4242 4242 4242 4242."
                ),
            )
        else:  # succeeded or processing: the money moves when Stripe's event arrives
            status, message = P.PROCESSING, ""
        CardPayment.objects.filter(pk=payment.pk, status=P.AWAITING_CARD).update(
            status=status, failure_message=message, updated_at=timezone.now()
        )
    payment.refresh_from_db()
    return payment


def payment_retry(*, payment: CardPayment) -> CardPayment:
    """After a declined card: the same amount as a new payment (a new PaymentIntent), the old one cancelled.

    Asked twice (a double click), it returns the same new payment.
    """
    retry_key = f"{payment.request_key[:50]}-retry{payment.pk}"
    existing = CardPayment.objects.filter(user_id=payment.user_id, request_key=retry_key).first()
    if existing is not None:
        return _ensure_payment_intent(existing)
    if payment.status != P.FAILED:
        raise PaymentRefused(f"payment: this payment is {payment.get_status_display().lower()}", field="payment")
    with contextlib.suppress(PaymentRefused):  # Stripe may consider it finished already: nothing to stop
        payment_cancel(payment=payment)
    existing, _ = CardPayment.objects.get_or_create(
        user_id=payment.user_id,
        request_key=retry_key,
        defaults={"purpose": payment.purpose, "loan_id": payment.loan_id, "amount_cents": payment.amount_cents,
                  "currency": payment.currency},
    )  # fmt: skip
    return _ensure_payment_intent(existing)


def payment_cancel(*, payment: CardPayment) -> CardPayment:
    """The payer gives up before paying: Stripe cancels the PaymentIntent, so it can never be charged."""
    if payment.status not in (P.AWAITING_CARD, P.FAILED):
        raise PaymentRefused(f"payment: this payment is {payment.get_status_display().lower()}", field="payment")
    if payment.payment_intent_id:
        try:
            client().v1.payment_intents.cancel(payment.payment_intent_id)
        except TRANSIENT as exc:
            raise StripeUnavailable(f"Stripe could not be reached ({exc.__class__.__name__}); try again") from exc
        except stripe.InvalidRequestError as exc:
            raise PaymentRefused(
                f"payment: Stripe would not cancel it: {exc.user_message or exc}", field="payment"
            ) from exc
    # No money has moved; Stripe's payment_intent.canceled event, when it comes, finds it cancelled already.
    CardPayment.objects.filter(pk=payment.pk, status__in=[P.AWAITING_CARD, P.FAILED]).update(
        status=P.CANCELED, failure_message="Cancelled by you; nothing was charged.", updated_at=timezone.now()
    )
    payment.refresh_from_db()
    return payment


# --- Stripe's word: the PaymentIntent events ------------------------------------------------------


def _id(value: Any) -> str:
    """An expandable field's id: a string, or an object with an id (the local server expands charges)."""
    if isinstance(value, str):
        return value
    return str(value.get("id", "")) if value else ""


def payment_intent_apply(intent: dict[str, Any], event_created: datetime) -> CardPayment | None:
    """Bring our payment to the PaymentIntent's state, as told by a verified event; None if not ours.

    Succeeded is final: the money moves once (ledger keys derived from the PaymentIntent id), and an
    older or repeated event arriving after it changes nothing. Between the other states, an event
    older than the last one applied is ignored, so out-of-order deliveries end in the right state.
    """
    with transaction.atomic():
        payment = _payment_for(intent)
        if payment is None:
            return None
        status = intent.get("status")
        stale = payment.last_event_at is not None and event_created < payment.last_event_at
        if payment.status == P.SUCCEEDED or (status != "succeeded" and (stale or payment.status == P.CANCELED)):
            return payment
        error = intent.get("last_payment_error") or {}
        if status == "succeeded":
            payment.failure_message = ""  # before _collect, which says why money it could not apply is held
            _collect(payment, intent)
            payment.status = P.SUCCEEDED
        elif status == "canceled":
            payment.status = P.CANCELED
            reason = intent.get("cancellation_reason") or "cancelled before the card was charged"
            payment.failure_message = f"Cancelled: {str(reason).replace('_', ' ')}."
        elif status == "requires_payment_method" and error:
            payment.status = P.FAILED
            payment.failure_message = str(error.get("message") or "Your card was declined.")[:500]
        elif status == "processing":
            payment.status = P.PROCESSING
        payment.last_event_at = max(filter(None, [payment.last_event_at, event_created]))
        payment.updated_at = timezone.now()
        payment.save()
        return payment


def _payment_for(intent: dict[str, Any]) -> CardPayment | None:
    payment = CardPayment.objects.select_for_update().filter(payment_intent_id=intent["id"]).first()
    if payment is not None:
        return payment
    # Created at Stripe, but our process died before it saved the id: the metadata names our row.
    pk = str((intent.get("metadata") or {}).get("card_payment", ""))
    if not pk.isdigit():
        return None
    payment = CardPayment.objects.select_for_update().filter(pk=int(pk), payment_intent_id__isnull=True).first()
    if payment is not None:
        payment.payment_intent_id = intent["id"]
    return payment


def _collect(payment: CardPayment, intent: dict[str, Any]) -> None:
    """The money arrived: credit the wallet, or record the repayment; amounts from Stripe's object."""
    amount = int(intent.get("amount_received") or intent["amount"])
    currency = str(intent["currency"]).upper()
    if amount != payment.amount_cents or currency != payment.currency:
        logger.error("PaymentIntent %s collected %s %s, we asked %s %s", intent["id"], amount, currency,
                     payment.amount_cents, payment.currency)  # fmt: skip
    payment.received_cents = amount
    payment.charge_id = _id(intent.get("latest_charge"))
    cash = platform_account(AccountType.PROCESSOR_CASH, currency)
    if payment.purpose == CardPayment.Purpose.DEPOSIT:
        payment.journal = journal_post(
            idempotency_key=f"stripe:{intent['id']}:credit",
            kind="deposit",
            lines=[Line(cash, lender_wallet(user=payment.user, currency=currency), amount)],
            description=f"Card deposit {intent['id']}",
            metadata={"stripe_payment_intent": intent["id"], "card_payment": payment.pk},
        )
        return
    loan = Loan.objects.get(pk=int(payment.loan_id or 0))
    try:
        with transaction.atomic():
            repayment = repayment_record(
                loan=loan, amount_cents=amount, currency=currency, received_on=_received_on(intent),
                source=Repayment.Source.BORROWER_CARD, idempotency_key=f"stripe:{intent['id']}", actor=None,
            )  # fmt: skip
    except RepaymentRefused as exc:
        # The loan stopped taking repayments (repaid meanwhile): the money is held as the borrower's credit.
        payment.journal = journal_post(
            idempotency_key=f"stripe:{intent['id']}:unapplied",
            kind="unapplied_payment",
            lines=[Line(cash, books.borrower_credit(loan), amount)],
            description=f"Card repayment {intent['id']} not applied: {exc}",
            metadata={"stripe_payment_intent": intent["id"], "card_payment": payment.pk},
        )
        payment.failure_message = f"Received but not applied ({exc}); held as your credit."[:500]
        return
    payment.repayment = repayment
    payment.journal_id = repayment.journal_id


def _received_on(intent: dict[str, Any]) -> date:
    created = intent.get("created")
    moment = datetime.fromtimestamp(int(created), tz=timezone.get_current_timezone()) if created else timezone.now()
    return min(timezone.localdate(moment), timezone.localdate())


def open_installment_cents(loan: Loan) -> int:
    """The next installment still owed, for the pay form's default amount."""
    row = (
        Installment.objects.filter(loan=loan, paid_on__isnull=True)
        .order_by("number")
        .values_list(
            "principal_cents",
            "interest_cents",
            "fees_cents",
            "paid_principal_cents",
            "paid_interest_cents",
            "paid_fees_cents",
        )
        .first()
    )
    return 0 if row is None else sum(row[:3]) - sum(row[3:])
