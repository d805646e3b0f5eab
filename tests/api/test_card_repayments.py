"""POST /api/v1/loans/<id>/card-repayments/: a direct borrower repays by card against the real local Stripe
server; the repayment is recorded and split to the lenders when Stripe confirms it. Only the borrower pays
(403 for others who can see the loan, 404 for those who cannot); a partner's loan is repaid through the
partner (409); an amount beyond what is owed is a 400 naming amount_cents; a key is idempotent."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from lending.api.keys import api_key_create
from lending.loans.models import Loan, Repayment, RepaymentSplit
from lending.payments.cards import pay_with_test_card
from lending.payments.models import CardPayment
from tests.lending.payments.stripe_flows import direct_loan_disbursed
from tests.loans import wallet_cents
from tests.stripe_server import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
STAKES = (2_500, 7_500)


@pytest.fixture
def direct_loan(staff, make_lenders):
    lenders = make_lenders(2, 10_000)
    return direct_loan_disbursed(staff, list(zip(lenders, STAKES, strict=True))), lenders


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _pay(client: APIClient, loan_id: int, body: dict, key: str):
    return client.post(f"/api/v1/loans/{loan_id}/card-repayments/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_borrower_pays_by_card_and_the_lenders_share_it_once_stripe_confirms(stripe_settings, direct_loan):
    loan, (small, big) = direct_loan
    borrower = _as(loan.borrower.user)

    first = _pay(borrower, loan.pk, {"amount_cents": 4_000}, "card-rep-0001")
    again = _pay(borrower, loan.pk, {"amount_cents": 4_000}, "card-rep-0001")

    body = first.json()
    assert first.status_code == 201, body
    assert (again.json()["id"], again["Idempotent-Replayed"]) == (body["id"], "true")
    assert (body["loan"], body["amount_cents"], body["status"]) == (loan.pk, 4_000, "awaiting_card")
    assert body["repayment"] is None
    assert body["client_secret"]
    assert body["payment_intent_id"].startswith("pi_")
    assert not Repayment.objects.exists()  # not before Stripe says the money came
    pay_with_test_card(payment=CardPayment.objects.get(pk=body["id"]), number="4242424242424242", exp_month=12,
                       exp_year=34, cvc="123")  # fmt: skip
    url = f"/api/v1/loans/{loan.pk}/card-repayments/{body['id']}/"
    assert wait_for(lambda: borrower.get(url).json()["repayment"] is not None)
    repayment = Repayment.objects.get()
    assert (repayment.amount_cents, repayment.source) == (4_000, Repayment.Source.BORROWER_CARD)
    splits = dict(RepaymentSplit.objects.filter(repayment=repayment).values_list("lender_id", "principal_cents"))
    assert splits == {small.pk: 1_000, big.pk: 3_000}
    assert (wallet_cents(small), wallet_cents(big)) == (7_500 + 1_000, 2_500 + 3_000)


def test_the_same_key_with_another_amount_is_a_conflict_and_nothing_more_is_charged(stripe_settings, direct_loan):
    loan, _ = direct_loan
    borrower = _as(loan.borrower.user)
    assert _pay(borrower, loan.pk, {"amount_cents": 4_000}, "card-rep-0002").status_code == 201

    conflict = _pay(borrower, loan.pk, {"amount_cents": 5_000}, "card-rep-0002")

    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert CardPayment.objects.filter(purpose=CardPayment.Purpose.REPAYMENT).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "amount_cents"), ({"amount_cents": 0}, "amount_cents"), ({"amount_cents": "ten"}, "amount_cents"),
     ({"amount_cents": 10_001}, "amount_cents")],
)  # fmt: skip
def test_bad_amounts_are_400s_naming_amount_cents_and_charge_nothing(stripe_settings, direct_loan, body, field):
    loan, _ = direct_loan

    response = _pay(_as(loan.borrower.user), loan.pk, body, "card-rep-bad")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not CardPayment.objects.filter(purpose=CardPayment.Purpose.REPAYMENT).exists()


def test_only_the_borrower_pays_and_a_partners_loan_is_repaid_through_the_partner(
    stripe_settings, direct_loan, disbursed, borrower, make_lenders
):
    loan, (small, _) = direct_loan
    (other,) = make_lenders(1, 10_000)
    partner_loan = disbursed([(other, 2_500)], repayments=2)
    Loan.objects.filter(pk=partner_loan.pk).update(borrower=loan.borrower)  # the same person, through a partner

    assert _pay(_as(small), loan.pk, {"amount_cents": 1_000}, "card-rep-3").status_code == 403
    assert _pay(APIClient(), loan.pk, {"amount_cents": 1_000}, "card-rep-4").status_code == 401
    through_partner = _pay(_as(loan.borrower.user), partner_loan.pk, {"amount_cents": 1_000}, "card-rep-5")
    assert through_partner.status_code == 409
    assert through_partner.json()["error"]["code"] == "invalid_state"
    assert "field partner" in through_partner.json()["error"]["message"]
    assert not CardPayment.objects.filter(purpose=CardPayment.Purpose.REPAYMENT).exists()


def test_a_payment_is_seen_only_by_its_borrower_and_a_key_needs_repayments_write(stripe_settings, direct_loan):
    loan, (small, _) = direct_loan
    user = loan.borrower.user
    paid = _pay(_as(user), loan.pk, {"amount_cents": 1_000}, "card-rep-6").json()
    url = f"/api/v1/loans/{loan.pk}/card-repayments/{paid['id']}/"
    _, reader = api_key_create(user=user, name="reader", scopes=["loans:read"])
    keyed = APIClient(HTTP_AUTHORIZATION=f"Bearer {reader}")

    assert _as(user).get(url).json()["id"] == paid["id"]
    assert _as(small).get(url).status_code == 403
    assert _as(user).get(f"/api/v1/loans/{loan.pk}/card-repayments/{paid['id'] + 100}/").status_code == 404
    assert keyed.get(url).status_code == 200
    refused = _pay(keyed, loan.pk, {"amount_cents": 1_000}, "card-rep-7")
    assert refused.status_code == 403
    assert "repayments:write" in refused.json()["error"]["message"]
