"""The Stripe edge without a network: retries and idempotency keys, signed webhooks, and input refused early.

`FakeStripe` plays Stripe's API behind the real SDK (PaymentIntents and refunds, one object per
idempotency key, as Stripe does), and can lose an answer, time out or fail with a 5xx on demand.
It is the only fake: the SDK's retry loop, our services, the webhook view and the ledger are real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from config.celery_app import app as celery_app
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.ledger.services import lender_wallet
from lending.payments.cards import deposit_start, pay_with_test_card
from lending.payments.client import check_keys, stripe_client, use_http_client
from lending.payments.errors import PaymentRefused, StripeUnavailable
from lending.payments.models import CardPayment, StripeEvent, Withdrawal, WithdrawalRefund
from lending.payments.withdrawals import pending_account, withdrawal_pay, withdrawal_request

pytestmark = pytest.mark.django_db

SECRET = "whsec_fake_tests_only_0123456789"
URL = "/webhooks/stripe/"
RETRIES = 3  # the settings' default, set explicitly: the tests count attempts
Fault = str | int  # "lost" (Stripe acted, the answer never came), "timeout" (never reached Stripe), or a 5xx


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    idempotency_key: str | None
    params: dict[str, Any]


class FakeStripe(stripe.HTTPClient):
    """Stripe's API as far as these tests need it, at the network edge; `faults` spoil the next calls in order."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.delays: list[float] = []  # the SDK's backoff before each retry (recorded, not waited)
        self.refund_status = "succeeded"
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._answers: dict[str, tuple[str, int]] = {}  # idempotency key -> the first answer, replayed
        self._ids = count(1)

    # --- the transport --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        key = dict(headers or {}).get("Idempotency-Key")
        params = _form(post_data)
        self.calls.append(Call(method, urlsplit(url).path, key, params))
        fault = self.faults.pop(0) if self.faults else None
        if fault == "timeout":  # what RequestsClient raises for requests' Timeout or ConnectionError
            raise stripe.APIConnectionError("Network error: ReadTimeout", should_retry=True)
        if isinstance(fault, int):
            return _error(fault, "api_error", f"fake outage ({fault})"), fault, {"Request-Id": "req_fake"}
        replayed = method == "post" and key is not None and key in self._answers
        if replayed:
            body, status = self._answers[key or ""]
        else:
            body, status = self._route(method, urlsplit(url).path, params)
            if method == "post" and key is not None:
                self._answers[key] = (body, status)
        if fault == "lost":
            raise stripe.APIConnectionError("Network error: ConnectionResetError after sending", should_retry=True)
        headers_out = {"Request-Id": f"req_fake_{len(self.calls)}"}
        if replayed:
            headers_out["Idempotent-Replayed"] = "true"
        return body, status, headers_out

    def _sleep_time_seconds(self, num_retries: int) -> float:
        self.delays.append(super()._sleep_time_seconds(num_retries))
        return 0.0

    def close(self) -> None:
        pass

    # --- Stripe's objects -------------------------------------------------------------------------

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[str, int]:
        if (method, path) == ("post", "/v1/payment_intents"):
            intent_id = f"pi_fake_{next(self._ids)}"
            self.payment_intents[intent_id] = {
                "id": intent_id, "object": "payment_intent", "amount": int(params["amount"]),
                "currency": params["currency"], "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_fake", "metadata": params.get("metadata", {}),
                "amount_received": 0, "latest_charge": None, "created": int(time.time()), "livemode": False,
            }  # fmt: skip
            return json.dumps(self.payment_intents[intent_id]), 200
        if (method, path) == ("post", "/v1/refunds"):
            intent = self.payment_intents.get(params.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return _error(400, "invalid_request_error", "No such succeeded payment_intent"), 400
            refund_id = f"re_fake_{next(self._ids)}"
            self.refunds[refund_id] = {
                "id": refund_id, "object": "refund", "amount": int(params["amount"]), "currency": intent["currency"],
                "payment_intent": intent["id"], "charge": intent["latest_charge"], "status": self.refund_status,
                "metadata": params.get("metadata", {}), "created": int(time.time()),
            }  # fmt: skip
            return json.dumps(self.refunds[refund_id]), 200
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({method} {path})"), 404

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The card was charged (as the cardholder's confirmation would do at Stripe)."""
        intent = self.payment_intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=f"ch_{intent_id}")
        return dict(intent)

    def settle_refund(self, refund_id: str, status: str) -> dict[str, Any]:
        self.refunds[refund_id]["status"] = status
        return dict(self.refunds[refund_id])

    def posts(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.method == "post" and call.path == path]


def _form(post_data: Any) -> dict[str, Any]:
    """Stripe's form encoding, one level of nesting (`metadata[card_payment]=7`)."""
    params: dict[str, Any] = {}
    for name, value in parse_qsl(post_data or ""):
        if "[" in name:
            outer, inner = name.rstrip("]").split("[", 1)
            params.setdefault(outer, {})[inner] = value
        else:
            params[name] = value
    return params


def _error(status: int, kind: str, message: str) -> str:
    return json.dumps({"error": {"type": kind, "message": message, "status": status}})


def sign(payload: str, *, secret: str = SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header, built by hand: t=<timestamp>,v1=<HMAC-SHA256 of "<timestamp>.<payload>">."""
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def wallet_cents(lender: User) -> int:
    return lender_wallet(user=lender, currency="USD").balance_cents


_events = count(1)


def event(kind: str, obj: dict[str, Any], *, livemode: bool = False) -> dict[str, Any]:
    return {
        "id": f"evt_fake_{next(_events)}_{time.time_ns()}", "object": "event", "type": kind,
        "created": int(time.time()), "livemode": livemode, "data": {"object": obj},
    }  # fmt: skip


@pytest.fixture(autouse=True)
def fake(settings: Any) -> Iterator[FakeStripe]:
    """Every test here talks to the fake: test keys, a dummy API base, a known webhook secret."""
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake"
    settings.STRIPE_API_BASE = "http://stripe.invalid"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
    settings.STRIPE_MAX_NETWORK_RETRIES = RETRIES
    server = FakeStripe()
    use_http_client(server)
    yield server
    use_http_client(None)


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    """Celery tasks run inline, so an accepted webhook is processed before the response returns."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


Post = Callable[..., Any]


@pytest.fixture
def post(client: Any, django_capture_on_commit_callbacks: Any) -> Post:
    """POST a body to the webhook, signed now with SECRET unless `signature` says otherwise ("" sends none)."""

    def send(body: str | dict[str, Any], *, signature: str | None = None) -> Any:
        payload = body if isinstance(body, str) else json.dumps(body)
        header = sign(payload) if signature is None else signature
        headers = {"Stripe-Signature": header} if header else {}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data=payload, content_type="application/json", headers=headers)

    return send


@pytest.fixture
def deposited(fake: FakeStripe, post: Post) -> Callable[..., CardPayment]:
    """A deposit taken through the fake and credited by its signed payment_intent.succeeded event."""

    def make(lender: User, cents: int = 5_000, key: str = "deposit-form-1") -> CardPayment:
        payment = deposit_start(lender=lender, amount_cents=cents, request_key=key)
        assert post(event("payment_intent.succeeded", fake.succeed(str(payment.payment_intent_id)))).status_code == 200
        payment.refresh_from_db()
        assert payment.status == CardPayment.Status.SUCCEEDED
        return payment

    return make


# --- A. the SDK's retries, our idempotency keys -----------------------------------------------------


def test_a_lost_answer_is_retried_with_the_same_key_and_the_deposit_is_credited_once(fake, post, lender):
    fake.faults = ["lost"]  # Stripe creates the PaymentIntent; the answer never arrives

    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="lost-answer-1")

    attempts = fake.posts("/v1/payment_intents")
    assert len(attempts) == 2
    assert {call.idempotency_key for call in attempts} == {f"card-payment:{payment.pk}"}
    assert len(fake.delays) == 1
    assert list(fake.payment_intents) == [payment.payment_intent_id]
    assert payment.client_secret == f"{payment.payment_intent_id}_secret_fake"
    assert attempts[0].params["amount"] == "5000"
    assert attempts[0].params["currency"] == "usd"
    assert attempts[0].params["metadata"] == {"purpose": "deposit", "card_payment": str(payment.pk),
                                              "user": str(lender.pk)}  # fmt: skip
    assert wallet_cents(lender) == 0  # nothing before Stripe's word

    succeeded = event("payment_intent.succeeded", fake.succeed(str(payment.payment_intent_id)))
    assert post(succeeded).json()["duplicate"] is False
    assert post(succeeded).json()["duplicate"] is True  # Stripe delivers again
    again = event("payment_intent.succeeded", fake.succeed(str(payment.payment_intent_id)))
    assert post(again).status_code == 200  # a second event about the same PaymentIntent

    payment.refresh_from_db()
    assert payment.status == CardPayment.Status.SUCCEEDED
    assert payment.received_cents == 5_000
    assert payment.charge_id == f"ch_{payment.payment_intent_id}"
    assert wallet_cents(lender) == 5_000
    assert Journal.objects.filter(kind="deposit").count() == 1
    assert reconcile().ok


