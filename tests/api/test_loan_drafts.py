"""POST /api/v1/loans/drafts/ and /api/v1/loans/<id>/submit/: a field partner's system applies for its
borrowers; bad fields are 400s naming them, another partner's borrower does not exist, a key needs loans:write."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import services as people
from lending.api.keys import api_key_create
from lending.loans.models import Loan, LoanEvent

pytestmark = pytest.mark.django_db
DRAFT = {"amount_cents": 60_000, "currency": "USD", "purpose": "Buy a dairy cow", "sector": "agriculture",
         "repayments": 12}  # fmt: skip


@pytest.fixture
def api(officer) -> APIClient:
    client = APIClient()
    client.force_authenticate(officer)
    return client


def test_a_partner_posts_a_draft_and_submits_it(api, borrower, partner):
    created = api.post("/api/v1/loans/drafts/", {**DRAFT, "borrower": borrower.pk, "repayment_frequency": "months"},
                       format="json", HTTP_IDEMPOTENCY_KEY="draft-0001")  # fmt: skip

    body = created.json()
    assert created.status_code == 201, body
    assert (body["status"], body["amount_cents"], body["partner"], body["country"]) == (
        "draft",
        60_000,
        partner.pk,
        "UG",
    )
    submitted = api.post(f"/api/v1/loans/{body['id']}/submit/", format="json", HTTP_IDEMPOTENCY_KEY="submit-0001")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert LoanEvent.objects.filter(loan_id=body["id"], to_status="submitted").count() == 1
    again = api.post(f"/api/v1/loans/{body['id']}/submit/", format="json", HTTP_IDEMPOTENCY_KEY="submit-0002")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


def test_a_draft_is_private_to_its_partner_and_invisible_to_others(api, borrower):
    body = api.post("/api/v1/loans/drafts/", {**DRAFT, "borrower": borrower.pk}, format="json",
                    HTTP_IDEMPOTENCY_KEY="draft-0002").json()  # fmt: skip

    assert api.get(f"/api/v1/loans/{body['id']}/").status_code == 200
    assert APIClient().get(f"/api/v1/loans/{body['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_cents": 1_000}, "amount_cents"),  # not a multiple of the $25 share
        ({"amount_cents": "lots"}, "amount_cents"),
        ({"currency": "XXX"}, "currency"),
        ({"sector": "fishing"}, "sector"),
        ({"repayments": 0}, "repayments"),
        ({"purpose": ""}, "purpose"),
        ({"repayment_frequency": "fortnights"}, "repayment_frequency"),
        ({"borrower": 999_999}, "borrower"),
    ],
)
def test_a_bad_draft_is_a_400_naming_the_field_and_creates_nothing(api, borrower, change, field):
    response = api.post("/api/v1/loans/drafts/", {**DRAFT, "borrower": borrower.pk, **change}, format="json",
                        HTTP_IDEMPOTENCY_KEY="draft-0003")  # fmt: skip

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Loan.objects.exists()


def test_another_partners_borrower_is_not_one_you_may_apply_for(api):
    other = people.field_partner_create(name="Other Partner", country="KE")
    theirs = people.borrower_create(display_name="Someone", country="KE", partner=other)

    response = api.post("/api/v1/loans/drafts/", {**DRAFT, "borrower": theirs.pk}, format="json",
                        HTTP_IDEMPOTENCY_KEY="draft-0004")  # fmt: skip

    assert response.status_code == 400
    assert "borrower" in response.json()["error"]["fields"]
    assert not Loan.objects.exists()


def test_a_key_needs_loans_write_and_a_replay_creates_one_draft(officer, borrower):
    _, reader = api_key_create(user=officer, name="reader", scopes=["loans:read"])
    _, writer = api_key_create(user=officer, name="writer", scopes=["loans:write"])
    body = {**DRAFT, "borrower": borrower.pk}

    refused = APIClient().post("/api/v1/loans/drafts/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {reader}",
                               HTTP_IDEMPOTENCY_KEY="draft-0005")  # fmt: skip
    first = APIClient().post("/api/v1/loans/drafts/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {writer}",
                             HTTP_IDEMPOTENCY_KEY="draft-0005")  # fmt: skip
    again = APIClient().post("/api/v1/loans/drafts/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {writer}",
                             HTTP_IDEMPOTENCY_KEY="draft-0005")  # fmt: skip

    assert refused.status_code == 403
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Loan.objects.count() == 1
