"""Disputes of a card deposit made at the real local Stripe server, told by signed `charge.dispute.*` events.

localstripe has no disputes, so the events are built here from the deposit's PaymentIntent and charge.
Covered: won (the wallet is restored); lost after the lender lent most of the wallet (the wallet stops
at zero, the rest is owed); `closed` before `created`; repeated deliveries.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from lending.ledger.chart import AccountType
from lending.ledger.reconcile import reconcile
from lending.loans.fundraising import share_purchase
from lending.payments.models import Dispute, StripeEvent
from lending.payments.reconcile import reconcile_stripe
from lending.payments.withdrawals import withdrawable
from tests.lending.payments.stripe_flows import (
    delivered_ok,
    deposit,
    dispute,
    event,
    held,
    journals,
    processor_cash,
    settled,
)
from tests.loans import START, wallet_cents

pytestmark = pytest.mark.django_db(transaction=True)
D = Dispute.Status


def hold_and_owed(lender) -> tuple[int, int, int]:
    """The lender's wallet, the amount held for disputes, and what they owe the platform."""
    return (
        wallet_cents(lender),
        held(lender, AccountType.DISPUTE_HELD),
        held(lender, AccountType.LENDER_RECEIVABLE),
    )


def test_a_won_dispute_holds_the_deposit_while_open_and_then_restores_the_wallet(stripe_settings, live_server, lender):
    (payment,) = settled(stripe_settings, deposit(lender, 10_000, "dispute-won-dep"))
    opened = event("charge.dispute.created", dispute(payment, "needs_response", "dp_test_won"))
    assert delivered_ok(live_server.url, opened)["duplicate"] is False
    row = Dispute.objects.get()
    assert (row.payment_id, row.amount_cents, row.status) == (payment.pk, 10_000, D.OPEN)
    assert (row.held_from_wallet_cents, row.owed_by_lender_cents) == (10_000, 0)
    assert hold_and_owed(lender) == (0, 10_000, 0)
    assert withdrawable(lender).cents == 0  # disputed money can be neither withdrawn nor lent
    delivered_ok(live_server.url, event("charge.dispute.closed", dispute(payment, "won", "dp_test_won")))
    row.refresh_from_db()
    assert row.status == D.WON
    assert row.closed_at is not None
    assert hold_and_owed(lender) == (10_000, 0, 0)
    assert processor_cash() == 10_000
    assert withdrawable(lender).cents == 10_000
    assert reconcile().ok
    assert reconcile_stripe(since=timezone.localdate()).ok


def lend(lender, listed, cents: int) -> None:
    loan = listed(amount_cents=10_000)
    share_purchase(loan=loan, lender=lender, amount_cents=cents, idempotency_key="dispute-lend", on=START)


@pytest.mark.parametrize("order", ["created_then_closed", "closed_then_created"])
def test_a_lost_dispute_after_lending_empties_the_wallet_and_records_what_the_lender_owes(
    stripe_settings, live_server, lender, listed, order
):
    (payment,) = settled(stripe_settings, deposit(lender, 10_000, "dispute-lost-dep"))
    lend(lender, listed, 7_500)
    assert wallet_cents(lender) == 2_500
    opened = event("charge.dispute.created", dispute(payment, "needs_response", "dp_test_lost"))
    closed = event("charge.dispute.closed", dispute(payment, "lost", "dp_test_lost"))
    events = [opened, closed] if order == "created_then_closed" else [closed, opened]
    for sent in events:
        assert delivered_ok(live_server.url, sent)["duplicate"] is False
    row = Dispute.objects.get()
    assert (row.status, row.amount_cents) == (D.LOST, 10_000)
    assert (row.held_from_wallet_cents, row.owed_by_lender_cents) == (2_500, 7_500)
    assert hold_and_owed(lender) == (0, 0, 7_500)  # never below zero: the shortfall is owed
    assert processor_cash() == 0  # 10,000 in by card, 10,000 back to the cardholder
    assert (journals("dispute_hold"), journals("dispute_lost")) == (1, 1)
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {StripeEvent.Status.PROCESSED}
    # Every event again, and a second `created` under a new event id: nothing moves.
    for sent in events:
        assert delivered_ok(live_server.url, sent)["duplicate"] is True
    delivered_ok(live_server.url, event("charge.dispute.created", dispute(payment, "needs_response", "dp_test_lost")))
    delivered_ok(live_server.url, event("charge.dispute.closed", dispute(payment, "won", "dp_test_lost")))
    assert Dispute.objects.get().status == D.LOST  # closed is final: a later, contradicting event is ignored
    assert hold_and_owed(lender) == (0, 0, 7_500)
    assert (journals("dispute_hold"), journals("dispute_lost"), journals("reversal")) == (1, 1, 0)
    assert withdrawable(lender).cents == 0
    assert reconcile().ok


def test_a_dispute_of_part_of_a_deposit_holds_only_that_part(stripe_settings, live_server, lender):
    (payment,) = settled(stripe_settings, deposit(lender, 10_000, "dispute-part-dep"))
    delivered_ok(live_server.url, event("charge.dispute.created", dispute(payment, "needs_response", "dp_p", 4_000)))
    assert hold_and_owed(lender) == (6_000, 4_000, 0)
    assert withdrawable(lender).cents == 6_000
    delivered_ok(live_server.url, event("charge.dispute.closed", dispute(payment, "lost", "dp_p", 4_000)))
    assert hold_and_owed(lender) == (6_000, 0, 0)
    assert processor_cash() == 6_000
    assert reconcile().ok


def test_a_dispute_of_a_charge_that_is_not_ours_is_kept_and_ignored(stripe_settings, live_server, lender):
    (payment,) = settled(stripe_settings, deposit(lender, 5_000, "dispute-other-dep"))
    payment.payment_intent_id, payment.charge_id = "pi_someone_else", "ch_someone_else"
    sent = event("charge.dispute.created", dispute(payment, "needs_response", "dp_other"))
    delivered_ok(live_server.url, sent)
    assert StripeEvent.objects.get(event_id=sent["id"]).status == StripeEvent.Status.IGNORED
    assert not Dispute.objects.exists()
    assert wallet_cents(lender) == 5_000