@pytest.mark.parametrize(
    "faults",
    [[500, 500], [503, 503], ["timeout", "timeout"], [500, "timeout"], ["lost", 503]],
    ids=["500-twice", "503-twice", "timeout-twice", "500-then-timeout", "lost-then-503"],
)
def test_timeouts_and_5xx_are_retried_until_stripe_answers(fake, lender, faults):
    fake.faults = list(faults)

    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="flaky-network-1")

    attempts = fake.posts("/v1/payment_intents")
    assert len(attempts) == 3
    assert {call.idempotency_key for call in attempts} == {f"card-payment:{payment.pk}"}
    assert len(fake.delays) == 2
    assert len(fake.payment_intents) == 1
    assert payment.payment_intent_id in fake.payment_intents


def test_the_backoff_grows_between_retries(fake, lender):
    fake.faults = [500, "timeout", 503]

    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="backoff-1")

    assert payment.payment_intent_id
    assert len(fake.posts("/v1/payment_intents")) == 4
    first, second, third = fake.delays
    # Exponential from 0.5 s with jitter in [half, full], never below 0.5 s: 0.5, then 0.5-1.0, then 1.0-2.0.
    assert first == pytest.approx(0.5)
    assert 0.5 <= second <= 1.0
    assert 1.0 <= third <= 2.0
    assert first <= second <= third
    assert third > first


