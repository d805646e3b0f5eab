"""GET and POST /api/v1/loans/<id>/repayments/: anyone who may see the loan reads its repayments, newest first, in
the same queries for one or five, a lender with their own part of each; platform staff and the loan's field partner
record one (201 with its split), once per Idempotency-Key; after a write-off a payment is a recovery."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from lending.api.keys import api_key_create
from lending.ledger.reconcile import reconcile
from lending.loans.default import loan_write_off
from lending.loans.models import Loan, Repayment, RepaymentSplit
from lending.loans.repayments import repayment_record
from tests.api import cast
from tests.loans import wallet_cents

pytestmark = pytest.mark.django_db
borrower, users = cast.borrower, cast.users  # fixtures: a borrower who logs in, and everyone else


def as_(who: str, users: dict, scopes: tuple[str, ...] = ("metrics:read",)) -> APIClient:
    client = APIClient()
    if who == "key_without_scope":
        _, key = api_key_create(user=users["staff"], name="other scopes", scopes=list(scopes))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    elif who != "anonymous":
        client.force_authenticate(users[who])
    return client


def url(loan: Loan) -> str:
    return f"/api/v1/loans/{loan.pk}/repayments/"


def pay(loan: Loan, cents: int, on: date, key: str) -> Repayment:
    return repayment_record(loan=loan, amount_cents=cents, currency="USD", received_on=on, source="partner",
                            idempotency_key=key, actor=None)  # fmt: skip


@pytest.fixture
def two(make_lenders):
    return make_lenders(2, 50_000)


@pytest.fixture
def loan(two, disbursed):
    return disbursed([(two[0], 10_000), (two[1], 5_000)], repayments=3)  # 5,000 due monthly from 2026-02-05


def post(client: APIClient, loan: Loan, body: dict, key: str = "pay-0001"):
    return client.post(url(loan), body, format="json", HTTP_IDEMPOTENCY_KEY=key)


# --- reading ----------------------------------------------------------------------------------------


def test_a_lender_reads_the_repayments_newest_first_with_their_own_part_of_each(loan, two):
    pay(loan, 5_000, date(2026, 2, 5), "feb")
    pay(loan, 3_000, date(2026, 3, 5), "mar")
    ann = APIClient()
    ann.force_authenticate(two[0])

    rows = ann.get(url(loan)).json()["results"]

    assert [(r["received_on"], r["amount_cents"], r["principal_cents"]) for r in rows] == [
        ("2026-03-05", 3_000, 3_000), ("2026-02-05", 5_000, 5_000)
    ]  # fmt: skip
    assert (rows[0]["currency"], rows[0]["source"], rows[0]["is_recovery"]) == ("USD", "partner", False)
    assert (rows[0]["interest_cents"], rows[0]["fees_cents"], rows[0]["overpayment_cents"]) == (0, 0, 0)
    assert [r["lender_part"] for r in rows] == [
        {"principal_cents": 2_000, "interest_cents": 0}, {"principal_cents": 3_333, "interest_cents": 0}
    ]  # fmt: skip
    splits = RepaymentSplit.objects.filter(lender=two[0]).order_by("-repayment_id")
    assert [s.principal_cents for s in splits] == [2_000, 3_333]


def test_others_see_the_repayments_without_a_lenders_part(loan, users):
    pay(loan, 5_000, date(2026, 2, 5), "feb")

    for who in ("anonymous", "lender", "borrower", "officer", "staff"):
        (row,) = as_(who, users).get(url(loan)).json()["results"]
        assert (row["amount_cents"], row["lender_part"]) == (5_000, None), who


@pytest.mark.parametrize("who", ["anonymous", "lender"])
def test_the_lender_list_costs_the_same_queries_for_one_repayment_or_five(loan, two, users, who):
    client = APIClient()
    if who == "lender":
        client.force_authenticate(two[1])
    pay(loan, 1_000, date(2026, 2, 1), "r0")
    client.get(url(loan))  # warm: the user's partner-staff lookup is cached on the user after the first request
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url(loan)).json()["results"]) == 1
    for n in range(1, 5):
        pay(loan, 1_000, date(2026, 2, 1 + n), f"r{n}")
    with CaptureQueriesContext(connection) as five:
        rows = client.get(url(loan)).json()["results"]

    assert len(rows) == 5
    assert len(five.captured_queries) == len(one.captured_queries)
    assert all((r["lender_part"] is None) == (who == "anonymous") for r in rows)


def test_the_list_is_paginated_by_cursor(loan):
    for n in range(3):
        pay(loan, 1_000, date(2026, 2, 1 + n), f"p{n}")

    first = APIClient().get(url(loan), {"page_size": 2}).json()
    second = APIClient().get(first["next"]).json()

    assert [r["received_on"] for r in first["results"]] == ["2026-02-03", "2026-02-02"]
    assert [r["received_on"] for r in second["results"]] == ["2026-02-01"]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("who", "code"),
    [("borrower", 200), ("other_borrower", 404), ("lender", 404), ("anonymous", 404), ("officer", 200),
     ("other_officer", 404), ("staff", 200), ("key_without_scope", 403)],
)  # fmt: skip
def test_a_loan_not_listed_has_repayments_only_for_those_who_may_see_it(apply, users, who, code):
    draft = apply()

    response = as_(who, users).get(url(draft))

    assert response.status_code == code
    if code == 200:
        assert response.json()["results"] == []


def test_a_key_needs_loans_read_to_read_repayments(loan, users):
    assert as_("key_without_scope", users).get(url(loan)).status_code == 403
    assert as_("key_without_scope", users, ("loans:read",)).get(url(loan)).status_code == 200


def test_an_unknown_loan_has_no_repayments():
    assert APIClient().get("/api/v1/loans/999999/repayments/").status_code == 404


# --- recording ----------------------------------------------------------------------------------------


def test_staff_record_a_repayment_and_see_its_split_to_the_cent(loan, two, users):
    response = post(as_("staff", users), loan, {"amount_cents": 5_000, "currency": "USD", "received_on": "2026-02-05"})

    body = response.json()
    assert response.status_code == 201, body
    assert (body["loan"], body["amount_cents"], body["principal_cents"], body["source"]) == (loan.pk, 5_000, 5_000,
                                                                                             "staff")  # fmt: skip
    assert body["splits"] == [
        {"lender": two[0].pk, "lender_name": two[0].lender_profile.display_name, "principal_cents": 3_333,
         "interest_cents": 0},
        {"lender": two[1].pk, "lender_name": two[1].lender_profile.display_name, "principal_cents": 1_667,
         "interest_cents": 0},
    ]  # fmt: skip
    repayment = Repayment.objects.get()
    assert (repayment.received_on, repayment.recorded_by_id) == (date(2026, 2, 5), users["staff"].pk)
    assert [wallet_cents(lender) for lender in two] == [40_000 + 3_333, 45_000 + 1_667]
    assert reconcile().ok


def test_the_partner_records_a_partner_repayment_dated_today_without_lender_ids(loan, users):
    response = post(as_("officer", users), loan, {"amount_cents": 2_500, "currency": "USD"})

    body = response.json()
    assert response.status_code == 201, body
    assert (body["source"], body["received_on"]) == ("partner", timezone.localdate().isoformat())
    assert [s["lender"] for s in body["splits"]] == [None, None]
    assert sum(s["principal_cents"] for s in body["splits"]) == 2_500


def test_a_key_with_repayments_write_records(loan, users):
    _, key = api_key_create(user=users["officer"], name="MIS", scopes=["repayments:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert post(client, loan, {"amount_cents": 2_500, "currency": "USD"}).status_code == 201


@pytest.mark.parametrize(
    ("who", "code"),
    [("borrower", 403), ("other_borrower", 403), ("lender", 403), ("anonymous", 401), ("other_officer", 403),
     ("key_without_scope", 403)],
)  # fmt: skip
def test_who_may_not_record_a_repayment(loan, users, who, code):
    response = post(as_(who, users, ("loans:read",)), loan, {"amount_cents": 2_500, "currency": "USD"})

    assert response.status_code == code
    assert not Repayment.objects.exists()


def test_a_loan_not_listed_is_a_404_to_another_partner_and_a_409_to_staff(apply, users):
    draft = apply()

    hidden = post(as_("other_officer", users), draft, {"amount_cents": 2_500, "currency": "USD"})
    not_paying = post(as_("staff", users), draft, {"amount_cents": 2_500, "currency": "USD"})

    assert hidden.status_code == 404
    assert not_paying.status_code == 409
    assert not_paying.json()["error"]["code"] == "invalid_state"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_cents": 0, "currency": "USD"}, "amount_cents"),
        ({"amount_cents": "ten", "currency": "USD"}, "amount_cents"),
        ({"amount_cents": 10**13, "currency": "USD"}, "amount_cents"),
        ({"currency": "USD"}, "amount_cents"),
        ({"amount_cents": 2_500}, "currency"),
        ({"amount_cents": 2_500, "currency": "EUR"}, "currency"),
        ({"amount_cents": 2_500, "currency": "USD", "received_on": "FUTURE"}, "received_on"),
        ({"amount_cents": 2_500, "currency": "USD", "received_on": "2026-01-04"}, "received_on"),  # before payout
        ({"amount_cents": 2_500, "currency": "USD", "received_on": "5 Feb"}, "received_on"),
        ({"amount_cents": 2_500, "currency": "USD", "source": "borrower_card"}, "source"),
        ({"amount_cents": 2_500, "currency": "USD", "source": "cash"}, "source"),
    ],
)
def test_a_bad_repayment_is_a_400_naming_the_field_and_records_nothing(loan, users, body, field):
    if body.get("received_on") == "FUTURE":
        body = {**body, "received_on": (timezone.localdate() + timedelta(days=1)).isoformat()}

    response = post(as_("staff", users), loan, body)

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Repayment.objects.exists()


def test_a_partner_may_not_record_a_staff_repayment(loan, users):
    response = post(as_("officer", users), loan, {"amount_cents": 2_500, "currency": "USD", "source": "staff"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["source"]
    assert not Repayment.objects.exists()


def test_an_idempotency_key_too_long_for_a_repayment_is_a_400(loan, users):
    response = post(as_("staff", users), loan, {"amount_cents": 2_500, "currency": "USD"}, key="k" * 151)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Repayment.objects.exists()


def test_a_repayment_replayed_is_recorded_once_and_another_body_under_the_key_is_a_409(loan, two, users):
    client = as_("officer", users)
    body = {"amount_cents": 2_500, "currency": "USD", "received_on": "2026-02-05"}

    first = post(client, loan, body, key="mis-8812")
    again = post(client, loan, body, key="mis-8812")
    other = post(client, loan, {**body, "amount_cents": 3_000}, key="mis-8812")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert Repayment.objects.count() == 1
    assert wallet_cents(two[1]) == 45_000 + 833


def test_the_key_names_the_payment_for_the_loan_so_staff_resending_it_records_nothing_twice(loan, users):
    body = {"amount_cents": 2_500, "currency": "USD", "received_on": "2026-02-05", "source": "partner"}

    first = post(as_("officer", users), loan, body, key="mis-8813")
    resent = post(as_("staff", users), loan, body, key="mis-8813")
    changed = post(as_("staff", users), loan, {**body, "amount_cents": 1_000}, key="mis-8813")

    assert (first.status_code, resent.status_code) == (201, 201)
    assert resent.json()["id"] == first.json()["id"]
    assert changed.status_code == 409
    assert Repayment.objects.count() == 1


def test_after_a_write_off_a_repayment_is_a_recovery_split_among_the_lenders(loan, two, users):
    loan_write_off(loan=loan, actor=users["staff"], reason="fraud", on=date(2026, 2, 1))

    response = post(as_("officer", users), loan, {"amount_cents": 3_000, "currency": "USD"})

    body = response.json()
    assert response.status_code == 201, body
    assert body["is_recovery"] is True
    assert [s["principal_cents"] for s in body["splits"]] == [2_000, 1_000]
    assert [wallet_cents(lender) for lender in two] == [42_000, 46_000]
    assert reconcile().ok
    (row,) = APIClient().get(url(loan)).json()["results"]
    assert (row["is_recovery"], row["amount_cents"]) == (True, 3_000)
