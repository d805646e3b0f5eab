"""`manage.py reconcile_stripe` against the real local Stripe server: clean after real flows, loud after tampering.

The flows: a deposit, a declined deposit, a withdrawal paid by refund and a borrower's card repayment.
The tampering: a card payment's recorded amount changed, and a ledger credit for a PaymentIntent
Stripe never saw.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lending.ledger.chart import AccountType
from lending.ledger.reconcile import reconcile
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.payments.cards import card_repayment_start
from lending.payments.client import client
from lending.payments.models import CardPayment, Withdrawal
from lending.payments.withdrawals import withdrawal_request
from tests.lending.payments.stripe_flows import CARD_DECLINED, deposit, direct_loan_disbursed, pay, settled

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile_stripe_command() -> tuple[str, str]:
    """Run the command for today; returns what it wrote to stdout and stderr (it raises on a mismatch)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile_stripe", "--since", timezone.localdate().isoformat(), stdout=out, stderr=err)
    finally:
        print(out.getvalue(), err.getvalue())  # shown when the test fails
    return out.getvalue(), err.getvalue()


def test_reconcile_stripe_is_clean_after_real_flows_and_fails_after_a_tampered_payment(
    stripe_settings, lender, staff, make_lenders
):
    borrower_loan = direct_loan_disbursed(staff, [(make_lenders(1)[0], 10_000)], repayments=2)
    repaid = card_repayment_start(
        borrower=borrower_loan.borrower.user, loan=borrower_loan, amount_cents=5_000, request_key="recon-repay"
    )  # fmt: skip
    payments = [
        deposit(lender, 10_000, "recon-deposit"),
        deposit(lender, 2_500, "recon-declined", number=CARD_DECLINED),
        pay(repaid),
    ]
    paid, declined, repaid = settled(stripe_settings, *payments)
    assert [p.status for p in (paid, declined, repaid)] == ["succeeded", "failed", "succeeded"]
    withdrawal = withdrawal_request(lender=lender, amount_cents=4_000, request_key="recon-withdraw")
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == Withdrawal.Status.PAID

    out, err = reconcile_stripe_command()
    assert "checked 4 Stripe objects" in out  # three PaymentIntents and one refund
    assert "0 mismatch(es)" in out
    assert err == ""
    assert reconcile().ok

    CardPayment.objects.filter(pk=paid.pk).update(received_cents=9_000)
    with pytest.raises(CommandError, match="disagree"):
        reconcile_stripe_command()


def test_reconcile_stripe_fails_on_a_ledger_credit_for_a_payment_stripe_never_saw(stripe_settings, lender):
    settled(stripe_settings, deposit(lender, 5_000, "recon-bogus-dep"))
    reconcile_stripe_command()
    journal_post(
        idempotency_key="stripe:pi_doesnotexist:credit",
        kind="deposit",
        lines=[Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=lender, currency="USD"),
                    1_000)],
    )  # fmt: skip
    assert reconcile().ok  # balanced, so the ledger alone cannot tell
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="disagree on 1 point"):
        call_command("reconcile_stripe", "--since", timezone.localdate().isoformat(), stdout=out, stderr=err)
    assert "credits PaymentIntent pi_doesnotexist, which is unknown to Stripe" in err.getvalue()


def test_reconcile_stripe_fails_on_a_refund_made_outside_the_app(stripe_settings, lender):
    (paid,) = settled(stripe_settings, deposit(lender, 5_000, "recon-outside"))
    reconcile_stripe_command()
    # Staff refund the card from Stripe's dashboard: the lender's wallet still holds the money.
    client().v1.refunds.create(params={"payment_intent": paid.payment_intent_id, "amount": 2_000})

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="disagree"):
        call_command("reconcile_stripe", "--since", timezone.localdate().isoformat(), stdout=out, stderr=err)
    assert f"on PaymentIntent {paid.payment_intent_id} was made outside the app" in err.getvalue()