def test_stripe_failing_every_attempt_charges_nothing_and_a_second_try_reuses_the_row_and_key(fake, lender):
    journals = Journal.objects.count()
    fake.faults = [500] * (RETRIES + 1)

    with pytest.raises(StripeUnavailable, match="nothing was charged"):
        deposit_start(lender=lender, amount_cents=5_000, request_key="outage-1")

    row = CardPayment.objects.get()
    assert row.payment_intent_id is None
    assert row.client_secret == ""
    assert row.status == CardPayment.Status.AWAITING_CARD
    assert len(fake.posts("/v1/payment_intents")) == RETRIES + 1
    assert fake.payment_intents == {}
    assert Journal.objects.count() == journals
    assert wallet_cents(lender) == 0

    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="outage-1")

    assert payment.pk == row.pk
    assert CardPayment.objects.count() == 1
    assert {call.idempotency_key for call in fake.posts("/v1/payment_intents")} == {f"card-payment:{row.pk}"}
    assert list(fake.payment_intents) == [payment.payment_intent_id]


def test_every_answer_lost_then_a_second_try_gets_the_payment_intent_stripe_already_made(fake, lender):
    fake.faults = ["lost"] * (RETRIES + 1)

    with pytest.raises(StripeUnavailable):
        deposit_start(lender=lender, amount_cents=5_000, request_key="lost-all-1")
    assert len(fake.payment_intents) == 1  # Stripe acted once, whatever the number of lost answers
    assert CardPayment.objects.get().payment_intent_id is None

    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="lost-all-1")

    assert list(fake.payment_intents) == [payment.payment_intent_id]
    assert len({call.idempotency_key for call in fake.posts("/v1/payment_intents")}) == 1


