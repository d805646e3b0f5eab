from __future__ import annotations

import pytest

from lending.ledger.reconcile import reconcile
from lending.payments.cards import deposit_start, pay_with_test_card
from lending.payments.models import CardPayment
from lending.payments.reconcile import reconcile_stripe
from tests.lending.conftest import wallet_cents
from tests.lending.payments.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_deposit_is_credited_once_by_the_webhook(stripe_settings, lender):
    payment = deposit_start(lender=lender, amount_cents=5_000, request_key="smoke-deposit-1")
    assert payment.payment_intent_id.startswith("pi_")
    assert wallet_cents(lender) == 0
    pay_with_test_card(payment=payment, number="4242424242424242", exp_month=12, exp_year=34, cvc="123")
    assert wallet_cents(lender) == 0  # not before the webhook
    done = wait_for(lambda: CardPayment.objects.get(pk=payment.pk).status == CardPayment.Status.SUCCEEDED)
    assert done
    assert wallet_cents(lender) == 5_000
    assert reconcile().ok
    from django.utils import timezone

    report = reconcile_stripe(since=timezone.localdate())
    assert report.ok, report.mismatches
