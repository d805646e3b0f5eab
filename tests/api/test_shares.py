"""POST /api/v1/loans/<id>/shares/: a lender lends from their wallet; a loan that is not fundraising is a 409,
more than is left or a wallet short is refused naming why, a replay lends once, a key needs lending:write."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from lending.api.keys import api_key_create
from lending.loans.applications import loan_approve, loan_publish, loan_submit
from lending.loans.models import Loan, Share
from tests.loans import wallet_cents

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed_today(apply, officer):
    """A loan listed today, so its fundraising window is open on the API's business date."""

    def make(**overrides):
        loan = apply(**overrides)
        today = timezone.localdate()
        loan_submit(loan=loan, actor=officer, on=today)
        loan_approve(loan=loan, actor=officer, on=today)
        return loan_publish(loan=loan, actor=officer, on=today)

    return make


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _lend(client: APIClient, loan: Loan, cents, key: str):
    return client.post(f"/api/v1/loans/{loan.pk}/shares/", {"amount_cents": cents}, format="json",
                       HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip


def test_a_lender_lends_and_a_replay_lends_once(listed_today, make_lenders):
    loan = listed_today(amount_cents=10_000)
    (lender,) = make_lenders(1, 20_000)
    client = _client(lender)

    first = _lend(client, loan, 5_000, "lend-0001")
    again = _lend(client, loan, 5_000, "lend-0001")

    assert first.status_code == again.status_code == 201
    assert first.json()["loan_raised_cents"] == 5_000
    assert again.json() == first.json()
    assert Share.objects.count() == 1
    assert wallet_cents(lender) == 15_000


def test_the_last_shares_fund_the_loan_and_then_it_takes_no_more(listed_today, make_lenders):
    loan = listed_today(amount_cents=5_000)
    first, second = make_lenders(2, 20_000)

    funded = _lend(_client(first), loan, 5_000, "lend-0002")
    late = _lend(_client(second), loan, 2_500, "lend-0003")

    assert funded.json()["loan_status"] == "funded"
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "invalid_state"
    assert wallet_cents(second) == 20_000


@pytest.mark.parametrize(
    ("cents", "status", "field"),
    [
        (1_000, 400, "amount_cents"),
        (12_500, 400, "amount_cents"),
        ("ten", 400, "amount_cents"),
        (0, 400, "amount_cents"),
    ],
)
def test_a_bad_amount_is_a_400_naming_it_and_lends_nothing(listed_today, make_lenders, cents, status, field):
    loan = listed_today(amount_cents=10_000)
    (lender,) = make_lenders(1, 20_000)

    response = _lend(_client(lender), loan, cents, "lend-0004")

    assert response.status_code == status
    assert field in response.json()["error"]["fields"]
    assert not Share.objects.exists()


def test_a_wallet_that_is_short_is_a_409_and_lends_nothing(listed_today, make_lenders):
    loan = listed_today(amount_cents=10_000)
    (lender,) = make_lenders(1, 2_500)

    response = _lend(_client(lender), loan, 5_000, "lend-0005")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert wallet_cents(lender) == 2_500


def test_an_unlisted_loan_does_not_exist_and_only_lenders_lend(apply, make_lenders, officer, listed_today):
    draft = apply()
    (lender,) = make_lenders(1, 20_000)

    assert _lend(_client(lender), draft, 2_500, "lend-0006").status_code == 404
    assert _lend(_client(officer), listed_today(), 2_500, "lend-0007").status_code == 403


def test_a_key_needs_lending_write(listed_today, make_lenders):
    loan = listed_today(amount_cents=10_000)
    (lender,) = make_lenders(1, 20_000)
    _, reader = api_key_create(user=lender, name="reader", scopes=["wallet:read"])
    _, writer = api_key_create(user=lender, name="lender bot", scopes=["lending:write"])

    refused = APIClient().post(f"/api/v1/loans/{loan.pk}/shares/", {"amount_cents": 2_500}, format="json",
                               HTTP_AUTHORIZATION=f"Bearer {reader}", HTTP_IDEMPOTENCY_KEY="lend-0008")  # fmt: skip
    lent = APIClient().post(f"/api/v1/loans/{loan.pk}/shares/", {"amount_cents": 2_500}, format="json",
                            HTTP_AUTHORIZATION=f"Bearer {writer}", HTTP_IDEMPOTENCY_KEY="lend-0009")  # fmt: skip

    assert refused.status_code == 403
    assert lent.status_code == 201