def test_the_succeeded_event_finds_a_payment_whose_intent_id_was_never_saved(fake, post, lender):
    fake.faults = ["lost"] * (RETRIES + 1)
    with pytest.raises(StripeUnavailable):
        deposit_start(lender=lender, amount_cents=5_000, request_key="lost-all-2")
    (intent_id,) = fake.payment_intents

    assert post(event("payment_intent.succeeded", fake.succeed(intent_id))).status_code == 200

    payment = CardPayment.objects.get()
    assert payment.payment_intent_id == intent_id
    assert payment.status == CardPayment.Status.SUCCEEDED
    assert wallet_cents(lender) == 5_000
    calls = len(fake.calls)
    assert deposit_start(lender=lender, amount_cents=5_000, request_key="lost-all-2").pk == payment.pk
    assert len(fake.calls) == calls  # already has its PaymentIntent: Stripe is not asked again


@pytest.mark.parametrize("retries", [0, 1, 5])
def test_the_max_network_retries_setting_is_respected(fake, settings, lender, retries):
    settings.STRIPE_MAX_NETWORK_RETRIES = retries
    fake.faults = [503] * (retries + 2)  # one more failure than the attempts allowed

    with pytest.raises(StripeUnavailable):
        deposit_start(lender=lender, amount_cents=5_000, request_key=f"retries-{retries}")

    assert len(fake.posts("/v1/payment_intents")) == retries + 1
    assert len(fake.delays) == retries


def test_a_4xx_answer_is_not_retried(fake, lender, deposited):
    deposit = deposited(lender)
    withdrawal = withdrawal_request(lender=lender, amount_cents=2_000, request_key="no-retry-1")
    CardPayment.objects.filter(pk=deposit.pk).update(payment_intent_id="pi_not_at_stripe")

    withdrawal_pay(withdrawal.pk)

    assert len(fake.posts("/v1/refunds")) == 1
    assert fake.delays == []
    refund = WithdrawalRefund.objects.get()
    assert refund.status == WithdrawalRefund.Status.FAILED
    assert "Stripe refused the refund" in refund.failure_reason
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.FAILED
    assert wallet_cents(lender) == 5_000  # returned
    assert reconcile().ok


# --- A. withdrawals paid by refund ----------------------------------------------------------------------


def test_a_refund_whose_answers_are_lost_stays_planned_and_is_sent_again_with_the_same_key(fake, lender, deposited):
    deposit = deposited(lender, 5_000)
    withdrawal = withdrawal_request(lender=lender, amount_cents=3_000, request_key="withdraw-1")
    refund = WithdrawalRefund.objects.get(withdrawal=withdrawal)
    assert (refund.deposit_id, refund.amount_cents, refund.status) == (
        deposit.pk,
        3_000,
        WithdrawalRefund.Status.PLANNED,
    )
    fake.faults = ["lost"] * (RETRIES + 1)

    with pytest.raises(StripeUnavailable):
        withdrawal_pay(withdrawal.pk)

    refund.refresh_from_db()
    assert refund.status == WithdrawalRefund.Status.PLANNED
    assert refund.refund_id is None
    assert len(fake.refunds) == 1  # Stripe did refund; we do not know it yet
    assert wallet_cents(lender) == 2_000  # held, not returned

    assert withdrawal_pay(withdrawal.pk).status == Withdrawal.Status.PAID
    assert withdrawal_pay(withdrawal.pk).status == Withdrawal.Status.PAID  # a third run sends nothing

    sent = fake.posts("/v1/refunds")
    assert len(sent) == RETRIES + 2
    assert {call.idempotency_key for call in sent} == {f"withdrawal-refund:{refund.pk}"}
    assert sent[0].params["payment_intent"] == deposit.payment_intent_id
    assert sent[0].params["amount"] == "3000"
    (refund_id,) = fake.refunds
    refund.refresh_from_db()
    assert (refund.refund_id, refund.status) == (refund_id, WithdrawalRefund.Status.SUCCEEDED)
    withdrawal.refresh_from_db()
    assert (withdrawal.paid_cents, withdrawal.returned_cents) == (3_000, 0)
    assert Journal.objects.filter(kind="withdrawal_paid").count() == 1
    assert wallet_cents(lender) == 2_000
    assert pending_account(lender.pk, "USD").balance_cents == 0
    assert reconcile().ok


