"""The outbox: turn the loans' own durable rows into webhook events, and each event into its deliveries.

Sources, read in id order from a stored high-water mark (`CollectCursor`):
- `LoanEvent` (the audit row of every status change): to funded -> `loan.funded`, to paying back ->
  `loan.disbursed`, to defaulted -> `loan.defaulted`;
- `Repayment` -> `repayment.recorded`.
`loan.late` has no row of its own: the close of business leaves `delinquent`, `days_past_due` and
`arrears_as_of` on the loan, so a lateness episode is keyed by (loan, due date of its oldest unpaid
installment) = (loan, arrears_as_of - days_past_due) and is announced once, when first seen.

Why the mark trails: ids are handed out when a row is inserted, but rows become visible when their
transaction commits, and the two orders differ (a repayment that took id 100 may commit after the one
that took id 101). A mark moved to 101 at once would skip 100 for ever. So every run reads all rows
above the mark, and the mark only passes rows older than WEBHOOK_COLLECT_SETTLE_SECONDS; rows read
twice are skipped by their event's unique `source_key`.

Only loans with a field partner have anyone to tell. Events are kept for every such loan (the
platform's event log, like Stripe's); an endpoint receives the events that happen after it is
registered, of the types it subscribes to, while it is active. Two collectors at once are harmless:
events and deliveries are inserted with ON CONFLICT DO NOTHING against their unique keys, and the mark
only moves forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lending.loans.models import Loan, LoanEvent, Repayment
from lending.webhooks.models import CollectCursor, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

S = Loan.Status
BATCH = 500
MAX_BATCHES = 20  # per source and run: a backlog is worked off over several runs, each one short
TRANSITIONS: dict[str, str] = {S.FUNDED: EventType.LOAN_FUNDED, S.PAYING_BACK: EventType.LOAN_DISBURSED,
                               S.DEFAULTED: EventType.LOAN_DEFAULTED}  # fmt: skip


@dataclass(frozen=True)
class Draft:
    """An event not yet stored."""

    type: str
    source_key: str
    loan: Loan
    occurred_at: datetime
    data: dict[str, Any]

    def event(self) -> WebhookEvent:
        assert self.loan.partner_id is not None
        return WebhookEvent(type=self.type, source_key=self.source_key, partner_id=self.loan.partner_id,
                            loan_id=self.loan.pk, payload=self.data, occurred_at=self.occurred_at)  # fmt: skip


@dataclass
class Collected:
    events: int = 0
    deliveries: list[int] = field(default_factory=list)

    def add(self, other: Collected) -> Collected:
        self.events += other.events
        self.deliveries.extend(other.deliveries)
        return self


# --- payloads: ids, amount_cents + currency, ISO dates --------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _loan_part(loan: Loan) -> dict[str, Any]:
    return {"loan_id": loan.pk, "partner_id": loan.partner_id, "borrower_id": loan.borrower_id,
            "currency": loan.currency}  # fmt: skip


def _transition_data(row: LoanEvent) -> dict[str, Any]:
    """What the transition fixed: these fields do not change after it, so a late collection reads the same."""
    loan, on = row.loan, row.business_date.isoformat()
    if row.to_status == S.FUNDED:
        return {**_loan_part(loan), "amount_cents": loan.amount_cents, "funded_on": on}
    if row.to_status == S.PAYING_BACK:
        return {**_loan_part(loan), "amount_cents": loan.amount_cents, "disbursed_on": on,
                "repayments": loan.repayments, "first_repayment_date": _iso(loan.first_repayment_date),
                "maturity_date": _iso(loan.maturity_date)}  # fmt: skip
    return {**_loan_part(loan), "amount_cents": loan.amount_cents, "defaulted_on": on,
            "written_off_cents": loan.written_off_cents, "reason": row.reason}  # fmt: skip


def _transition_draft(row: LoanEvent) -> Draft:
    return Draft(TRANSITIONS[row.to_status], f"loan_event:{row.pk}", row.loan, row.created_at, _transition_data(row))


def _repayment_draft(row: Repayment) -> Draft:
    data = {
        **_loan_part(row.loan), "repayment_id": row.pk, "amount_cents": row.amount_cents, "currency": row.currency,
        "received_on": row.received_on.isoformat(), "source": row.source, "principal_cents": row.principal_cents,
        "interest_cents": row.interest_cents, "fees_cents": row.fees_cents,
        "overpayment_cents": row.overpayment_cents, "is_recovery": row.is_recovery,
    }  # fmt: skip
    return Draft(EventType.REPAYMENT_RECORDED, f"repayment:{row.pk}", row.loan, row.created_at, data)


def _late_draft(loan: Loan, now: datetime) -> Draft:
    assert loan.arrears_as_of is not None
    since = loan.arrears_as_of - timedelta(days=loan.days_past_due)
    data = {**_loan_part(loan), "late_since": since.isoformat(), "as_of": loan.arrears_as_of.isoformat(),
            "days_past_due": loan.days_past_due, "amount_past_due_cents": loan.amount_past_due_cents}  # fmt: skip
    return Draft(EventType.LOAN_LATE, f"loan_late:{loan.pk}:{since.isoformat()}", loan, now, data)


# --- storing: each batch one transaction, idempotent by unique keys -------------------------------


def _wants(endpoint: WebhookEndpoint, event: WebhookEvent) -> bool:
    return (endpoint.partner_id == event.partner_id and event.type in endpoint.event_types
            and endpoint.created_at <= event.occurred_at)  # fmt: skip


def _fan_out(events: list[WebhookEvent]) -> list[int]:
    """One pending delivery per (event, endpoint that wants it); returns the ids of those made."""
    endpoints = list(WebhookEndpoint.objects.filter(active=True, partner_id__in={e.partner_id for e in events}))
    pairs = {(e.pk, p.pk) for e in events for p in endpoints if _wants(p, e)}
    if not pairs:
        return []
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event_id=e, endpoint_id=p, next_attempt_at=now) for e, p in sorted(pairs)],
        ignore_conflicts=True,
    )
    made = WebhookDelivery.objects.filter(event_id__in={e for e, _ in pairs}, attempts=0)
    return sorted(pk for pk, e, p in made.values_list("pk", "event_id", "endpoint_id") if (e, p) in pairs)


@transaction.atomic
def _store(drafts: list[Draft]) -> Collected:
    """Insert the drafts not yet stored (a twin's rows are skipped by ON CONFLICT) and their deliveries."""
    keys = [d.source_key for d in drafts]
    known = set(WebhookEvent.objects.filter(source_key__in=keys).values_list("source_key", flat=True))
    fresh = [d for d in drafts if d.source_key not in known]
    if not fresh:
        return Collected()
    WebhookEvent.objects.bulk_create([d.event() for d in fresh], ignore_conflicts=True)
    events = list(WebhookEvent.objects.filter(source_key__in=[d.source_key for d in fresh]))
    return Collected(len(fresh), _fan_out(events))


# --- sources read from a high-water mark ---------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    rows: Callable[[int], QuerySet[Any]]  # rows with an id above the argument, in id order
    draft: Callable[[Any], Draft]


def _transition_rows(after: int) -> QuerySet[LoanEvent]:
    return (LoanEvent.objects.filter(pk__gt=after, to_status__in=list(TRANSITIONS), loan__partner__isnull=False)
            .select_related("loan").order_by("pk"))  # fmt: skip


def _repayment_rows(after: int) -> QuerySet[Repayment]:
    return Repayment.objects.filter(pk__gt=after, loan__partner__isnull=False).select_related("loan").order_by("pk")


SOURCES = (Source("loan_events", _transition_rows, _transition_draft),
           Source("repayments", _repayment_rows, _repayment_draft))  # fmt: skip


def _mark(name: str) -> int:
    cursor, _ = CollectCursor.objects.get_or_create(source=name)
    return cursor.last_id


def _settled(rows: Iterable[Any], mark: int, cutoff: datetime, blocked: bool) -> tuple[int, bool]:
    """The mark moved past rows older than `cutoff`, stopping at the first younger one (`blocked` from then on)."""
    for row in rows:
        blocked = blocked or row.created_at > cutoff
        mark = mark if blocked else row.pk
    return mark, blocked


def _collect_source(source: Source, cutoff: datetime) -> Collected:
    mark = after = _mark(source.name)
    blocked, total = False, Collected()
    for _ in range(MAX_BATCHES):
        rows = list(source.rows(after)[:BATCH])
        if rows:
            total.add(_store([source.draft(row) for row in rows]))
        mark, blocked = _settled(rows, mark, cutoff, blocked)
        if len(rows) < BATCH:
            break
        after = rows[-1].pk
    CollectCursor.objects.filter(source=source.name, last_id__lt=mark).update(last_id=mark, updated_at=timezone.now())
    return total


def _collect_late() -> Collected:
    """Every delinquent loan's current episode, announced once (its key is in the event's source_key)."""
    late = Loan.objects.filter(
        status=S.PAYING_BACK, delinquent=True, partner__isnull=False, arrears_as_of__isnull=False
    )
    after, total, now = 0, Collected(), timezone.now()
    while True:
        loans = list(late.filter(pk__gt=after).order_by("pk")[:BATCH])
        if loans:
            total.add(_store([_late_draft(loan, now) for loan in loans]))
        if len(loans) < BATCH:
            return total
        after = loans[-1].pk


def webhook_events_collect() -> Collected:
    """Collect new events from every source; returns how many events and which deliveries were made."""
    cutoff = timezone.now() - timedelta(seconds=settings.WEBHOOK_COLLECT_SETTLE_SECONDS)
    total = Collected()
    for source in SOURCES:
        total.add(_collect_source(source, cutoff))
    return total.add(_collect_late())
