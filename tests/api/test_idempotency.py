"""`Idempotency-Key` on POST /api/v1/wallet/withdrawals/ and /api/v1/wallet/deposits/, against the real local
Stripe server: a repeat replays the first answer (marked `Idempotent-Replayed: true`) and does nothing twice;
another body or another endpoint under the same key is a 409; no key is a 400; a 4xx is replayed, a 5xx is not
kept; keys belong to their caller; old keys are forgotten; eight identical requests at once withdraw once."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from lending.api.idempotency import forget_old_keys, idempotent
from lending.api.keys import api_key_create
from lending.api.models import IdempotentRequest
from lending.api.tasks import forget_idempotency_keys
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.payments.cards import pay_with_test_card
from lending.payments.models import CardPayment, Withdrawal, WithdrawalRefund
from tests.concurrency import run_together
from tests.factories import LenderFactory
from tests.stripe_server import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DEPOSITS = "/api/v1/wallet/deposits/"
WITHDRAWALS = "/api/v1/wallet/withdrawals/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _post(client: APIClient, path: str, cents: int, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(path, {"amount_cents": cents}, format="json", **headers)


def _card_deposit(client: APIClient, cents: int, key: str) -> CardPayment:
    response = _post(client, DEPOSITS, cents, key)
    assert response.status_code == 201, response.json()
    payment = CardPayment.objects.get(pk=response.json()["id"])
    pay_with_test_card(payment=payment, number="4242424242424242", exp_month=12, exp_year=34, cvc="123")
    assert wait_for(lambda: CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.SUCCEEDED)
    return payment


def _credit(user, cents: int) -> None:
    """Credit from elsewhere (repayments): in the wallet, but not refundable to a card."""
    cash, wallet = platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=user, currency="USD")
    journal_post(
        idempotency_key=f"test-credit:{user.pk}:{cents}",
        kind="deposit",
        lines=[Line(cash, wallet, cents)],
    )


def _payment_intents(server) -> list[dict]:
    listing = requests.get(f"{server.base}/v1/payment_intents", auth=("sk_test_local", ""), timeout=5)
    listing.raise_for_status()
    return listing.json()["data"]


def _wallet_cents(user) -> int:
    wallet = lender_wallet(user=user, currency="USD")
    wallet.refresh_from_db()
    return wallet.balance_cents


@pytest.fixture
def ann():
    return LenderFactory()


@pytest.fixture
def api(ann) -> APIClient:
    return _client(ann)


# --- a repeat replays the first answer ---------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_withdrawal_and_withdraws_once(stripe_settings, api, ann):
    _card_deposit(api, 5_000, "dep-key-1001")

    first = _post(api, WITHDRAWALS, 3_000, "wd-key-1001")
    again = _post(api, WITHDRAWALS, 3_000, "wd-key-1001")
    third = _post(api, WITHDRAWALS, 3_000, "wd-key-1001")

    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert (third.status_code, third["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == first.json() == third.json()
    assert Withdrawal.objects.count() == 1
    assert WithdrawalRefund.objects.count() == 1
    assert IdempotentRequest.objects.filter(key="wd-key-1001").count() == 1
    assert _wallet_cents(ann) == 2_000


def test_the_same_key_and_body_replays_the_first_deposit_and_asks_stripe_once(stripe_settings, api):
    first = _post(api, DEPOSITS, 4_000, "dep-key-1002")
    again = _post(api, DEPOSITS, 4_000, "dep-key-1002")

    assert first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert CardPayment.objects.count() == 1
    assert len(_payment_intents(stripe_settings)) == 1


def test_a_replay_is_the_first_answer_even_after_the_object_changed(stripe_settings, api):
    first = _post(api, DEPOSITS, 4_000, "dep-key-1003")
    payment = CardPayment.objects.get(pk=first.json()["id"])
    pay_with_test_card(payment=payment, number="4242424242424242", exp_month=12, exp_year=34, cvc="123")
    assert wait_for(lambda: CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.SUCCEEDED)

    again = _post(api, DEPOSITS, 4_000, "dep-key-1003")

    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["status"] == "awaiting_card"  # what the first answer said, not what is true now
    assert api.get(f"{DEPOSITS}{payment.pk}/").json()["status"] == "succeeded"


# --- the same key for something else: 409, nothing done -----------------------------------------------


def test_the_same_key_with_another_body_is_a_409_and_withdraws_nothing_more(stripe_settings, api, ann):
    _card_deposit(api, 5_000, "dep-key-1004")
    first = _post(api, WITHDRAWALS, 1_000, "wd-key-1004")

    other = _post(api, WITHDRAWALS, 2_000, "wd-key-1004")

    assert first.status_code == 201
    assert other.status_code == 409
    error = other.json()["error"]
    assert error["code"] == "idempotency_conflict"
    assert "wd-key-1004" in error["message"]
    assert "Idempotent-Replayed" not in other
    assert list(Withdrawal.objects.values_list("amount_cents", flat=True)) == [1_000]
    assert _wallet_cents(ann) == 4_000


def test_the_same_key_on_another_endpoint_is_a_409_and_starts_no_deposit(stripe_settings, api):
    deposit = _card_deposit(api, 5_000, "dep-key-1005")
    assert _post(api, WITHDRAWALS, 1_000, "shared-key-1005").status_code == 201

    response = _post(api, DEPOSITS, 1_000, "shared-key-1005")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert WITHDRAWALS in response.json()["error"]["message"]
    assert list(CardPayment.objects.values_list("pk", flat=True)) == [deposit.pk]


def test_a_body_with_the_same_content_in_another_order_is_the_same_request(stripe_settings, api):
    _card_deposit(api, 5_000, "dep-key-1006")
    first = api.post(WITHDRAWALS, '{"amount_cents": 1000, "note": "x"}', content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="wd-key-1006")  # fmt: skip
    again = api.post(WITHDRAWALS, '{"note": "x", "amount_cents": 1000}', content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="wd-key-1006")  # fmt: skip

    assert first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Withdrawal.objects.count() == 1


# --- uploads: a file counts by its content, a field by all its values ------------------------------------


@api_view(["POST"])
@parser_classes([MultiPartParser])
@idempotent
def _upload(request):
    """A test-only view: what a CSV upload endpoint would be, answering once per key."""
    return Response({"files": sorted(request.FILES), "tags": request.data.getlist("tag")}, status=201)


def _send_upload(user, key: str, content: bytes, tags: list[str]):
    body = {"file": SimpleUploadedFile("batch.csv", content, content_type="text/csv"), "tag": tags}
    request = APIRequestFactory().post("/uploads/", body, format="multipart", HTTP_IDEMPOTENCY_KEY=key)
    force_authenticate(request, user=user)
    return _upload(request)


def test_an_upload_with_the_same_file_and_fields_is_replayed(ann):
    first = _send_upload(ann, "upload-key-01", b"loan,amount_cents\n1,2500\n", ["a", "b"])
    again = _send_upload(ann, "upload-key-01", b"loan,amount_cents\n1,2500\n", ["a", "b"])

    assert first.status_code == 201
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.data == first.data


def test_an_upload_of_another_file_under_the_same_name_and_key_is_a_409(ann):
    _send_upload(ann, "upload-key-02", b"loan,amount_cents\n1,2500\n", ["a"])

    other = _send_upload(ann, "upload-key-02", b"loan,amount_cents\n1,9900\n", ["a"])

    assert other.status_code == 409
    assert other.data["error"]["code"] == "idempotency_conflict"


def test_an_upload_with_other_values_of_a_repeated_field_under_the_same_key_is_a_409(ann):
    _send_upload(ann, "upload-key-03", b"same", ["a", "b"])

    other = _send_upload(ann, "upload-key-03", b"same", ["c", "b"])

    assert other.status_code == 409


# --- no key --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [WITHDRAWALS, DEPOSITS])
@pytest.mark.parametrize("key", [None, "", "k" * 256, "tab\tinside"])
def test_a_missing_or_unusable_key_is_a_400_naming_idempotency_key_and_nothing_is_written(
    stripe_settings, api, ann, path, key
):
    _credit(ann, 5_000)

    response = _post(api, path, 2_500, key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not IdempotentRequest.objects.exists()
    assert not Withdrawal.objects.exists()
    assert not CardPayment.objects.exists()


# --- what is kept: 4xx yes, 5xx no ----------------------------------------------------------------------


def test_a_refusal_is_replayed_as_the_same_400_even_once_it_would_succeed(stripe_settings, api, ann):
    _card_deposit(api, 3_000, "dep-key-1007")

    refused = _post(api, WITHDRAWALS, 5_000, "wd-key-1007")
    _card_deposit(api, 5_000, "dep-key-1008")  # now 8,000 could be withdrawn
    again = _post(api, WITHDRAWALS, 5_000, "wd-key-1007")
    fresh = _post(api, WITHDRAWALS, 5_000, "wd-key-1008")

    assert refused.status_code == 400
    assert "amount_cents" in refused.json()["error"]["fields"]
    assert (again.status_code, again["Idempotent-Replayed"]) == (400, "true")
    assert again.json() == refused.json()
    assert fresh.status_code == 201
    assert Withdrawal.objects.count() == 1
    assert _wallet_cents(ann) == 3_000


def test_a_validation_error_is_replayed_too(stripe_settings, api):
    first = api.post(DEPOSITS, {"amount_cents": "ten"}, format="json", HTTP_IDEMPOTENCY_KEY="dep-key-1009")
    again = api.post(DEPOSITS, {"amount_cents": "ten"}, format="json", HTTP_IDEMPOTENCY_KEY="dep-key-1009")

    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_5xx_is_not_kept_so_the_same_key_may_be_tried_again(stripe_settings, api):
    with override_settings(STRIPE_API_BASE=f"http://127.0.0.1:{_unused_port()}", STRIPE_MAX_NETWORK_RETRIES=0):
        down = _post(api, DEPOSITS, 4_000, "dep-key-1010")
    retried = _post(api, DEPOSITS, 4_000, "dep-key-1010")

    assert down.status_code == 503
    assert down["Retry-After"]
    assert retried.status_code == 201, retried.json()
    assert "Idempotent-Replayed" not in retried
    assert retried.json()["payment_intent_id"].startswith("pi_")
    assert CardPayment.objects.count() == 1
    assert IdempotentRequest.objects.get(key="dep-key-1010").status_code == 201


# --- keys belong to their caller -----------------------------------------------------------------------


def test_two_lenders_may_use_the_same_key_independently(stripe_settings, api, ann):
    bea = LenderFactory()
    bea_api = _client(bea)
    _card_deposit(api, 5_000, "dep-key-1011")
    _card_deposit(bea_api, 5_000, "dep-key-1011")

    mine = _post(api, WITHDRAWALS, 1_000, "same-key-1011")
    theirs = _post(bea_api, WITHDRAWALS, 2_000, "same-key-1011")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert (_wallet_cents(ann), _wallet_cents(bea)) == (4_000, 3_000)
    assert IdempotentRequest.objects.filter(key="same-key-1011").count() == 2


def test_an_api_key_has_its_own_keys_apart_from_its_users_session(stripe_settings, api, ann):
    _card_deposit(api, 5_000, "dep-key-1012")
    _, full = api_key_create(user=ann, name="budget app", scopes=["wallet:write"])
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Bearer {full}")
    assert _post(api, WITHDRAWALS, 1_000, "same-key-1012").status_code == 201

    response = _post(program, DEPOSITS, 2_500, "same-key-1012")  # the session's key, another caller: no 409

    assert response.status_code == 201, response.json()
    assert IdempotentRequest.objects.filter(key="same-key-1012").count() == 2


# --- retention ----------------------------------------------------------------------------------------


@override_settings(IDEMPOTENCY_KEY_HOURS=24)
def test_forget_old_keys_deletes_answers_past_the_retention_and_keeps_newer_ones(db):
    now = timezone.now()
    for n, age in enumerate([timedelta(hours=25), timedelta(hours=24, minutes=1), timedelta(hours=23), timedelta(0)]):
        IdempotentRequest.objects.create(
            caller="user:1", key=f"key-{n}", method="POST", path=WITHDRAWALS, body_sha256="0" * 64,
            status_code=201, response={"id": n}, created_at=now - age,
        )  # fmt: skip

    assert forget_old_keys() == 2
    assert sorted(IdempotentRequest.objects.values_list("key", flat=True)) == ["key-2", "key-3"]
    assert forget_old_keys() == 0


@override_settings(IDEMPOTENCY_KEY_HOURS=1)
def test_the_retention_comes_from_the_setting_and_the_nightly_task_applies_it(db):
    IdempotentRequest.objects.create(caller="user:1", key="old", method="POST", path=WITHDRAWALS, body_sha256="0" * 64,
                                     created_at=timezone.now() - timedelta(hours=2))  # fmt: skip
    IdempotentRequest.objects.create(caller="user:1", key="new", method="POST", path=WITHDRAWALS, body_sha256="0" * 64)

    assert forget_idempotency_keys() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


def test_a_forgotten_key_acts_as_a_new_request(stripe_settings, api):
    first = _post(api, DEPOSITS, 4_000, "dep-key-1013")
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(days=2))
    forget_old_keys()

    other = _post(api, DEPOSITS, 6_000, "dep-key-1013")  # another body: no 409 once forgotten

    assert first.status_code == 201
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert IdempotentRequest.objects.filter(key="dep-key-1013").count() == 1


# --- at once -----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_eight_identical_withdrawals_at_once_withdraw_once(stripe_settings, api, ann):
    _card_deposit(api, 10_000, "dep-key-1014")

    def send(i: int):
        return _post(_client(ann), WITHDRAWALS, 6_000, "wd-key-1014")

    results = run_together(8, send)

    assert all(not isinstance(r, Exception) for r in results), results
    assert [r.status_code for r in results] == [201] * 8, [r.content for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in results) == 7
    assert Withdrawal.objects.count() == 1
    assert WithdrawalRefund.objects.get().amount_cents == 6_000
    assert IdempotentRequest.objects.filter(key="wd-key-1014").count() == 1
    assert _wallet_cents(ann) == 4_000
