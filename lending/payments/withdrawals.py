"""Withdrawals: credit leaves the wallet at once, and is paid out by refunding the lender's card deposits.

1. `withdrawal_request` (one transaction): checks what may be withdrawn, moves the amount from the
   wallet to the lender's pending-withdrawal account, and plans refunds of their succeeded deposits,
   newest first.
2. `withdrawal_pay` (a task, after commit) sends each planned refund with an idempotency key of its
   own row, so a retry after a lost response or a crash never refunds twice.
3. Each refund's outcome, from the API's answer or a later `refund.*`/`charge.refunded` event
   (`refund_apply`): succeeded settles its part (pending -> processor cash, the money has left);
   failed returns its part to the wallet. Then the withdrawal is paid, partly paid, or failed.

A card refund can only return what that card paid: credit that came from repayments can be
withdrawn only up to what the lender's refundable deposits allow (`withdrawable`). A payout method
(Stripe Connect) would be a second `Withdrawal.method`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import User
from lending.ledger.chart import AccountType
from lending.ledger.errors import InsufficientFunds
from lending.ledger.models import LedgerAccount
from lending.ledger.selectors import lender_wallet_find
from lending.ledger.services import Line, account_open, journal_post, lender_wallet, platform_account
from lending.payments.client import client
from lending.payments.errors import PaymentRefused, StripeUnavailable
from lending.payments.models import CardPayment, Dispute, Withdrawal, WithdrawalRefund

logger = logging.getLogger(__name__)
R = WithdrawalRefund.Status
W = Withdrawal.Status
TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@dataclass(frozen=True)
class Withdrawable:
    wallet_cents: int  # available credit
    refundable_cents: int  # what the lender's card deposits can still take back
    currency: str

    @property
    def cents(self) -> int:
        return min(self.wallet_cents, self.refundable_cents)

    @property
    def explanation(self) -> str:
        if self.refundable_cents >= self.wallet_cents:
            return "All of your available credit can be withdrawn to the cards you deposited with."
        return (
            "Withdrawals are paid back to the cards you deposited with, so you can withdraw up to what those "
            "deposits can still refund. Credit from repayments beyond that stays available for lending."
        )


def pending_account(lender_id: int, currency: str) -> LedgerAccount:
    return account_open(
        account_type=AccountType.PENDING_WITHDRAWAL, currency=currency, ref=f"lender:{lender_id}",
        holder_id=lender_id, name=f"Withdrawal pending for lender {lender_id}",
    )  # fmt: skip


def _refundable(deposits: list[CardPayment]) -> list[tuple[CardPayment, int]]:
    """Each deposit with what can still be refunded on it: received, less refunds sent or planned, less disputes."""
    ids = [d.pk for d in deposits]
    taken = dict(
        WithdrawalRefund.objects.filter(deposit_id__in=ids)
        .exclude(status=R.FAILED)
        .values_list("deposit_id")
        .annotate(total=Sum("amount_cents"))
    )
    disputed = dict(
        Dispute.objects.filter(payment_id__in=ids)
        .filter(~Q(status=Dispute.Status.WON))
        .values_list("payment_id")
        .annotate(total=Sum("amount_cents"))
    )
    out = []
    for deposit in deposits:
        left = deposit.received_cents - taken.get(deposit.pk, 0) - disputed.get(deposit.pk, 0)
        if left > 0:
            out.append((deposit, left))
    return out


def _deposits(lender: User, currency: str, lock: bool = False) -> list[CardPayment]:
    rows = CardPayment.objects.filter(
        user=lender, purpose=CardPayment.Purpose.DEPOSIT, status=CardPayment.Status.SUCCEEDED, currency=currency
    ).order_by("-created_at", "-pk")  # newest first
    return list(rows.select_for_update() if lock else rows)


def withdrawable(lender: User, currency: str | None = None) -> Withdrawable:
    currency = currency or settings.PLATFORM_CURRENCY
    refundable = sum(left for _, left in _refundable(_deposits(lender, currency)))
    wallet = lender_wallet_find(user_id=lender.pk, currency=currency)  # a read: opens no account
    return Withdrawable(wallet.balance_cents if wallet else 0, refundable, currency)


def withdrawal_request(*, lender: User, amount_cents: int, request_key: str) -> Withdrawal:
    """Hold `amount_cents` from the wallet and plan its refunds; they are sent after commit."""
    from lending.payments.cards import _check_request_key

    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise PaymentRefused("amount_cents: must be a positive whole number of minor units", field="amount_cents")
    _check_request_key(request_key)
    currency = settings.PLATFORM_CURRENCY
    with transaction.atomic():
        # Locking the lender's deposits serialises their withdrawals: two at once cannot plan the same refund,
        # and the same form sent twice finds the first withdrawal once it has committed.
        deposits = _deposits(lender, currency, lock=True)
        earlier = Withdrawal.objects.filter(lender=lender, request_key=request_key).first()
        if earlier is not None:
            return earlier
        plan = _refundable(deposits)
        wallet = lender_wallet(user=lender, currency=currency)
        wallet.refresh_from_db()
        limit = Withdrawable(wallet.balance_cents, sum(left for _, left in plan), currency)
        if amount_cents > limit.cents:
            raise PaymentRefused(
                f"amount_cents: you can withdraw up to {limit.cents} {currency} minor units. {limit.explanation}",
                field="amount_cents",
            )
        try:
            journal = journal_post(
                idempotency_key=f"withdrawal:{lender.pk}:{request_key}",
                kind="withdrawal_hold",
                lines=[Line(wallet, pending_account(lender.pk, currency), amount_cents)],
                description=f"Withdrawal requested by lender {lender.pk}",
            )
        except InsufficientFunds as exc:
            raise PaymentRefused(f"amount_cents: {exc}", field="amount_cents") from exc
        withdrawal = Withdrawal.objects.create(
            lender=lender, amount_cents=amount_cents, currency=currency, request_key=request_key, journal=journal
        )
        left = amount_cents
        for deposit, refundable in plan:
            if left == 0:
                break
            part = min(left, refundable)
            WithdrawalRefund.objects.create(withdrawal=withdrawal, deposit=deposit, amount_cents=part)
            left -= part
        transaction.on_commit(lambda: _enqueue(withdrawal.pk))
    return withdrawal


def _enqueue(withdrawal_id: int) -> None:
    from lending.payments.tasks import withdrawal_pay_task

    try:
        withdrawal_pay_task.delay(withdrawal_id)
    except Exception:  # the broker is down: the periodic sweep sends it later
        logger.exception("could not queue withdrawal %s; the sweep will send it", withdrawal_id)


def withdrawal_pay(withdrawal_id: int) -> Withdrawal:
    """Send every planned refund of the withdrawal; safe to run twice (each refund's key is its row)."""
    for refund in WithdrawalRefund.objects.filter(withdrawal_id=withdrawal_id, status=R.PLANNED).order_by("pk"):
        _send(refund)
    return Withdrawal.objects.get(pk=withdrawal_id)


def _send(refund: WithdrawalRefund) -> None:
    deposit = refund.deposit
    try:
        result = client().v1.refunds.create(
            params={
                "payment_intent": deposit.payment_intent_id or "",
                "amount": refund.amount_cents,
                "metadata": {"withdrawal_refund": str(refund.pk), "withdrawal": str(refund.withdrawal_id)},
            },
            options={"idempotency_key": refund.idempotency_key},
        )
    except TRANSIENT as exc:
        # Unknown whether Stripe acted: stay planned and retry later with the same key.
        raise StripeUnavailable(f"refund {refund.pk}: Stripe could not be reached ({exc.__class__.__name__})") from exc
    except stripe.StripeError as exc:
        _apply(refund.pk, "failed", f"Stripe refused the refund: {exc.user_message or exc}")
        return
    WithdrawalRefund.objects.filter(pk=refund.pk, refund_id__isnull=True).update(refund_id=result.id)
    _apply(refund.pk, str(result.status), str(getattr(result, "failure_reason", None) or ""))


def refund_apply(refund: dict[str, Any]) -> WithdrawalRefund | None:
    """A `refund.*` event's refund object; None if it is not one of ours."""
    row = WithdrawalRefund.objects.filter(refund_id=refund["id"]).first()
    if row is None:
        pk = str((refund.get("metadata") or {}).get("withdrawal_refund", ""))
        # Only a row still waiting for its id: one that has its refund is not this refund's.
        row = WithdrawalRefund.objects.filter(pk=int(pk), refund_id__isnull=True).first() if pk.isdigit() else None
        if row is None:
            return None
        WithdrawalRefund.objects.filter(pk=row.pk, refund_id__isnull=True).update(refund_id=refund["id"])
    return _apply(row.pk, str(refund.get("status")), str(refund.get("failure_reason") or ""))


def charge_refunded_apply(charge: dict[str, Any]) -> list[WithdrawalRefund]:
    """A `charge.refunded` event lists the charge's refunds: apply each one we know."""
    refunds = (charge.get("refunds") or {}).get("data") or []
    return [row for row in (refund_apply(r) for r in refunds) if row is not None]


def _apply(refund_id: int, status: str, reason: str) -> WithdrawalRefund:
    """Move the refund's money by Stripe's status, once: succeeded settles it, failed or canceled returns it."""
    with transaction.atomic():
        row = WithdrawalRefund.objects.select_for_update().select_related("withdrawal").get(pk=refund_id)
        withdrawal = row.withdrawal
        if row.status == R.SUCCEEDED and status == "failed":
            # Rare: a card refund failing after it succeeded (a closed card account). Stripe puts the money
            # back in our balance, so it goes back to the wallet: cash -> wallet.
            return _failed_after_success(row, reason)
        if row.status in (R.SUCCEEDED, R.FAILED):
            return row  # final; a repeated or late event changes nothing
        pending = pending_account(withdrawal.lender_id, withdrawal.currency)
        if status == "succeeded":
            cash = platform_account(AccountType.PROCESSOR_CASH, withdrawal.currency)
            row.journal = journal_post(
                idempotency_key=f"stripe-refund:{row.pk}:paid", kind="withdrawal_paid",
                lines=[Line(pending, cash, row.amount_cents)],
                description=f"Withdrawal {withdrawal.pk} paid by refund {row.refund_id}",
                metadata={"stripe_refund": row.refund_id, "withdrawal": withdrawal.pk},
            )  # fmt: skip
            row.status = R.SUCCEEDED
        elif status in ("failed", "canceled"):
            wallet = lender_wallet(user=withdrawal.lender, currency=withdrawal.currency)
            row.journal = journal_post(
                idempotency_key=f"stripe-refund:{row.pk}:returned", kind="withdrawal_returned",
                lines=[Line(pending, wallet, row.amount_cents)],
                description=f"Withdrawal {withdrawal.pk}: refund failed, returned to the wallet",
                metadata={"stripe_refund": row.refund_id, "withdrawal": withdrawal.pk},
            )  # fmt: skip
            row.status = R.FAILED
            row.failure_reason = (reason or status)[:500]
        else:
            row.status = R.PENDING  # Stripe is still working on it: a refund.updated event will follow
        row.updated_at = timezone.now()
        row.save()
        _settle(withdrawal)
        return row


def _failed_after_success(row: WithdrawalRefund, reason: str) -> WithdrawalRefund:
    withdrawal = row.withdrawal
    journal_post(
        idempotency_key=f"stripe-refund:{row.pk}:failed-after-success", kind="withdrawal_returned",
        lines=[Line(platform_account(AccountType.PROCESSOR_CASH, withdrawal.currency),
                    lender_wallet(user=withdrawal.lender, currency=withdrawal.currency), row.amount_cents)],
        description=f"Withdrawal {withdrawal.pk}: refund {row.refund_id} failed after succeeding; back in the wallet",
        metadata={"stripe_refund": row.refund_id, "withdrawal": withdrawal.pk},
    )  # fmt: skip
    row.status = R.FAILED
    row.failure_reason = (reason or "failed after it had succeeded")[:500]
    row.updated_at = timezone.now()
    row.save()
    _settle(withdrawal)
    return row


def _settle(withdrawal: Withdrawal) -> None:
    parts = list(WithdrawalRefund.objects.filter(withdrawal=withdrawal).values_list("status", "amount_cents"))
    if any(status in (R.PLANNED, R.PENDING) for status, _ in parts):
        return
    paid = sum(cents for status, cents in parts if status == R.SUCCEEDED)
    returned = withdrawal.amount_cents - paid
    status = W.PAID if returned == 0 else W.FAILED if paid == 0 else W.PARTLY_PAID
    Withdrawal.objects.filter(pk=withdrawal.pk).update(
        status=status, paid_cents=paid, returned_cents=returned, updated_at=timezone.now()
    )
