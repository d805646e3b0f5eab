"""PATCH and DELETE /api/v1/loans/drafts/<id>/, POST .../cancel/, GET /api/v1/me/loans/: whoever applied edits a
draft (checked as a new one, 400 naming the field; 409 once submitted) or withdraws an application with a reason;
to anyone else it does not exist; a borrower follows their own loans, each with the step it is at."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as people
from lending.api.keys import api_key_create
from lending.ledger.reconcile import reconcile
from lending.loans.applications import loan_apply, loan_reject, loan_submit
from lending.loans.models import Loan, LoanEvent
from tests.api import cast
from tests.loans import buy, wallet_cents

pytestmark = pytest.mark.django_db
borrower, users = cast.borrower, cast.users  # fixtures: a borrower who logs in, and everyone else
S = Loan.Status
DRAFT = {"amount_cents": 60_000, "currency": "USD", "purpose": "Buy a dairy cow", "sector": "agriculture",
         "repayments": 12}  # fmt: skip


def as_(who: str, users: dict, scopes: tuple[str, ...] = ("loans:read",)) -> APIClient:
    client = APIClient()
    if who == "key_without_scope":  # the borrower's own key, with other scopes
        _, key = api_key_create(user=users["borrower"], name="phone app", scopes=list(scopes))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    elif who != "anonymous":
        client.force_authenticate(users[who])
    return client


def patch(client: APIClient, loan: Loan, body: dict, key: str = "edit-0001"):
    return client.patch(f"/api/v1/loans/drafts/{loan.pk}/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def cancel(client: APIClient, loan: Loan, body: dict | None = None, key: str = "cancel-0001"):
    return client.post(f"/api/v1/loans/drafts/{loan.pk}/cancel/", body if body is not None else {"reason": "sold"},
                       format="json", HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip


def saved(loan: Loan) -> tuple:
    loan.refresh_from_db()
    return (loan.status, loan.amount_cents, loan.purpose, loan.repayments, loan.repayment_frequency)


ORIGINAL = (S.DRAFT, 60_000, "Buy a dairy cow", 12, "months")


# --- PATCH: edit a draft ------------------------------------------------------------------------------


def test_the_borrower_edits_their_draft_and_only_what_was_sent_changes(apply, users):
    loan = apply()

    response = patch(as_("borrower", users), loan, {"amount_cents": 50_000, "purpose": " Two cows ",
                                                    "repayment_frequency": "weeks"})  # fmt: skip

    body = response.json()
    assert response.status_code == 200, body
    assert (body["id"], body["status"], body["amount_cents"], body["purpose"]) == (loan.pk, "draft", 50_000, "Two cows")
    assert saved(loan) == (S.DRAFT, 50_000, "Two cows", 12, "weeks")


@pytest.mark.parametrize(
    ("who", "code"),
    [("borrower", 200), ("other_borrower", 404), ("lender", 404), ("anonymous", 401), ("officer", 200),
     ("other_officer", 404), ("staff", 200), ("key_without_scope", 403)],
)  # fmt: skip
def test_who_may_edit_a_draft(apply, users, who, code):
    loan = apply()

    response = patch(as_(who, users), loan, {"repayments": 10})

    assert response.status_code == code, response.json()
    assert saved(loan)[3] == (10 if code == 200 else 12)
    if code == 404:
        assert response.json()["error"]["code"] == "not_found"


def test_a_key_with_loans_write_edits(apply, users):
    loan = apply()

    assert patch(as_("key_without_scope", users, ("loans:write",)), loan, {"repayments": 10}).status_code == 200
    assert saved(loan)[3] == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_cents": 1_000}, "amount_cents"),  # not a multiple of the $25 share
        ({"amount_cents": 1_002_500}, "amount_cents"),  # above the largest loan
        ({"amount_cents": "lots"}, "amount_cents"),
        ({"currency": "XXX"}, "currency"),
        ({"sector": "fishing"}, "sector"),
        ({"repayments": 0}, "repayments"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "   "}, "purpose"),
        ({"country": "U"}, "country"),
        ({"repayment_frequency": "fortnights"}, "repayment_frequency"),
        ({"annual_interest_rate": "5"}, "annual_interest_rate"),  # a rate needs an interest method: loan_apply's rule
        ({"borrower": 999_999}, "borrower"),
        ({"status": "approved"}, "status"),
        ({"raised_cents": 60_000}, "raised_cents"),
    ],
)
def test_a_bad_edit_is_a_400_naming_the_field_and_changes_nothing(apply, users, change, field):
    loan = apply()

    response = patch(as_("officer", users), loan, {"purpose": "Changed", **change})

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert saved(loan) == ORIGINAL


def test_a_body_that_is_not_an_object_is_a_400(apply, users):
    loan = apply()

    response = patch(as_("officer", users), loan, [1, 2])

    assert response.status_code == 400
    assert saved(loan) == ORIGINAL


def test_a_draft_cannot_move_to_a_borrower_the_editor_may_not_apply_for(apply, users):
    loan = apply()
    theirs = people.borrower_create(display_name="Otieno", country="KE",
                                    partner=people.field_partner_create(name="Kisumu Fish", country="KE"))  # fmt: skip

    response = patch(as_("officer", users), loan, {"borrower": theirs.pk})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["borrower"]
    loan.refresh_from_db()
    assert loan.borrower.user_id == users["borrower"].pk


def test_a_submitted_application_is_a_409_even_with_bad_fields(apply, users):
    loan = apply()
    loan_submit(loan=loan, actor=users["officer"])

    good = patch(as_("officer", users), loan, {"repayments": 10}, key="edit-a")
    bad = patch(as_("officer", users), loan, {"repayments": 0}, key="edit-b")

    assert (good.status_code, bad.status_code) == (409, 409)
    assert good.json()["error"]["code"] == "invalid_state"
    assert saved(loan) == (S.SUBMITTED, *ORIGINAL[1:])


def test_a_listed_loan_is_a_404_to_a_lender_and_a_409_to_its_partner(listed, users):
    loan = listed()

    assert patch(as_("lender", users), loan, {"repayments": 10}, key="edit-c").status_code == 404
    assert patch(as_("officer", users), loan, {"repayments": 10}, key="edit-d").status_code == 409


def test_an_edit_replayed_answers_the_same_and_another_body_under_the_key_is_a_409(apply, users):
    loan = apply()
    client = as_("borrower", users)

    first = patch(client, loan, {"repayments": 10}, key="edit-e")
    patch(client, loan, {"repayments": 9}, key="edit-f")
    again = patch(client, loan, {"repayments": 10}, key="edit-e")
    other = patch(client, loan, {"repayments": 8}, key="edit-e")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert saved(loan)[3] == 9  # the replay did not edit again


# --- cancel: DELETE or POST .../cancel/ -------------------------------------------------------------


def test_the_borrower_withdraws_a_draft_with_a_reason(apply, users):
    loan = apply()

    response = cancel(as_("borrower", users), loan, {"reason": "found another lender"})

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    event = loan.events.last()
    assert (event.from_status, event.to_status, event.actor_id, event.reason) == (
        S.DRAFT, S.CANCELLED, users["borrower"].pk, "found another lender"
    )  # fmt: skip


def test_delete_withdraws_a_submitted_application(apply, users):
    loan = apply()
    loan_submit(loan=loan, actor=users["officer"])
    client = as_("officer", users)

    response = client.delete(f"/api/v1/loans/drafts/{loan.pk}/?reason=duplicate", HTTP_IDEMPOTENCY_KEY="del-1")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert loan.events.last().reason == "duplicate"


def test_the_same_key_with_another_reason_in_the_query_string_is_a_conflict_not_a_replay(apply, users):
    loan = apply()
    client = as_("officer", users)

    first = client.delete(f"/api/v1/loans/drafts/{loan.pk}/?reason=duplicate", HTTP_IDEMPOTENCY_KEY="del-3")
    again = client.delete(f"/api/v1/loans/drafts/{loan.pk}/?reason=duplicate", HTTP_IDEMPOTENCY_KEY="del-3")
    other = client.delete(f"/api/v1/loans/drafts/{loan.pk}/?reason=fraud", HTTP_IDEMPOTENCY_KEY="del-3")

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_delete_without_a_reason_gives_one(apply, users):
    loan = apply()

    response = as_("borrower", users).delete(f"/api/v1/loans/drafts/{loan.pk}/", HTTP_IDEMPOTENCY_KEY="del-2")

    assert response.status_code == 200
    assert loan.events.last().reason == "Withdrawn by the applicant"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 501}])
def test_a_cancellation_without_a_good_reason_is_a_400(apply, users, body):
    loan = apply()

    response = cancel(as_("borrower", users), loan, body)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert saved(loan) == ORIGINAL


@pytest.mark.parametrize(
    ("who", "code"),
    [("borrower", 200), ("other_borrower", 404), ("lender", 404), ("anonymous", 401), ("officer", 200),
     ("other_officer", 404), ("staff", 200), ("key_without_scope", 403)],
)  # fmt: skip
def test_who_may_withdraw_an_application(apply, users, who, code):
    loan = apply()

    response = cancel(as_(who, users), loan)

    assert response.status_code == code
    assert saved(loan)[0] == (S.CANCELLED if code == 200 else S.DRAFT)


def test_a_loan_being_funded_is_withdrawn_by_platform_staff_only_and_its_lenders_are_repaid(listed, make_lenders,
                                                                                           users):  # fmt: skip
    loan = listed(amount_cents=10_000)
    (ann,) = make_lenders(1, 20_000)
    buy(loan, [(ann, 5_000)])

    by_partner = cancel(as_("officer", users), loan, key="cancel-a")
    by_borrower = cancel(as_("borrower", users), loan, key="cancel-b")
    by_staff = cancel(as_("staff", users), loan, key="cancel-c")

    assert (by_partner.status_code, by_borrower.status_code, by_staff.status_code) == (403, 403, 200)
    assert by_partner.json()["error"]["code"] == "permission_denied"
    assert wallet_cents(ann) == 20_000
    assert reconcile().ok


def test_a_loan_paid_out_or_already_withdrawn_cannot_be_withdrawn(disbursed, apply, make_lenders, users):
    (ann,) = make_lenders(1, 20_000)
    paid_out = disbursed([(ann, 5_000)])
    gone = apply()
    cancel(as_("borrower", users), gone, key="cancel-d")

    assert cancel(as_("staff", users), paid_out, key="cancel-e").status_code == 409
    assert cancel(as_("borrower", users), gone, key="cancel-f").json()["error"]["code"] == "invalid_state"
    assert LoanEvent.objects.filter(to_status=S.CANCELLED).count() == 1


def test_a_cancellation_replayed_cancels_once_and_another_body_under_the_key_is_a_409(apply, users):
    loan = apply()
    client = as_("borrower", users)

    first = cancel(client, loan, {"reason": "sold the cow"}, key="cancel-g")
    again = cancel(client, loan, {"reason": "sold the cow"}, key="cancel-g")
    other = cancel(client, loan, {"reason": "moved"}, key="cancel-g")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert other.status_code == 409
    assert LoanEvent.objects.filter(loan=loan, to_status=S.CANCELLED).count() == 1


# --- GET /me/loans/ ---------------------------------------------------------------------------------


ME = "/api/v1/me/loans/"


def test_a_borrower_follows_every_loan_of_theirs_newest_first_with_its_step(apply, disbursed, make_lenders, users):
    (ann,) = make_lenders(1, 20_000)
    repaying = disbursed([(ann, 5_000)], repayments=2)
    rejected = apply(purpose="A stall")
    loan_submit(loan=rejected, actor=users["officer"])
    loan_reject(loan=rejected, actor=users["staff"], reason="no business plan")
    draft = apply(purpose="A bicycle")
    theirs = loan_apply(actor=users["other_borrower"], borrower=users["other_borrower"].borrower_profile, **DRAFT)

    rows = as_("borrower", users).get(ME).json()["results"]

    assert [(r["id"], r["status"], r["step"]) for r in rows] == [
        (draft.pk, "draft", "application"),
        (rejected.pk, "rejected", "ended"),
        (repaying.pk, "paying_back", "repayment"),
    ]
    assert rows[1]["status_reason"] == "no business plan"
    assert rows[1]["next_step"] == "Not approved: see the reason."
    assert rows[2]["next_due_date"] == repaying.installments.first().due_date.isoformat()
    assert rows[0]["next_due_date"] is None
    assert [r["id"] for r in as_("other_borrower", users).get(ME).json()["results"]] == [theirs.pk]
    assert as_("officer", users).get(ME).json()["results"] == []  # not a borrower: no loans of their own


def test_my_loans_filter_by_status(apply, users):
    draft = apply()
    submitted = loan_submit(loan=apply(), actor=users["officer"])

    rows = as_("borrower", users).get(ME, {"status": "submitted"}).json()["results"]

    assert [r["id"] for r in rows] == [submitted.pk]
    assert draft.pk not in [r["id"] for r in rows]


def test_my_loans_cost_the_same_queries_for_one_loan_or_five(apply, users):
    client = as_("borrower", users)
    apply()
    client.get(ME)  # warm: the user's partner-staff lookup is cached after the first request
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(ME).json()["results"]) == 1
    for _ in range(4):
        loan_submit(loan=apply(), actor=users["officer"])
    with CaptureQueriesContext(connection) as five:
        rows = client.get(ME).json()["results"]

    assert len(rows) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def test_my_loans_need_a_caller_and_a_key_needs_loans_read(apply, users):
    apply()

    assert as_("anonymous", users).get(ME).status_code == 401
    assert as_("key_without_scope", users, ("wallet:read",)).get(ME).status_code == 403
    assert len(as_("key_without_scope", users, ("loans:read",)).get(ME).json()["results"]) == 1


def test_my_loans_are_paginated_by_cursor(apply, users):
    loans = [apply() for _ in range(3)]
    client = as_("borrower", users)

    first = client.get(ME, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [r["id"] for r in first["results"] + second["results"]] == [loan.pk for loan in reversed(loans)]
    assert second["next"] is None


def test_a_published_loans_deadline_is_in_my_list(listed, users):
    loan = listed(fundraising_days=30)

    (row,) = as_("borrower", users).get(ME).json()["results"]

    assert (row["id"], row["step"], row["fundraising_deadline"]) == (loan.pk, "fundraising", "2026-02-04")
    assert row["next_step"] == "Listed: lenders are funding it."