def test_a_pending_refund_waits_for_its_refund_updated_event(fake, post, lender, deposited):
    deposited(lender, 5_000)
    withdrawal = withdrawal_request(lender=lender, amount_cents=5_000, request_key="withdraw-2")
    fake.refund_status = "pending"

    assert withdrawal_pay(withdrawal.pk).status == Withdrawal.Status.PENDING
    refund = WithdrawalRefund.objects.get()
    assert refund.status == WithdrawalRefund.Status.PENDING
    assert refund.refund_id in fake.refunds
    assert pending_account(lender.pk, "USD").balance_cents == 5_000

    still = event("refund.updated", dict(fake.refunds[str(refund.refund_id)]))
    assert post(still).status_code == 200
    refund.refresh_from_db()
    assert refund.status == WithdrawalRefund.Status.PENDING

    done = event("refund.updated", fake.settle_refund(str(refund.refund_id), "succeeded"))
    assert post(done).status_code == 200
    assert post(event("refund.updated", dict(fake.refunds[str(refund.refund_id)]))).status_code == 200  # again

    refund.refresh_from_db()
    assert refund.status == WithdrawalRefund.Status.SUCCEEDED
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.paid_cents) == (Withdrawal.Status.PAID, 5_000)
    assert Journal.objects.filter(kind="withdrawal_paid").count() == 1
    assert pending_account(lender.pk, "USD").balance_cents == 0
    assert StripeEvent.objects.filter(status=StripeEvent.Status.PROCESSED).count() == 4  # the deposit's and three
    assert reconcile().ok


def test_a_pending_refund_that_fails_returns_the_money_to_the_wallet(fake, post, lender, deposited):
    deposited(lender, 5_000)
    withdrawal = withdrawal_request(lender=lender, amount_cents=4_000, request_key="withdraw-3")
    fake.refund_status = "pending"
    withdrawal_pay(withdrawal.pk)
    refund = WithdrawalRefund.objects.get()
    assert wallet_cents(lender) == 1_000

    failed = fake.settle_refund(str(refund.refund_id), "failed") | {"failure_reason": "expired_or_canceled_card"}
    assert post(event("refund.failed", failed)).status_code == 200

    refund.refresh_from_db()
    assert refund.status == WithdrawalRefund.Status.FAILED
    assert refund.failure_reason == "expired_or_canceled_card"
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.returned_cents) == (Withdrawal.Status.FAILED, 4_000)
    assert wallet_cents(lender) == 5_000
    assert reconcile().ok


# --- A. live keys are refused ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["sk_live_abc123", "rk_live_abc123", "pk_live_abc123"])
def test_a_live_secret_key_is_refused_naming_the_setting(key):
    with pytest.raises(ImproperlyConfigured, match=r"STRIPE_SECRET_KEY is a live Stripe key") as refused:
        check_keys(key)
    assert key not in str(refused.value)  # the message shows a prefix, never the key


@pytest.mark.parametrize("key", ["pk_live_abc123", "sk_live_abc123"])
def test_a_live_publishable_key_is_refused_naming_the_setting(key):
    with pytest.raises(ImproperlyConfigured, match=r"STRIPE_PUBLISHABLE_KEY is a live Stripe key"):
        check_keys("sk_test_abc123", key)


@pytest.mark.parametrize("key", ["sk_foo", "whsec_abc", "pk_test_abc"])
def test_a_secret_key_that_is_not_a_test_key_is_refused(key):
    with pytest.raises(ImproperlyConfigured, match="STRIPE_SECRET_KEY must be a Stripe test key"):
        check_keys(key)


@pytest.mark.parametrize(("secret", "publishable"), [("sk_test_abc", "pk_test_abc"), ("rk_test_abc", ""), ("", "")])
def test_test_keys_are_accepted(secret, publishable):
    check_keys(secret, publishable)


def test_no_client_is_built_with_a_live_key(fake, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_abc123"
    with pytest.raises(ImproperlyConfigured, match="STRIPE_SECRET_KEY"):
        stripe_client(fake)
    assert fake.calls == []


def _manage_check(secret_key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "STRIPE_SECRET_KEY": secret_key}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_process_started_with_a_live_key_stops_at_once():
    refused = _manage_check("sk_live_abc123secretpart")
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "STRIPE_SECRET_KEY is a live Stripe key" in refused.stderr
    assert "abc123secretpart" not in refused.stderr + refused.stdout

    assert _manage_check("sk_test_abc123").returncode == 0  # the same command starts with a test key


# --- B. the webhook: signature, body, storage ------------------------------------------------------------


def test_a_signed_event_is_stored_and_answered_200(post, fake):
    unknown = event("payment_intent.succeeded", {"id": "pi_elsewhere", "object": "payment_intent", "status": "x"})

    response = post(unknown)

    assert response.status_code == 200
    assert response.json() == {"received": True, "event": unknown["id"], "duplicate": False}
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.livemode) == (unknown["id"], "payment_intent.succeeded", False)
    assert stored.payload == unknown
    assert int(stored.stripe_created.timestamp()) == unknown["created"]


