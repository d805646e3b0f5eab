"""The outbox: each of the five event types is collected from the loans' own rows with its payload, once,
and fanned out only to the active endpoints of the loan's partner that want it."""

from __future__ import annotations

from datetime import date

import pytest

from accounts import services as people
from lending.jobs.close import close_business_day
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.models import Loan, LoanEvent, Repayment
from lending.loans.repayments import repayment_record
from lending.webhooks.models import CollectCursor, WebhookDelivery, WebhookEvent
from lending.webhooks.outbox import webhook_events_collect
from lending.webhooks.services import webhook_endpoint_create, webhook_endpoint_update
from tests.concurrency import run_together
from tests.loans import CLOSE_ON, START, buy

pytestmark = pytest.mark.django_db


def events(kind: str) -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(type=kind).order_by("pk"))


def ids(loan: Loan) -> dict[str, object]:
    return {"loan_id": loan.pk, "partner_id": loan.partner_id, "borrower_id": loan.borrower_id, "currency": "USD"}


def test_a_funded_loan_is_collected_with_its_payload_and_one_delivery(endpoint, listed, make_lenders):
    ann, ben = make_lenders(2)
    loan = listed(amount_cents=10_000)
    buy(loan, [(ann, 5_000), (ben, 5_000)])

    collected = webhook_events_collect()

    (event,) = events("loan.funded")
    assert event.payload == {**ids(loan), "amount_cents": 10_000, "funded_on": START.isoformat()}
    assert (event.partner_id, event.loan_id) == (endpoint.partner_id, loan.pk)
    assert event.source_key == f"loan_event:{LoanEvent.objects.get(loan=loan, to_status='funded').pk}"
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.event_id, delivery.endpoint_id, delivery.status) == (event.pk, endpoint.pk, "pending")
    assert (collected.events, collected.deliveries) == (1, [delivery.pk])


def test_a_disbursed_loan_carries_its_schedule_dates(endpoint, disbursed, make_lenders):
    (ann,) = make_lenders(1)
    loan = disbursed([(ann, 15_000)], repayments=12)

    webhook_events_collect()

    (event,) = events("loan.disbursed")
    assert event.payload == {
        **ids(loan), "amount_cents": 15_000, "disbursed_on": "2026-01-05", "repayments": 12,
        "first_repayment_date": "2026-02-05", "maturity_date": "2027-01-05",
    }  # fmt: skip
    assert [e.type for e in WebhookEvent.objects.order_by("pk")] == ["loan.funded", "loan.disbursed"]


def test_a_repayment_is_collected_with_its_split_into_principal_interest_and_fees(endpoint, disbursed, make_lenders):
    (ann,) = make_lenders(1)
    loan = disbursed([(ann, 15_000)], repayments=12)
    repayment = repayment_record(loan=loan, amount_cents=1_250, currency="USD", received_on=date(2026, 2, 5),
                                 source="staff", idempotency_key="pay-1", actor=None)  # fmt: skip

    webhook_events_collect()

    (event,) = events("repayment.recorded")
    assert event.payload == {
        **ids(loan), "repayment_id": repayment.pk, "amount_cents": 1_250, "received_on": "2026-02-05",
        "source": "staff", "principal_cents": 1_250, "interest_cents": 0, "fees_cents": 0, "overpayment_cents": 0,
        "is_recovery": False,
    }  # fmt: skip
    assert event.source_key == f"repayment:{repayment.pk}"


def test_the_close_of_business_makes_late_events_once_per_episode_and_defaults(endpoint, portfolio):
    late, ended = portfolio["late"], portfolio["ended"]
    close_business_day(on=CLOSE_ON)

    webhook_events_collect()
    close_business_day(on=date(2026, 7, 12))  # six months after "ended"'s only due date: it defaults
    webhook_events_collect()

    by_loan = {e.loan_id: e for e in events("loan.late")}
    pennies = Loan.objects.get(purpose="pennies")  # 50 cents short in March (tolerated), then nothing paid
    assert set(by_loan) == {late.pk, ended.pk, pennies.pk}  # "late" is still late in July: one episode, sent once
    assert (by_loan[pennies.pk].payload["late_since"], by_loan[pennies.pk].payload["as_of"]) == (
        "2026-03-05", "2026-07-12"
    )  # fmt: skip
    assert by_loan[late.pk].payload == {
        **ids(late), "late_since": "2026-03-05", "as_of": CLOSE_ON.isoformat(), "days_past_due": 15,
        "amount_past_due_cents": 1_250,
    }  # fmt: skip
    assert by_loan[late.pk].source_key == f"loan_late:{late.pk}:2026-03-05"
    assert by_loan[ended.pk].payload["late_since"] == "2026-01-12"
    (default,) = events("loan.defaulted")
    assert default.loan_id == ended.pk
    reason = LoanEvent.objects.get(loan=ended, to_status="defaulted").reason
    assert default.payload == {**ids(ended), "amount_cents": 2_500, "defaulted_on": "2026-07-12",
                               "written_off_cents": 2_500, "reason": reason}  # fmt: skip
    assert WebhookDelivery.objects.filter(event__type__in=["loan.late", "loan.defaulted"]).count() == 4


def test_a_new_lateness_episode_after_catching_up_is_sent_again(endpoint, portfolio):
    late = portfolio["late"]
    close_business_day(on=CLOSE_ON)
    webhook_events_collect()
    repayment_record(loan=late, amount_cents=1_250, currency="USD", received_on=CLOSE_ON, source="staff",
                     idempotency_key="catch-up", actor=None)  # fmt: skip
    close_business_day(on=date(2026, 3, 21))  # current again
    webhook_events_collect()
    close_business_day(on=date(2026, 4, 6))  # April's installment (due the 5th) missed
    webhook_events_collect()

    assert [e.payload["late_since"] for e in events("loan.late") if e.loan_id == late.pk] == [
        "2026-03-05",
        "2026-04-05",
    ]


