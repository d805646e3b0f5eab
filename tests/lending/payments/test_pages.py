"""The card pages, through Django's test client against the real local Stripe server: add money, pay a
loan, follow the payment, cancel, withdraw; bad input answered with a message and nothing written."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from accounts import services as people
from lending.ledger.reconcile import reconcile
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.payments.models import CardPayment, Withdrawal
from tests.factories import LenderFactory
from tests.loans import START, fund_wallet, wallet_cents
from tests.stripe_server import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery"  # the factories' password
CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "34", "cvc": "123"}


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def _key(html: str) -> str:
    return re.search(r'name="request_key" value="([^"]+)"', html).group(1)


def _deposit(client: Client, amount: str = "50") -> CardPayment:
    key = _key(client.get("/wallet/deposit/").content.decode())
    response = client.post("/wallet/deposit/", {"amount": amount, "request_key": key})
    assert response.status_code == 302, response.content.decode()[:500]
    return CardPayment.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def _succeeded(payment: CardPayment) -> bool:
    return bool(wait_for(lambda: CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.SUCCEEDED))


def test_a_lender_adds_money_with_a_test_card_and_the_wallet_shows_it_once_stripe_confirms(stripe_settings):
    ann = LenderFactory()
    client = _login(ann)
    payment = _deposit(client, "50")
    page = client.get(f"/payments/{payment.pk}/").content.decode()
    assert "Add $50.00 to your wallet" in page
    assert "4242 4242 4242 4242" in page
    assert 'name="number"' in page

    response = client.post(f"/payments/{payment.pk}/", CARD)

    assert response.status_code == 302
    assert _succeeded(payment)
    page = client.get(f"/payments/{payment.pk}/").content.decode()
    assert "$50.00 is in your wallet" in page
    assert 'name="number"' not in page
    wallet = client.get("/wallet/").content.decode()
    assert 'data-testid="balance">$50.00<' in wallet
    assert 'data-testid="withdrawable">$50.00<' in wallet
    assert wallet_cents(ann) == 5_000
    assert reconcile().ok


def test_the_same_deposit_form_sent_twice_asks_stripe_once(stripe_settings):
    client = _login(LenderFactory())
    key = _key(client.get("/wallet/deposit/").content.decode())

    first = client.post("/wallet/deposit/", {"amount": "75.00", "request_key": key})
    second = client.post("/wallet/deposit/", {"amount": "75.00", "request_key": key})

    assert first["Location"] == second["Location"]
    assert CardPayment.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter an amount."),
        ("ten", "Enter an amount in USD, such as 50 or 50.00."),
        ("10.001", "Enter an amount in USD, such as 50 or 50.00."),
        ("-5", "Enter an amount above zero."),
        ("24.99", "Choose an amount between $25.00 and $10,000.00."),
        ("10000.01", "Choose an amount between $25.00 and $10,000.00."),
    ],
)
def test_a_bad_deposit_amount_is_explained_and_nothing_is_asked_of_stripe(stripe_settings, amount, message):
    client = _login(LenderFactory())
    key = _key(client.get("/wallet/deposit/").content.decode())

    response = client.post("/wallet/deposit/", {"amount": amount, "request_key": key})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CardPayment.objects.exists()


def test_a_declined_card_is_explained_and_another_card_can_be_tried(stripe_settings):
    ann = LenderFactory()
    client = _login(ann)
    payment = _deposit(client, "30")

    client.post(f"/payments/{payment.pk}/", {**CARD, "number": "4000 0000 0000 0341"})

    page = client.get(f"/payments/{payment.pk}/").content.decode()
    assert "Your card was declined." in page
    assert "Try another card" in page
    assert 'name="number"' not in page
    assert wallet_cents(ann) == 0
    retry = client.post(f"/payments/{payment.pk}/", {"action": "retry"})
    again = CardPayment.objects.get(pk=int(retry["Location"].rstrip("/").split("/")[-1]))
    assert again.pk != payment.pk
    assert again.amount_cents == 3_000
    assert again.payment_intent_id != payment.payment_intent_id
    assert client.post(f"/payments/{payment.pk}/", {"action": "retry"})["Location"] == retry["Location"]  # once
    client.post(f"/payments/{again.pk}/", CARD)
    assert _succeeded(again)
    assert wallet_cents(ann) == 3_000
    assert CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.CANCELED


def test_a_bad_card_field_is_named_and_nothing_is_sent(stripe_settings):
    client = _login(LenderFactory())
    payment = _deposit(client)

    response = client.post(f"/payments/{payment.pk}/", {**CARD, "exp_month": "13"})

    assert response.status_code == 400
    assert "must be 1 to 12" in response.content.decode()
    assert CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.AWAITING_CARD


def test_a_payment_can_be_cancelled_before_the_card_is_charged(stripe_settings):
    ann = LenderFactory()
    client = _login(ann)
    payment = _deposit(client)

    client.post(f"/payments/{payment.pk}/", {"action": "cancel"})

    page = client.get(f"/payments/{payment.pk}/").content.decode()
    assert "Nothing was charged." in page
    assert 'name="number"' not in page
    assert CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.CANCELED
    assert wallet_cents(ann) == 0


def test_someone_elses_payment_does_not_exist_for_you(stripe_settings):
    payment = _deposit(_login(LenderFactory()))

    other = _login(LenderFactory())

    assert other.get(f"/payments/{payment.pk}/").status_code == 404
    assert other.post(f"/payments/{payment.pk}/", CARD).status_code == 404
    assert other.get(f"/payments/{payment.pk}/status/").status_code == 404


def test_with_stripe_itself_the_card_form_is_stripes_and_ours_does_not_exist(stripe_settings):
    client = _login(LenderFactory())
    payment = _deposit(client)

    with override_settings(STRIPE_API_BASE=""):
        page = client.get(f"/payments/{payment.pk}/").content.decode()
        refused = client.post(f"/payments/{payment.pk}/", CARD)

    assert 'id="payment-element"' in page
    assert 'name="number"' not in page
    assert refused.status_code == 400
    assert CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.AWAITING_CARD


def test_a_lender_withdraws_to_their_card_and_beyond_the_limit_is_told_why(stripe_settings):
    ann = LenderFactory()
    client = _login(ann)
    payment = _deposit(client, "100")
    client.post(f"/payments/{payment.pk}/", CARD)
    assert _succeeded(payment)
    fund_wallet(ann, 5_000)  # credit that did not come from a card: it cannot be refunded to one
    wallet = client.get("/wallet/").content.decode()
    assert 'data-testid="withdrawable">$100.00<' in wallet
    assert "Withdrawals are paid back to the cards you deposited with" in wallet

    too_much = client.post("/wallet/withdraw/", {"amount": "120", "request_key": _key(wallet)}, follow=True)

    assert "Withdrawal not made" in too_much.content.decode()
    assert "you can withdraw up to 10000" in too_much.content.decode()
    assert not Withdrawal.objects.exists()
    done = client.post("/wallet/withdraw/", {"amount": "60", "request_key": _key(wallet)}, follow=True)
    assert "$60.00 is on its way back to your card(s)" in done.content.decode()
    assert Withdrawal.objects.get().status == Withdrawal.Status.PAID
    assert wallet_cents(ann) == 15_000 - 6_000
    assert reconcile().ok


@pytest.fixture
def direct_loan(db):
    """A loan made straight to a borrower with a login (no field partner), funded by two lenders and disbursed."""
    staff = people.platform_staff_create(email="staff@example.org", password=None, full_name="Sam Staff")
    borrower = people.borrower_create(
        display_name="Grace N.", country="KE", email="grace@example.org", password=PASSWORD
    )
    user = borrower.user
    loan = loan_apply(actor=staff, borrower=borrower, amount_cents=10_000, currency="USD", purpose="Stock",
                      sector="retail", repayments=4)  # fmt: skip
    for step in (loan_submit, loan_approve, loan_publish):
        step(loan=loan, actor=staff, on=START)
    lenders = [LenderFactory(), LenderFactory()]
    for lender, cents in zip(lenders, (2_500, 7_500), strict=True):
        fund_wallet(lender, cents)
        share_purchase(loan=loan, lender=lender, amount_cents=cents, idempotency_key="buy", on=START)
    return loan_disburse(loan=loan, actor=staff, on=START), user, lenders


def test_a_direct_borrower_pays_by_card_and_the_lenders_share_it(stripe_settings, direct_loan):
    loan, user, (small, big) = direct_loan
    client = _login(user)
    page = client.get(f"/loans/{loan.pk}/pay/").content.decode()
    assert "Still owed: <strong>$100.00</strong>" in page

    response = client.post(f"/loans/{loan.pk}/pay/", {"amount": "40", "request_key": _key(page)})
    payment = CardPayment.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    client.post(f"/payments/{payment.pk}/", CARD)

    assert _succeeded(payment)
    assert (wallet_cents(small), wallet_cents(big)) == (1_000, 3_000)
    assert "recorded and shared among your lenders" in client.get(f"/payments/{payment.pk}/").content.decode()
    assert reconcile().ok


def test_a_borrower_cannot_pay_more_than_is_owed_or_someone_elses_loan(stripe_settings, direct_loan):
    loan, user, _ = direct_loan
    client = _login(user)
    page = client.get(f"/loans/{loan.pk}/pay/").content.decode()

    too_much = client.post(f"/loans/{loan.pk}/pay/", {"amount": "100.01", "request_key": _key(page)})

    assert too_much.status_code == 400
    assert "Choose an amount up to $100.00." in too_much.content.decode()
    assert not CardPayment.objects.exists()
    assert _login(LenderFactory()).get(f"/loans/{loan.pk}/pay/").status_code == 404