def test_a_wrong_secret_is_refused_and_nothing_stored(post):
    body = json.dumps(event("payment_intent.succeeded", {"id": "pi_x"}))

    response = post(body, signature=sign(body, secret="whsec_someone_else"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_webhook"
    assert StripeEvent.objects.count() == 0


def test_a_body_changed_after_signing_is_refused(post):
    body = json.dumps(event("payment_intent.succeeded", {"id": "pi_x"}))
    assert post(body.replace("pi_x", "pi_y"), signature=sign(body)).status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize(("age", "status"), [(301, 400), (600, 400), (290, 200), (0, 200)])
def test_the_timestamp_must_be_within_300_seconds(post, age, status):
    body = json.dumps(event("some.thing", {"id": "x"}))

    response = post(body, signature=sign(body, at=int(time.time()) - age))

    assert response.status_code == status
    assert StripeEvent.objects.count() == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    "header",
    ["garbage", "t=1700000000", "v1=deadbeef", "t=notanumber,v1=deadbeef", "", ",,,"],
    ids=["garbage", "no-v1", "no-t", "bad-t", "missing-header", "commas"],
)
def test_a_malformed_signature_header_is_refused(post, header):
    response = post(json.dumps(event("some.thing", {"id": "x"})), signature=header)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_without_a_configured_secret_every_event_is_refused(post, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert post(event("some.thing", {"id": "x"})).status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "[1, 2, 3]",
        '"just a string"',
        json.dumps({"type": "some.thing", "data": {"object": {}}}),
        json.dumps({"id": "evt_1", "data": {"object": {}}}),
        json.dumps({"id": 7, "type": "some.thing", "data": {"object": {}}}),
        json.dumps({"id": "evt_1", "type": "some.thing"}),
        json.dumps({"id": "evt_1", "type": "some.thing", "data": {}}),
        json.dumps({"id": "evt_1", "type": "some.thing", "data": {"object": "pi_1"}}),
        json.dumps({"id": "evt_1", "type": "some.thing", "data": "pi_1"}),
        json.dumps({"id": "evt_1", "type": "some.thing", "data": ["pi_1"]}),
        json.dumps({"id": "evt_" + "x" * 300, "type": "some.thing", "created": 1, "data": {"object": {}}}),
        json.dumps({"id": "evt_1", "type": "some.thing", "created": 10**12, "data": {"object": {}}}),
        json.dumps({"id": "evt_1", "type": "some.thing", "created": "yesterday", "data": {"object": {}}}),
        json.dumps({"id": "evt_1", "type": "some.thing", "data": {"object": {}}}),
    ],
    ids=[
        "text",
        "list",
        "string",
        "no-id",
        "no-type",
        "id-not-string",
        "no-data",
        "no-object",
        "object-not-dict",
        "data-not-dict",
        "data-list",
        "id-too-long",
        "created-out-of-range",
        "created-not-a-number",
        "no-created",
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(post, body):
    response = post(body)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_an_unknown_event_type_is_stored_and_ignored_changing_nothing(post, lender, deposited):
    deposited(lender, 5_000)
    journals, payments = Journal.objects.count(), list(CardPayment.objects.values())
    unknown = event("customer.created", {"id": "cus_1", "object": "customer"})

    assert post(unknown).status_code == 200

    stored = StripeEvent.objects.get(event_id=unknown["id"])
    assert stored.status == StripeEvent.Status.IGNORED
    assert "not handled" in stored.note
    assert (stored.attempts, stored.processed_at is not None) == (1, True)
    assert Journal.objects.count() == journals
    assert list(CardPayment.objects.values()) == payments


def test_the_same_event_twice_is_stored_and_processed_once(post, lender, fake):
    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="twice-form-1")
    succeeded = event("payment_intent.succeeded", fake.succeed(str(payment.payment_intent_id)))

    first, second = post(succeeded), post(succeeded)

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == (StripeEvent.Status.PROCESSED, 1)
    assert wallet_cents(lender) == 5_000


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405
    assert StripeEvent.objects.count() == 0


def test_a_live_mode_event_is_stored_and_ignored_even_for_our_payment(post, lender, fake):
    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="live-mode-1")
    live = event("payment_intent.succeeded", fake.succeed(str(payment.payment_intent_id)), livemode=True)

    assert post(live).status_code == 200

    stored = StripeEvent.objects.get()
    assert stored.livemode is True
    assert stored.status == StripeEvent.Status.IGNORED
    assert "live-mode" in stored.note
    payment.refresh_from_db()
    assert payment.status == CardPayment.Status.AWAITING_CARD
    assert wallet_cents(lender) == 0


