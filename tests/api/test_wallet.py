"""/api/v1/wallet/: what a lender holds and may withdraw (and why), card deposits and withdrawals,
against the real local Stripe server; bad input is a 400 naming the field, and nothing is written."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import services as people
from lending.payments.cards import pay_with_test_card
from lending.payments.models import CardPayment, Withdrawal
from tests.factories import LenderFactory
from tests.loans import fund_wallet, wallet_cents
from tests.stripe_server import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann():
    return LenderFactory()


@pytest.fixture
def api(ann) -> APIClient:
    client = APIClient()
    client.force_authenticate(ann)
    return client


def _deposit(api: APIClient, cents: int, key: str) -> CardPayment:
    response = api.post("/api/v1/wallet/deposits/", {"amount_cents": cents}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.json()
    payment = CardPayment.objects.get(pk=response.json()["id"])
    pay_with_test_card(payment=payment, number="4242424242424242", exp_month=12, exp_year=34, cvc="123")
    assert wait_for(lambda: CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.SUCCEEDED)
    return payment


def test_a_deposit_started_over_the_api_is_credited_by_stripes_event_and_a_repeat_key_returns_it(
    stripe_settings, api, ann
):
    first = api.post(
        "/api/v1/wallet/deposits/", {"amount_cents": 5_000}, format="json", HTTP_IDEMPOTENCY_KEY="dep-key-0001"
    )
    again = api.post(
        "/api/v1/wallet/deposits/", {"amount_cents": 5_000}, format="json", HTTP_IDEMPOTENCY_KEY="dep-key-0001"
    )

    body = first.json()
    assert first.status_code == 201
    assert again.json()["id"] == body["id"]
    assert body["payment_intent_id"].startswith("pi_")
    assert body["client_secret"]
    assert (body["amount_cents"], body["currency"], body["status"]) == (5_000, "USD", "awaiting_card")
    pay_with_test_card(
        payment=CardPayment.objects.get(pk=body["id"]), number="4242424242424242", exp_month=12, exp_year=34, cvc="123"
    )
    assert wait_for(lambda: api.get(f"/api/v1/wallet/deposits/{body['id']}/").json()["status"] == "succeeded")
    assert api.get("/api/v1/wallet/").json()["available_cents"] == 5_000


def test_the_wallet_says_how_much_may_be_withdrawn_and_why(stripe_settings, api, ann):
    _deposit(api, 4_000, "dep-key-0002")
    fund_wallet(ann, 6_000)  # credit from elsewhere (repayments): no card to refund it to

    body = api.get("/api/v1/wallet/").json()

    assert body == {
        "currency": "USD",
        "available_cents": 10_000,
        "pending_withdrawal_cents": 0,
        "refundable_by_card_cents": 4_000,
        "withdrawable_cents": 4_000,
        "withdrawable_explanation": body["withdrawable_explanation"],
    }
    assert "paid back to the cards you deposited with" in body["withdrawable_explanation"]


def test_a_withdrawal_beyond_the_limit_is_a_400_naming_amount_cents_with_the_reason(stripe_settings, api, ann):
    _deposit(api, 4_000, "dep-key-0003")
    fund_wallet(ann, 6_000)

    response = api.post("/api/v1/wallet/withdrawals/", {"amount_cents": 5_000}, format="json",
                        HTTP_IDEMPOTENCY_KEY="wd-key-0001")  # fmt: skip

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid"
    assert "you can withdraw up to 4000" in error["fields"]["amount_cents"][0]
    assert "paid back to the cards you deposited with" in error["fields"]["amount_cents"][0]
    assert not Withdrawal.objects.exists()
    assert wallet_cents(ann) == 10_000


def test_a_withdrawal_within_the_limit_is_paid_and_a_repeat_key_does_not_pay_twice(stripe_settings, api, ann):
    _deposit(api, 4_000, "dep-key-0004")

    first = api.post("/api/v1/wallet/withdrawals/", {"amount_cents": 3_000}, format="json",
                     HTTP_IDEMPOTENCY_KEY="wd-key-0002")  # fmt: skip
    again = api.post("/api/v1/wallet/withdrawals/", {"amount_cents": 3_000}, format="json",
                     HTTP_IDEMPOTENCY_KEY="wd-key-0002")  # fmt: skip

    assert first.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    detail = api.get(f"/api/v1/wallet/withdrawals/{first.json()['id']}/").json()
    assert (detail["status"], detail["paid_cents"], detail["method"]) == ("paid", 3_000, "card_refund")
    assert Withdrawal.objects.count() == 1
    assert wallet_cents(ann) == 1_000


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({}, {"HTTP_IDEMPOTENCY_KEY": "dep-key-0005"}, "amount_cents"),
        ({"amount_cents": "ten"}, {"HTTP_IDEMPOTENCY_KEY": "dep-key-0005"}, "amount_cents"),
        ({"amount_cents": 0}, {"HTTP_IDEMPOTENCY_KEY": "dep-key-0005"}, "amount_cents"),
        ({"amount_cents": 2_499}, {"HTTP_IDEMPOTENCY_KEY": "dep-key-0005"}, "amount_cents"),
        ({"amount_cents": 5_000}, {}, "Idempotency-Key"),
        ({"amount_cents": 5_000}, {"HTTP_IDEMPOTENCY_KEY": "k" * 256}, "Idempotency-Key"),
    ],
)
def test_a_bad_deposit_request_is_a_400_naming_the_field_and_writes_nothing(stripe_settings, api, body, headers, field):
    response = api.post("/api/v1/wallet/deposits/", body, format="json", **headers)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not CardPayment.objects.exists()


def test_only_a_lender_has_a_wallet_and_others_deposits_are_not_found(stripe_settings, api):
    staff = people.platform_staff_create(email="staff@example.org", password=None, full_name="Sam Staff")
    mine = _deposit(api, 3_000, "dep-key-0006")
    other = APIClient()
    other.force_authenticate(LenderFactory())
    staff_api = APIClient()
    staff_api.force_authenticate(staff)

    assert other.get(f"/api/v1/wallet/deposits/{mine.pk}/").status_code == 404
    assert staff_api.get("/api/v1/wallet/").status_code == 403
    assert APIClient().get("/api/v1/wallet/").status_code == 401
