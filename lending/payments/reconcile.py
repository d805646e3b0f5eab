"""`reconcile_stripe`: Stripe's record of money in and out, next to the ledger's, object by object.

- every succeeded PaymentIntent of ours maps to exactly one ledger credit of its amount
  (a wallet deposit, a recorded card repayment, or a payment held as a borrower's credit);
- every ledger credit from Stripe maps to a PaymentIntent that Stripe says succeeded;
- every succeeded refund of ours maps to exactly one settled withdrawal part of its amount,
  and every settled part to a refund Stripe says succeeded;
- Stripe's balance transactions (charges and refunds) total what the ledger moved.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from lending.ledger.models import Journal, Transfer
from lending.payments.client import client, is_local
from lending.payments.models import CardPayment, WithdrawalRefund

CREDIT_KINDS = ("deposit", "repayment", "recovery", "unapplied_payment")


@dataclass
class StripeReport:
    since: date
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _listed(resource: Any, since_ts: int) -> list[Any]:
    """All objects created since the timestamp; the local test server takes no date filter, so filter here."""
    params: dict[str, Any] = {"limit": 100}
    if not is_local():
        params["created"] = {"gte": since_ts}
    objects = (obj.to_dict() for obj in resource.list(params=params).auto_paging_iter())
    return [obj for obj in objects if int(obj.get("created") or 0) >= since_ts]


def _journal_amount(journal_id: int | None) -> int:
    if journal_id is None:
        return 0
    return int(Transfer.objects.filter(journal_id=journal_id).aggregate(total=Sum("amount_cents"))["total"] or 0)


def reconcile_stripe(*, since: date) -> StripeReport:
    report = StripeReport(since=since)
    since_ts = int(timezone.make_aware(datetime.combine(since, time.min)).timestamp())
    stripe_client = client()
    intents = {pi["id"]: pi for pi in _listed(stripe_client.v1.payment_intents, since_ts)}
    refunds = {re["id"]: re for re in _listed(stripe_client.v1.refunds, since_ts)}
    payments = {p.payment_intent_id: p for p in CardPayment.objects.filter(payment_intent_id__in=list(intents))}
    _intents_to_ledger(report, intents, payments)
    _ledger_to_intents(report, intents, since)
    rows = {r.refund_id: r for r in WithdrawalRefund.objects.filter(refund_id__isnull=False)}
    _refunds_both_ways(report, refunds, rows, since)
    _balance_totals(report, stripe_client, since_ts, intents, payments, refunds, rows)
    return report


def _intents_to_ledger(report: StripeReport, intents: dict[str, Any], payments: dict[str | None, CardPayment]) -> None:
    """Every succeeded PaymentIntent of ours is credited once, for its amount; no other is credited."""
    problems = report.mismatches
    for pi_id, intent in intents.items():
        payment = payments.get(pi_id)
        named = (intent.get("metadata") or {}).get("card_payment")
        if payment is None:
            if named:
                problems.append(f"PaymentIntent {pi_id} names card payment {named}, which we do not have")
            continue
        report.checked += 1
        amount = int(intent.get("amount_received") or intent["amount"])
        credited = payment.status == CardPayment.Status.SUCCEEDED and payment.journal_id is not None
        if intent["status"] == "succeeded" and not credited:
            problems.append(f"PaymentIntent {pi_id} succeeded for {amount}, card payment {payment.pk} is "
                            f"{payment.status} with no ledger credit")  # fmt: skip
        elif intent["status"] == "succeeded" and (
            payment.received_cents != amount or _journal_amount(payment.journal_id) < amount
        ):
            problems.append(f"PaymentIntent {pi_id} collected {amount}, card payment {payment.pk} records "
                            f"{payment.received_cents}")  # fmt: skip
        elif intent["status"] != "succeeded" and (credited or payment.journal_id is not None):
            problems.append(f"card payment {payment.pk} was credited, PaymentIntent {pi_id} is {intent['status']}")


def _ledger_to_intents(report: StripeReport, intents: dict[str, Any], since: date) -> None:
    """Every ledger credit from Stripe in the period has a PaymentIntent that Stripe says succeeded."""
    problems = report.mismatches
    credits: Counter[str] = Counter()
    journals = Journal.objects.filter(kind__in=CREDIT_KINDS, created_at__date__gte=since).filter(
        idempotency_key__contains="stripe:pi_"
    )
    for key in journals.values_list("idempotency_key", flat=True):
        pi_id = key[key.index("stripe:pi_") + len("stripe:") :].split(":")[0]
        credits[pi_id] += 1
        state = intents[pi_id]["status"] if pi_id in intents else "unknown to Stripe"
        if state != "succeeded":
            problems.append(f"ledger journal {key} credits PaymentIntent {pi_id}, which is {state}")
    problems += [f"PaymentIntent {pi} was credited {n} times" for pi, n in credits.items() if n > 1]
    succeeded = CardPayment.objects.filter(created_at__date__gte=since, status=CardPayment.Status.SUCCEEDED)
    for pk, pi_id in succeeded.values_list("pk", "payment_intent_id"):
        if pi_id not in intents:
            problems.append(f"card payment {pk} ({pi_id}) is marked succeeded but Stripe has no such PaymentIntent")


def _refunds_both_ways(
    report: StripeReport, refunds: dict[str, Any], rows: dict[str | None, WithdrawalRefund], since: date
) -> None:
    problems = report.mismatches
    refunded_intents = {str(r.get("payment_intent") or "") for r in refunds.values()} - {""}
    deposits = set(
        CardPayment.objects.filter(payment_intent_id__in=refunded_intents).values_list("payment_intent_id", flat=True)
    )
    for refund_id, refund in refunds.items():
        row = rows.get(refund_id)
        if row is None:
            if (refund.get("metadata") or {}).get("withdrawal_refund"):
                problems.append(f"refund {refund_id} is ours but no withdrawal records it")
            elif refund.get("payment_intent") in deposits and refund["status"] == "succeeded":
                problems.append(f"refund {refund_id} of {refund['amount']} on PaymentIntent {refund['payment_intent']} "
                                "was made outside the app: the ledger still holds that money")  # fmt: skip
            continue
        report.checked += 1
        settled = row.status == WithdrawalRefund.Status.SUCCEEDED
        if refund["status"] == "succeeded" and (
            not settled or _journal_amount(row.journal_id) != int(refund["amount"])
        ):
            problems.append(
                f"refund {refund_id} of {refund['amount']} succeeded; withdrawal part {row.pk} is {row.status}"
            )
        elif refund["status"] != "succeeded" and settled:
            problems.append(f"withdrawal part {row.pk} was settled, refund {refund_id} is {refund['status']}")
    settled_rows = WithdrawalRefund.objects.filter(
        status=WithdrawalRefund.Status.SUCCEEDED, created_at__date__gte=since
    )
    for pk, sent_as in settled_rows.values_list("pk", "refund_id"):
        if sent_as not in refunds:
            problems.append(f"withdrawal part {pk} was settled by refund {sent_as}, which Stripe does not have")


def _balance_totals(
    report: StripeReport,
    stripe_client: Any,
    since_ts: int,
    intents: dict[str, Any],
    payments: dict[str | None, CardPayment],
    refunds: dict[str, Any],
    rows: dict[str | None, WithdrawalRefund],
) -> None:
    """Stripe's balance transactions for our charges and refunds total what the ledger moved."""
    charges = {p.charge_id for p in payments.values() if p.charge_id}
    totals: dict[str, int] = defaultdict(int)
    for txn in _listed(stripe_client.v1.balance_transactions, since_ts):
        source = txn.get("source")
        source_id = str(source if isinstance(source, str) else (source or {}).get("id", ""))
        if txn["type"] in ("charge", "payment") and source_id in charges:
            totals["charge"] += abs(int(txn["amount"]))
        elif txn["type"] == "refund" and source_id in rows:
            totals["refund"] += abs(int(txn["amount"]))
    credited = sum(
        p.received_cents
        for p in payments.values()
        if p.status == CardPayment.Status.SUCCEEDED and intents[str(p.payment_intent_id)]["status"] == "succeeded"
    )
    refunded = sum(int(r["amount"]) for rid, r in refunds.items() if rid in rows and r["status"] == "succeeded")
    if totals["charge"] and totals["charge"] != credited:
        report.mismatches.append(f"Stripe's charges total {totals['charge']}, the ledger credited {credited}")
    if totals["refund"] and totals["refund"] != refunded:
        report.mismatches.append(f"Stripe's refunds total {totals['refund']}, the ledger paid out {refunded}")