def test_events_for_a_payment_intent_that_is_not_ours_are_ignored(post, lender, fake, deposited):
    ours = deposited(lender, 5_000)
    journals, before = Journal.objects.count(), list(StripeEvent.objects.values_list("pk", flat=True))
    foreign: dict[str, Any] = {
        "id": "pi_other_app", "object": "payment_intent", "amount": 9_900, "amount_received": 9_900,
        "currency": "usd", "status": "succeeded", "metadata": {}, "latest_charge": "ch_other",
    }  # fmt: skip
    # Someone else's PaymentIntent naming one of our rows (which already has its own) is not ours either.
    impostor = foreign | {"id": "pi_other_app_2", "metadata": {"card_payment": str(ours.pk)}}

    for kind, obj in [
        ("payment_intent.succeeded", foreign),
        ("payment_intent.payment_failed", foreign | {"status": "requires_payment_method"}),
        ("payment_intent.succeeded", impostor),
        ("refund.updated", {"id": "re_other", "object": "refund", "status": "succeeded", "metadata": {}}),
    ]:
        assert post(event(kind, obj)).status_code == 200

    notes = StripeEvent.objects.exclude(pk__in=before).values_list("status", "note")
    assert list(notes) == [(StripeEvent.Status.IGNORED, "not one of our payments, refunds or disputes")] * 4
    assert Journal.objects.count() == journals
    assert wallet_cents(lender) == 5_000
    ours.refresh_from_db()
    assert ours.payment_intent_id in fake.payment_intents


def test_a_refund_that_is_not_ours_is_ignored_even_naming_one_of_our_refunds(fake, post, lender, deposited):
    deposited(lender, 5_000)
    withdrawal = withdrawal_request(lender=lender, amount_cents=4_000, request_key="withdraw-4")
    fake.refund_status = "pending"
    withdrawal_pay(withdrawal.pk)
    ours = WithdrawalRefund.objects.get()
    journals = Journal.objects.count()
    # Another refund (not the one we sent, which has its own id) carrying our row's metadata.
    other = {"id": "re_someone_else", "object": "refund", "amount": 4_000, "status": "failed",
             "metadata": {"withdrawal_refund": str(ours.pk)}, "failure_reason": "lost_or_stolen_card"}  # fmt: skip

    assert post(event("refund.failed", other)).status_code == 200

    assert StripeEvent.objects.get(type="refund.failed").status == StripeEvent.Status.IGNORED
    ours.refresh_from_db()
    assert (ours.status, ours.refund_id) == (WithdrawalRefund.Status.PENDING, next(iter(fake.refunds)))
    assert Journal.objects.count() == journals
    assert wallet_cents(lender) == 1_000  # not handed back while our own refund is still on its way


def test_stripe_needs_no_csrf_token(fake):
    from django.test import Client

    body = json.dumps(event("some.thing", {"id": "x"}))
    response = Client(enforce_csrf_checks=True).post(
        URL, data=body, content_type="application/json", headers={"Stripe-Signature": sign(body)}
    )
    assert response.status_code == 200


def test_a_body_that_is_not_utf8_is_refused(client):
    response = client.post(
        URL, data=b"\xff\xfe{}", content_type="application/json", headers={"Stripe-Signature": "t=1,v1=0"}
    )
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