def test_collecting_twice_writes_nothing_more(endpoint, disbursed, make_lenders):
    (ann,) = make_lenders(1)
    disbursed([(ann, 15_000)])
    first = webhook_events_collect()

    again = webhook_events_collect()

    assert (first.events, len(first.deliveries)) == (2, 2)
    assert (again.events, again.deliveries) == (0, [])
    assert (WebhookEvent.objects.count(), WebhookDelivery.objects.count()) == (2, 2)


def test_another_partners_loans_are_never_sent_to_this_partner(endpoint, receiver, make_lenders):
    other = people.field_partner_create(name="Lake Traders", country="KE")
    clerk = people.partner_staff_add(partner=other, email="clerk@example.org", password="lake-side-ledger-42",
                                     full_name="Cleo Clerk").user  # fmt: skip
    their_endpoint, _ = webhook_endpoint_create(partner=other, url=receiver.url, event_types=["loan.funded"],
                                                actor=clerk)  # fmt: skip
    borrower = people.borrower_create(display_name="Juma K.", country="KE", partner=other)
    loan = _listed_for(clerk, borrower)
    buy(loan, [(make_lenders(1)[0], 5_000)])

    webhook_events_collect()

    (event,) = WebhookEvent.objects.all()
    assert (event.type, event.partner_id) == ("loan.funded", other.pk)
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [their_endpoint.pk]
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()


def _listed_for(officer, borrower) -> Loan:
    loan = loan_apply(actor=officer, borrower=borrower, amount_cents=5_000, currency="USD", purpose="Nets",
                      sector="retail", repayments=6)  # fmt: skip
    for step in (loan_submit, loan_approve, loan_publish):
        loan = step(loan=loan, actor=officer, on=START)
    return loan


def test_only_subscribed_active_endpoints_registered_before_the_event_get_a_delivery(
    endpoint, partner, officer, receiver, listed, make_lenders
):
    funded_only, _ = webhook_endpoint_create(partner=partner, url=receiver.url, event_types=["loan.funded"],
                                             actor=officer)  # fmt: skip
    paused, _ = webhook_endpoint_create(partner=partner, url=receiver.url, event_types=["loan.disbursed"],
                                        actor=officer)  # fmt: skip
    webhook_endpoint_update(endpoint=paused, active=False)
    loan = listed(amount_cents=5_000)
    buy(loan, [(make_lenders(1)[0], 5_000)])
    loan_disburse(loan=loan, actor=officer, on=START)
    late_comer, _ = webhook_endpoint_create(partner=partner, url=receiver.url, event_types=["loan.disbursed"],
                                            actor=officer)  # fmt: skip

    webhook_events_collect()

    got = sorted(WebhookDelivery.objects.values_list("endpoint_id", "event__type"))
    assert got == sorted([(endpoint.pk, "loan.funded"), (endpoint.pk, "loan.disbursed"),
                          (funded_only.pk, "loan.funded")])  # fmt: skip
    assert late_comer.pk not in {e for e, _ in got}


def test_the_mark_passes_only_settled_rows_so_a_row_seen_late_is_still_collected(endpoint, disbursed, make_lenders,
                                                                                  settings):  # fmt: skip
    (ann,) = make_lenders(1)
    loan = disbursed([(ann, 15_000)])
    webhook_events_collect()
    assert CollectCursor.objects.get(source="loan_events").last_id == 0  # the rows are younger than the settle time
    WebhookEvent.objects.filter(type="loan.funded").delete()  # as if its row had committed after the run

    webhook_events_collect()
    settings.WEBHOOK_COLLECT_SETTLE_SECONDS = 0
    webhook_events_collect()

    assert sorted(WebhookEvent.objects.values_list("type", flat=True)) == ["loan.disbursed", "loan.funded"]
    assert CollectCursor.objects.get(source="loan_events").last_id == LoanEvent.objects.filter(loan=loan).last().pk


def test_rows_up_to_the_mark_are_history_and_not_collected(endpoint, disbursed, make_lenders):
    (ann,) = make_lenders(1)
    loan = disbursed([(ann, 15_000)])
    repayment_record(loan=loan, amount_cents=1_250, currency="USD", received_on=date(2026, 2, 5),
                            source="staff", idempotency_key="old", actor=None)  # fmt: skip
    for source, model in (("loan_events", LoanEvent), ("repayments", Repayment)):
        CollectCursor.objects.update_or_create(source=source, defaults={"last_id": model.objects.last().pk})

    webhook_events_collect()

    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_four_collectors_at_once_write_each_event_and_delivery_once(endpoint, disbursed, make_lenders):
    (ann,) = make_lenders(1)
    loan = disbursed([(ann, 15_000)])
    repayment_record(loan=loan, amount_cents=1_250, currency="USD", received_on=date(2026, 2, 5), source="staff",
                     idempotency_key="pay-1", actor=None)  # fmt: skip

    results = run_together(4, lambda _: webhook_events_collect())

    assert [r for r in results if isinstance(r, Exception)] == []
    types = sorted(WebhookEvent.objects.values_list("type", flat=True))
    assert types == ["loan.disbursed", "loan.funded", "repayment.recorded"]
    made = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert len(made) == 3
    assert {pk for r in results for pk in r.deliveries} == made  # every delivery was reported, to be queued
