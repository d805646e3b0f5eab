"""Disputes of a lender's card deposit: hold the amount while it is open, release it or book the loss.

Opened: the disputed amount moves from the lender's wallet to a held account; whatever the wallet
no longer has (already lent or withdrawn) is recorded as owed by the lender, a receivable, so a
wallet never goes negative. Won: the hold is reversed. Lost: the held amount leaves with the
cardholder (held -> processor cash); what the lender owes stays owed. A `closed` event that
arrives before its `created` opens the dispute first, so any order ends in the same state.

A dispute of a borrower's card repayment is recorded for staff but moves no money by itself: the
lenders were already paid from it, and taking it back is a decision, not a rule.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from lending.ledger.chart import AccountType
from lending.ledger.models import Journal
from lending.ledger.services import Line, account_open, journal_post, journal_reverse, lender_wallet, platform_account
from lending.payments.models import CardPayment, Dispute

logger = logging.getLogger(__name__)
D = Dispute.Status


def _payment(dispute: dict[str, Any]) -> CardPayment | None:
    intent = dispute.get("payment_intent")
    intent_id = intent if isinstance(intent, str) else (intent or {}).get("id")
    charge = dispute.get("charge")
    charge_id = charge if isinstance(charge, str) else (charge or {}).get("id")
    rows = CardPayment.objects.select_for_update()
    if intent_id:
        found = rows.filter(payment_intent_id=intent_id).first()
        if found is not None:
            return found
    return rows.filter(charge_id=charge_id).first() if charge_id else None


def dispute_opened(dispute: dict[str, Any]) -> Dispute | None:
    """`charge.dispute.created`: hold the amount from the lender (once per dispute id); None if not ours."""
    with transaction.atomic():
        payment = _payment(dispute)
        if payment is None:
            return None
        row, created = Dispute.objects.select_for_update().get_or_create(
            dispute_id=dispute["id"],
            defaults={
                "payment": payment,
                "amount_cents": int(dispute["amount"]),
                "currency": str(dispute["currency"]).upper(),
                "reason": str(dispute.get("reason") or "")[:100],
            },
        )
        if not created or payment.purpose != CardPayment.Purpose.DEPOSIT:
            if created:
                logger.warning("card repayment %s disputed (%s): staff to review", payment.pk, row.dispute_id)
            return row
        lender_id, currency = payment.user_id, row.currency
        wallet = lender_wallet(user=payment.user, currency=currency)
        wallet.refresh_from_db()
        held = min(row.amount_cents, max(wallet.balance_cents, 0))
        owed = row.amount_cents - held
        hold = account_open(
            account_type=AccountType.DISPUTE_HELD, currency=currency, ref=f"lender:{lender_id}", holder_id=lender_id
        )
        lines = [Line(wallet, hold, held)] if held else []
        if owed:
            receivable = account_open(
                account_type=AccountType.LENDER_RECEIVABLE, currency=currency, ref=f"lender:{lender_id}",
                holder_id=lender_id,
            )  # fmt: skip
            lines.append(Line(receivable, hold, owed))
        row.hold_journal = journal_post(
            idempotency_key=f"stripe-dispute:{row.dispute_id}:hold", kind="dispute_hold", lines=lines,
            description=f"Dispute {row.dispute_id} of deposit {payment.payment_intent_id}",
            metadata={"stripe_dispute": row.dispute_id, "card_payment": payment.pk},
        )  # fmt: skip
        row.held_from_wallet_cents, row.owed_by_lender_cents = held, owed
        row.save()
        return row


def dispute_closed(dispute: dict[str, Any]) -> Dispute | None:
    """`charge.dispute.closed`: won releases the hold, lost books it as gone; once per dispute."""
    row = dispute_opened(dispute)  # a no-op if it is open already
    if row is None:
        return None
    with transaction.atomic():
        row = Dispute.objects.select_for_update().select_related("payment").get(pk=row.pk)
        if row.status != D.OPEN:
            return row
        status = str(dispute.get("status"))
        if row.hold_journal_id is None:
            # A borrower's card repayment: no hold was taken, so the outcome is recorded for staff only.
            if status in ("won", "warning_closed", "lost"):
                row.status = D.LOST if status == "lost" else D.WON
                row.closed_at = timezone.now()
                row.save()
            return row
        if status in ("won", "warning_closed"):
            row.close_journal = journal_reverse(
                journal=Journal.objects.get(pk=row.hold_journal_id),
                idempotency_key=f"stripe-dispute:{row.dispute_id}:won",
                reason=f"dispute {row.dispute_id} won",
            )
            row.status = D.WON
        elif status == "lost":
            lender_id, currency = row.payment.user_id, row.currency
            hold = account_open(
                account_type=AccountType.DISPUTE_HELD, currency=currency, ref=f"lender:{lender_id}",
                holder_id=lender_id,
            )  # fmt: skip
            row.close_journal = journal_post(
                idempotency_key=f"stripe-dispute:{row.dispute_id}:lost", kind="dispute_lost",
                lines=[Line(hold, platform_account(AccountType.PROCESSOR_CASH, currency), row.amount_cents)],
                description=f"Dispute {row.dispute_id} lost: the cardholder keeps the money",
                metadata={"stripe_dispute": row.dispute_id},
            )  # fmt: skip
            row.status = D.LOST
        else:
            return row  # still under review
        row.closed_at = timezone.now()
        row.save()
        return row