# --- C. input refused before anything is written or sent ---------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        lambda s: s.DEPOSIT_MIN_CENTS - 1,
        lambda s: s.DEPOSIT_MAX_CENTS + 1,
        lambda s: 0,
        lambda s: -5_000,
        lambda s: "5000",
        lambda s: 5_000.0,
        lambda s: True,
        lambda s: None,
    ],
    ids=["below-min", "above-max", "zero", "negative", "string", "float", "bool", "none"],
)
def test_a_deposit_amount_out_of_range_or_not_an_int_is_refused(fake, settings, lender, amount):
    with pytest.raises(PaymentRefused) as refused:
        deposit_start(lender=lender, amount_cents=amount(settings), request_key="amount-check-1")
    assert refused.value.field == "amount_cents"
    assert CardPayment.objects.count() == 0
    assert fake.calls == []


def test_the_deposit_bounds_themselves_are_accepted(fake, settings, lender):
    low = deposit_start(lender=lender, amount_cents=settings.DEPOSIT_MIN_CENTS, request_key="bounds-low")
    high = deposit_start(lender=lender, amount_cents=settings.DEPOSIT_MAX_CENTS, request_key="bounds-high")
    assert low.payment_intent_id
    assert high.payment_intent_id
    assert [int(call.params["amount"]) for call in fake.calls] == [
        settings.DEPOSIT_MIN_CENTS,
        settings.DEPOSIT_MAX_CENTS,
    ]


@pytest.mark.parametrize("key", ["short", "x" * 65, "has space", "semi;colon", "", None, 12345678])
def test_a_bad_request_key_is_refused(fake, lender, key):
    with pytest.raises(PaymentRefused) as refused:
        deposit_start(lender=lender, amount_cents=5_000, request_key=key)
    assert refused.value.field == "request_key"
    assert CardPayment.objects.count() == 0
    assert fake.calls == []


@pytest.fixture
def awaiting(lender: User, fake: FakeStripe) -> CardPayment:
    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="card-form-1")
    fake.calls.clear()
    return payment


LAST_YEAR = timezone.localdate().year - 1


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({"number": "4242424242424241"}, "number"),
        ({"number": "424242424242424"}, "number"),
        ({"number": "42424242424242424"}, "number"),
        ({"number": "4242 4242 4242 424x"}, "number"),
        ({"exp_month": 13}, "exp_month"),
        ({"exp_month": 0}, "exp_month"),
        ({"exp_month": "ab"}, "exp_month"),
        ({"exp_year": LAST_YEAR}, "exp_year"),
        ({"exp_year": LAST_YEAR % 100}, "exp_year"),
        ({"cvc": "12"}, "cvc"),
        ({"cvc": "12a"}, "cvc"),
    ],
    ids=[
        "bad-luhn",
        "15-digits",
        "17-digits",
        "letter",
        "month-13",
        "month-0",
        "month-text",
        "expired",
        "expired-2-digit",
        "cvc-2-digits",
        "cvc-letter",
    ],
)
def test_a_bad_test_card_is_refused_naming_the_field(fake, awaiting, card, field):
    good = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": LAST_YEAR + 5, "cvc": "123"}

    with pytest.raises(PaymentRefused) as refused:
        pay_with_test_card(payment=awaiting, **(good | card))

    assert refused.value.field == field
    assert fake.calls == []
    awaiting.refresh_from_db()
    assert awaiting.status == CardPayment.Status.AWAITING_CARD


def test_card_details_are_refused_entirely_when_talking_to_real_stripe(fake, settings, awaiting):
    settings.STRIPE_API_BASE = ""  # Stripe itself: card data is entered in Stripe's own form, never ours

    with pytest.raises(PaymentRefused) as refused:
        pay_with_test_card(payment=awaiting, number="4242424242424242", exp_month=12, exp_year=LAST_YEAR + 5, cvc="123")

    assert refused.value.field == "number"
    assert fake.calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook-url", "not a url"], "--webhook-url must be an http\\(s\\) address"),
        (["--webhook-url", "ftp://127.0.0.1/x"], "--webhook-url must be an http\\(s\\) address"),
        (["--port", "70000"], "--port must be 1 to 65535"),
    ],
)
def test_the_local_stripe_command_refuses_a_bad_option_with_a_sentence(settings, args, message):
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    with pytest.raises(CommandError, match=message):
        call_command("localstripe", *args)
