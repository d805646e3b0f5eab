"""Helpers for the flows against the real local Stripe server: cards, signed events, a direct loan, balances.

localstripe sends webhooks only for `payment_intent.succeeded` and `payment_intent.payment_failed`;
the events it cannot send (refunds, disputes, late or repeated deliveries) are built here and signed
with the webhook secret exactly as Stripe signs them, then posted to the live server's endpoint.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import requests

from accounts import services as people
from accounts.models import BorrowerProfile, User
from lending.ledger.chart import AccountType
from lending.ledger.models import Journal
from lending.ledger.services import account_open, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.models import Loan
from lending.payments.cards import deposit_start, pay_with_test_card
from lending.payments.models import CardPayment, StripeEvent
from tests.loans import START, buy
from tests.stripe_server import WEBHOOK_SECRET, LocalStripe, wait_for

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # declined by localstripe when the PaymentIntent is confirmed
API_KEY = ("sk_test_local", "")


def pay(payment: CardPayment, number: str = CARD_OK) -> CardPayment:
    return pay_with_test_card(payment=payment, number=number, exp_month=12, exp_year=34, cvc="123")


def deposit(lender: User, cents: int, key: str, number: str = CARD_OK) -> CardPayment:
    """Start a deposit and pay it at the local server; the webhook follows about a second later."""
    return pay(deposit_start(lender=lender, amount_cents=cents, request_key=key), number)


def stripe_events(server: LocalStripe, type: str | None = None) -> list[dict[str, Any]]:
    """The events the local server has emitted (and sent), oldest first."""
    params = {"type": type} if type else {}
    response = requests.get(f"{server.base}/v1/events", params=params, auth=API_KEY, timeout=5)
    response.raise_for_status()
    return list(response.json()["data"])


def stripe_list(server: LocalStripe, resource: str, **params: str) -> list[dict[str, Any]]:
    response = requests.get(f"{server.base}/v1/{resource}", params=params, auth=API_KEY, timeout=5)
    response.raise_for_status()
    return list(response.json()["data"])


def all_delivered(server: LocalStripe, count: int | None = None) -> list[StripeEvent]:
    """Wait until every event the local server emitted is stored and processed here; returns them.

    Called at the end of each action, so no late webhook of one test reaches the next one.
    """

    def done() -> list[StripeEvent] | None:
        ids = [event["id"] for event in stripe_events(server)]
        if count is not None and len(ids) < count:
            return None
        rows = list(StripeEvent.objects.filter(event_id__in=ids).exclude(status=StripeEvent.Status.RECEIVED))
        return rows if len(rows) == len(ids) else None

    rows = wait_for(done)
    assert rows is not None, "the local Stripe server's webhooks did not all arrive"
    return rows


def settled(server: LocalStripe, *payments: CardPayment) -> list[CardPayment]:
    """Wait for the webhooks of these paid payments; returns them fresh from the database."""
    all_delivered(server, count=len(payments))
    return [CardPayment.objects.get(pk=p.pk) for p in payments]


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header: `t=<ts>,v1=<HMAC-SHA256 of "<ts>.<body>">`, as Stripe makes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def deliver(url: str, event: dict[str, Any]) -> requests.Response:
    """POST a signed event to the live server's webhook endpoint, as Stripe does (processed before it answers)."""
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": sign(body)}
    return requests.post(f"{url}/webhooks/stripe/", data=body, headers=headers, timeout=30)


def delivered_ok(url: str, event: dict[str, Any]) -> dict[str, Any]:
    response = deliver(url, event)
    assert response.status_code == 200, response.text
    return dict(response.json())


def event(type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An event as Stripe sends it, with a fresh id."""
    return {
        "id": f"evt_test_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": "2017-08-15",
        "type": type,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "data": {"object": obj},
    }


def declined_copy(intent: dict[str, Any]) -> dict[str, Any]:
    """The PaymentIntent as a decline would have left it: waiting for another card, its charge failed."""
    declined = copy.deepcopy(intent)
    charge = declined.get("latest_charge") or {}
    charge.update(status="failed", paid=False, failure_code="card_declined", balance_transaction=None)
    charge["failure_message"] = "Your card was declined."
    declined.update(status="requires_payment_method", latest_charge=charge)
    declined["last_payment_error"] = {"charge": charge.get("id"), "code": "card_declined",
                                      "message": "Your card was declined."}  # fmt: skip
    return declined


def succeeded_copy(intent: dict[str, Any]) -> dict[str, Any]:
    """The PaymentIntent as a later card would have left it: succeeded, with a new charge."""
    paid = copy.deepcopy(intent)
    charge = paid.get("latest_charge") or {}
    charge.update(id=f"ch_test_{uuid.uuid4().hex[:14]}", status="succeeded", paid=True, failure_code=None,
                  failure_message=None)  # fmt: skip
    paid.update(status="succeeded", latest_charge=charge, last_payment_error=None)
    return paid


def dispute(payment: CardPayment, status: str, dispute_id: str, amount: int | None = None) -> dict[str, Any]:
    """A Stripe Dispute object of a payment's charge."""
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": payment.received_cents if amount is None else amount,
        "currency": payment.currency.lower(),
        "charge": payment.charge_id,
        "payment_intent": payment.payment_intent_id,
        "reason": "fraudulent",
        "status": status,
        "created": int(time.time()),
        "livemode": False,
    }


def held(lender: User, account_type: AccountType) -> int:
    """The balance of one of the lender's accounts (pending withdrawal, dispute held, receivable)."""
    account = account_open(account_type=account_type, currency="USD", ref=f"lender:{lender.pk}", holder_id=lender.pk)
    return account.balance_cents


def processor_cash() -> int:
    return platform_account(AccountType.PROCESSOR_CASH, "USD").balance_cents


def journals(kind: str) -> int:
    return Journal.objects.filter(kind=kind).count()


def direct_borrower(email: str = "direct@example.org") -> BorrowerProfile:
    """A borrower with their own login and no field partner."""
    return people.borrower_create(
        display_name="Daniel O.", country="KE", email=email, password="river-maize-ledger-44"
    )  # fmt: skip


def direct_loan_disbursed(staff: User, purchases: list[tuple[User, int]], repayments: int = 3) -> Loan:
    """A loan applied for by a direct borrower themself, funded by `purchases`, disbursed on START."""
    borrower = direct_borrower()
    assert borrower.user is not None
    loan = loan_apply(
        actor=borrower.user, borrower=borrower, amount_cents=sum(cents for _, cents in purchases), currency="USD",
        purpose="A motorbike for deliveries", sector="transportation", repayments=repayments,
    )  # fmt: skip
    assert loan.partner_id is None
    loan_submit(loan=loan, actor=borrower.user, on=START)
    loan_approve(loan=loan, actor=staff, on=START)
    loan_publish(loan=loan, actor=staff, on=START)
    buy(loan, purchases)
    return loan_disburse(loan=loan, actor=staff, on=START)
