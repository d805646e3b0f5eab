"""POST /api/v1/loans/<id>/{approve,reject,publish,disburse,refund,write-off}/: staff and the loan's field partner
move it along, platform staff alone refund and write off; a loan the caller cannot see is a 404, one they see but
may not act on a 403, a bad body a 400, the wrong state a 409; each action acts once per Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from lending.api.keys import api_key_create
from lending.ledger.models import Journal
from lending.ledger.reconcile import reconcile
from lending.loans.applications import loan_approve, loan_submit
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderSettlement, Loan, LoanEvent
from tests.api import cast
from tests.loans import START, buy, wallet_cents

pytestmark = pytest.mark.django_db
borrower, users = cast.borrower, cast.users  # fixtures: a borrower who logs in, and everyone else
S = Loan.Status
WHO = ["borrower", "other_borrower", "lender", "anonymous", "officer", "other_officer", "staff", "key_without_scope"]


def as_(who: str, users: dict) -> APIClient:
    client = APIClient()
    if who == "key_without_scope":  # platform staff's key, but for reading only
        _, key = api_key_create(user=users["staff"], name="reader", scopes=["loans:read", "repayments:write"])
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    elif who != "anonymous":
        client.force_authenticate(users[who])
    return client


def act(client: APIClient, loan: Loan, action: str, body: dict | None = None, key: str = "act-0001"):
    return client.post(f"/api/v1/loans/{loan.pk}/{action}/", body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def status_of(loan: Loan) -> str:
    loan.refresh_from_db()
    return loan.status


@pytest.fixture
def submitted(apply, officer):
    def make(**overrides) -> Loan:
        loan = apply(**overrides)
        return loan_submit(loan=loan, actor=officer, on=START)

    return make


@pytest.fixture
def approved(submitted, officer):
    def make(**overrides) -> Loan:
        return loan_approve(loan=submitted(**overrides), actor=officer, on=START)

    return make


@pytest.fixture
def funded(listed, make_lenders):
    def make() -> Loan:
        ann, ben = make_lenders(2, 50_000)
        loan = listed(amount_cents=15_000, repayments=3)
        buy(loan, [(ann, 10_000), (ben, 5_000)])
        assert status_of(loan) == S.FUNDED
        return loan

    return make


# --- approve --------------------------------------------------------------------------------------


def test_the_partner_approves_a_submitted_loan_with_a_reason_in_the_audit_trail(submitted, users):
    loan = submitted()

    response = act(as_("officer", users), loan, "approve", {"reason": "references checked"})

    body = response.json()
    assert response.status_code == 200, body
    assert (body["id"], body["status"], body["schedule"]) == (loan.pk, "approved", [])
    event = loan.events.last()
    assert (event.to_status, event.actor_id, event.reason) == (S.APPROVED, users["officer"].pk, "references checked")


@pytest.mark.parametrize(
    ("who", "code"),
    [("borrower", 403), ("other_borrower", 404), ("lender", 404), ("anonymous", 401), ("officer", 200),
     ("other_officer", 404), ("staff", 200), ("key_without_scope", 403)],
)  # fmt: skip
def test_who_may_approve_an_unlisted_loan(submitted, users, who, code):
    loan = submitted()

    response = act(as_(who, users), loan, "approve")

    assert response.status_code == code, response.json()
    assert status_of(loan) == (S.APPROVED if code == 200 else S.SUBMITTED)
    if code == 404:
        assert response.json()["error"]["code"] == "not_found"
        assert "amount_cents" not in response.json()


@pytest.mark.parametrize(("who", "code"), [("lender", 403), ("other_officer", 403), ("borrower", 403), ("staff", 409)])
def test_a_listed_loan_is_seen_by_all_but_approved_by_none_of_them(listed, users, who, code):
    loan = listed()

    response = act(as_(who, users), loan, "approve")

    assert response.status_code == code
    assert response.json()["error"]["code"] == ("permission_denied" if code == 403 else "invalid_state")
    assert status_of(loan) == S.FUNDRAISING


def test_a_key_with_loans_review_approves(submitted, users):
    loan = submitted()
    _, key = api_key_create(user=users["officer"], name="MIS", scopes=["loans:review"])

    response = APIClient().post(f"/api/v1/loans/{loan.pk}/approve/", {}, format="json",
                                HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_IDEMPOTENCY_KEY="mis-approve-1")  # fmt: skip

    assert response.status_code == 200
    assert status_of(loan) == S.APPROVED


def test_a_draft_cannot_be_approved(apply, users):
    loan = apply()

    response = act(as_("staff", users), loan, "approve")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    assert status_of(loan) == S.DRAFT


def test_an_approval_replayed_approves_once_and_another_body_under_the_key_is_a_409(submitted, users):
    loan = submitted()
    client = as_("officer", users)

    first = act(client, loan, "approve", {"reason": "ok"}, key="approve-1")
    again = act(client, loan, "approve", {"reason": "ok"}, key="approve-1")
    other = act(client, loan, "approve", {"reason": "different"}, key="approve-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert LoanEvent.objects.filter(loan=loan, to_status=S.APPROVED).count() == 1


def test_an_action_without_an_idempotency_key_is_a_400_and_does_nothing(submitted, users):
    loan = submitted()

    response = as_("officer", users).post(f"/api/v1/loans/{loan.pk}/approve/", {}, format="json")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert status_of(loan) == S.SUBMITTED


def test_an_overlong_reason_is_a_400_naming_it(submitted, users):
    loan = submitted()

    response = act(as_("officer", users), loan, "approve", {"reason": "x" * 501})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert status_of(loan) == S.SUBMITTED


def test_an_unknown_loan_is_a_404(users):
    assert act(as_("staff", users), Loan(pk=999_999), "approve").status_code == 404


# --- reject ---------------------------------------------------------------------------------------


def test_staff_reject_with_a_reason_the_borrower_can_read(submitted, users):
    loan = submitted()

    response = act(as_("staff", users), loan, "reject", {"reason": "no repayment capacity"})

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    event = loan.events.last()
    assert (event.to_status, event.actor_id, event.reason) == (S.REJECTED, users["staff"].pk, "no repayment capacity")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 12 * "no " * 50}])
def test_a_rejection_without_a_good_reason_is_a_400_and_changes_nothing(submitted, users, body):
    loan = submitted()

    response = act(as_("officer", users), loan, "reject", body)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert status_of(loan) == S.SUBMITTED


def test_a_lender_without_a_reason_is_refused_as_a_lender_not_for_the_reason(listed, users):
    response = act(as_("lender", users), listed(), "reject")

    assert response.status_code == 403


def test_an_approved_loan_cannot_be_rejected(approved, users):
    loan = approved()

    response = act(as_("staff", users), loan, "reject", {"reason": "changed our mind"})

    assert response.status_code == 409
    assert status_of(loan) == S.APPROVED


# --- publish --------------------------------------------------------------------------------------


def test_publishing_lists_an_approved_loan_from_today(approved, users):
    loan = approved(fundraising_days=45)

    response = act(as_("officer", users), loan, "publish")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "fundraising"
    assert body["fundraising_deadline"] == (timezone.localdate() + timedelta(days=45)).isoformat()
    assert APIClient().get(f"/api/v1/loans/{loan.pk}/").status_code == 200  # now public


@pytest.mark.parametrize(("who", "code"), [("other_officer", 404), ("borrower", 403), ("lender", 404), ("staff", 200)])
def test_who_may_publish(approved, users, who, code):
    loan = approved()

    assert act(as_(who, users), loan, "publish").status_code == code
    assert status_of(loan) == (S.FUNDRAISING if code == 200 else S.APPROVED)


def test_a_submitted_loan_cannot_be_published(submitted, users):
    loan = submitted()

    response = act(as_("officer", users), loan, "publish")

    assert response.status_code == 409
    assert status_of(loan) == S.SUBMITTED


# --- disburse -------------------------------------------------------------------------------------


def test_disbursing_pays_out_today_and_fixes_the_schedule(funded, users):
    loan = funded()

    response = act(as_("officer", users), loan, "disburse")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["disbursed_on"]) == ("paying_back", timezone.localdate().isoformat())
    assert [row["principal_cents"] for row in body["schedule"]] == [5_000, 5_000, 5_000]
    assert Journal.objects.filter(idempotency_key=f"loan:{loan.pk}:disbursement").count() == 1


def test_disbursing_on_a_past_date_with_a_first_repayment_date(funded, users):
    loan = funded()

    response = act(as_("staff", users), loan, "disburse",
                   {"disbursed_on": "2026-01-10", "first_repayment_date": "2026-02-20"})  # fmt: skip

    body = response.json()
    assert response.status_code == 200, body
    assert body["disbursed_on"] == "2026-01-10"
    assert [row["due_date"] for row in body["schedule"]] == ["2026-02-20", "2026-03-20", "2026-04-20"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disbursed_on": "tomorrow"}, "disbursed_on"),
        ({"disbursed_on": "FUTURE"}, "disbursed_on"),
        ({"disbursed_on": "2026-01-04"}, "disbursed_on"),  # the day before it was funded
        ({"disbursed_on": "2026-01-10", "first_repayment_date": "2026-01-09"}, "first_repayment_date"),
        ({"first_repayment_date": "2026-02-30"}, "first_repayment_date"),
    ],
)
def test_a_bad_disbursement_date_is_a_400_naming_it_and_pays_nothing(funded, users, body, field):
    loan = funded()
    if body.get("disbursed_on") == "FUTURE":
        body = {"disbursed_on": (timezone.localdate() + timedelta(days=1)).isoformat()}

    response = act(as_("staff", users), loan, "disburse", body)

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert status_of(loan) == S.FUNDED
    assert not Journal.objects.filter(kind="disbursement").exists()


@pytest.mark.parametrize(("who", "code"), [("other_officer", 403), ("lender", 403), ("borrower", 403),
                                           ("anonymous", 401), ("key_without_scope", 403)])  # fmt: skip
def test_who_may_not_disburse(funded, users, who, code):
    loan = funded()

    assert act(as_(who, users), loan, "disburse").status_code == code
    assert status_of(loan) == S.FUNDED


def test_a_loan_still_fundraising_cannot_be_disbursed(listed, users):
    loan = listed()

    response = act(as_("staff", users), loan, "disburse")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    assert status_of(loan) == S.FUNDRAISING


def test_a_disbursement_replayed_pays_out_once(funded, users):
    loan = funded()
    client = as_("officer", users)

    first = act(client, loan, "disburse", key="disburse-1")
    again = act(client, loan, "disburse", key="disburse-1")
    other = act(client, loan, "disburse", {"disbursed_on": "2026-01-10"}, key="disburse-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert other.status_code == 409
    assert Journal.objects.filter(kind="disbursement").count() == 1


# --- refund ---------------------------------------------------------------------------------------


def test_staff_refund_a_disbursed_loan_and_the_lenders_get_their_principal_back(disbursed, make_lenders, users):
    ann, ben = make_lenders(2, 50_000)
    loan = disbursed([(ann, 10_000), (ben, 5_000)], repayments=3)

    response = act(as_("staff", users), loan, "refund", {"reason": "partner error"})

    assert response.status_code == 200
    assert response.json()["status"] == "refunded"
    assert [wallet_cents(ann), wallet_cents(ben)] == [50_000, 50_000]
    assert loan.events.last().reason == "partner error"
    assert reconcile().ok


@pytest.mark.parametrize(
    ("who", "code"),
    [("officer", 403), ("other_officer", 403), ("lender", 403), ("borrower", 403), ("anonymous", 401),
     ("key_without_scope", 403)],
)  # fmt: skip
def test_only_platform_staff_refund(funded, users, who, code):
    loan = funded()

    response = act(as_(who, users), loan, "refund", {"reason": "partner error"})

    assert response.status_code == code
    assert status_of(loan) == S.FUNDED


def test_a_refund_needs_a_reason_and_a_loan_that_was_funded(funded, submitted, users):
    client = as_("staff", users)
    loan = funded()

    no_reason = act(client, loan, "refund", {}, key="refund-1")
    not_funded = act(client, submitted(), "refund", {"reason": "oops"}, key="refund-2")

    assert no_reason.status_code == 400
    assert list(no_reason.json()["error"]["fields"]) == ["reason"]
    assert not_funded.status_code == 409
    assert status_of(loan) == S.FUNDED


def test_a_refund_replayed_refunds_once(funded, users):
    loan = funded()
    client = as_("staff", users)

    first = act(client, loan, "refund", {"reason": "duplicate"}, key="refund-3")
    again = act(client, loan, "refund", {"reason": "duplicate"}, key="refund-3")
    other = act(client, loan, "refund", {"reason": "another"}, key="refund-3")

    assert (first.status_code, again.status_code, other.status_code) == (200, 200, 409)
    assert again.json() == first.json()
    assert Journal.objects.filter(kind="refund").count() == 1


# --- write off ------------------------------------------------------------------------------------


@pytest.fixture
def paying_back(disbursed, make_lenders):
    def make():
        ann, ben = make_lenders(2, 50_000)
        return disbursed([(ann, 10_000), (ben, 5_000)], repayments=3), ann, ben

    return make


def test_staff_write_off_a_paying_back_loan_and_the_ledger_still_reconciles(paying_back, users):
    loan, ann, ben = paying_back()

    response = act(as_("staff", users), loan, "write-off", {"reason": "borrower died"})

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "defaulted"
    loan.refresh_from_db()
    assert (loan.written_off_cents, loan.ended_on) == (15_000, timezone.localdate())
    written = dict(LenderSettlement.objects.filter(loan=loan).values_list("lender_id", "principal_cents"))
    assert written == {ann.pk: 10_000, ben.pk: 5_000}
    event = loan.events.last()
    assert (event.to_status, event.actor_id, event.reason) == (S.DEFAULTED, users["staff"].pk, "borrower died")
    call_command("reconcile")


@pytest.mark.parametrize(("who", "code"), [("officer", 403), ("other_officer", 403), ("lender", 403),
                                           ("borrower", 403), ("other_borrower", 403), ("anonymous", 401),
                                           ("key_without_scope", 403)])  # fmt: skip
def test_only_platform_staff_write_off(paying_back, users, who, code):
    loan, _, _ = paying_back()

    assert act(as_(who, users), loan, "write-off", {"reason": "fraud"}).status_code == code
    assert status_of(loan) == S.PAYING_BACK
    assert not LenderSettlement.objects.exists()


def test_a_write_off_needs_a_reason_and_a_paying_back_loan(paying_back, funded, users):
    client = as_("staff", users)
    loan, _, _ = paying_back()

    no_reason = act(client, loan, "write-off", {"reason": " "}, key="wo-1")
    not_disbursed = act(client, funded(), "write-off", {"reason": "fraud"}, key="wo-2")

    assert no_reason.status_code == 400
    assert list(no_reason.json()["error"]["fields"]) == ["reason"]
    assert not_disbursed.status_code == 409
    assert not_disbursed.json()["error"]["code"] == "invalid_state"
    assert status_of(loan) == S.PAYING_BACK
    assert not Journal.objects.filter(kind="write_off").exists()


def test_a_write_off_replayed_writes_off_once_and_a_second_one_is_a_409(paying_back, users):
    loan, _, _ = paying_back()
    client = as_("staff", users)

    first = act(client, loan, "write-off", {"reason": "fraud"}, key="wo-3")
    again = act(client, loan, "write-off", {"reason": "fraud"}, key="wo-3")
    conflict = act(client, loan, "write-off", {"reason": "other"}, key="wo-3")
    second = act(client, loan, "write-off", {"reason": "fraud"}, key="wo-4")

    assert (first.status_code, again.status_code, conflict.status_code, second.status_code) == (200, 200, 409, 409)
    assert again.json() == first.json()
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert second.json()["error"]["code"] == "invalid_state"
    assert Journal.objects.filter(kind="write_off").count() == 1


def test_the_whole_review_over_the_api_from_submitted_to_written_off(submitted, make_lenders, users):
    loan = submitted(amount_cents=5_000, repayments=2)
    officer, staff = as_("officer", users), as_("staff", users)
    assert act(officer, loan, "approve", key="k1").json()["status"] == "approved"
    assert act(officer, loan, "publish", key="k2").json()["status"] == "fundraising"
    (ann,) = make_lenders(1, 10_000)
    share_purchase(loan=loan, lender=ann, amount_cents=5_000, idempotency_key="ann-1")
    assert act(officer, loan, "disburse", key="k4").json()["status"] == "paying_back"
    assert act(staff, loan, "write-off", {"reason": "gone"}, key="k5").json()["status"] == "defaulted"
    assert [e.to_status for e in loan.events.all()] == [S.SUBMITTED, S.APPROVED, S.FUNDRAISING, S.FUNDED,
                                                        S.PAYING_BACK, S.DEFAULTED]  # fmt: skip
