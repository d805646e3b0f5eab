"""POST /api/v1/repayment-batches/: a field partner's repayments as JSON rows or a CSV file, recorded whole
or not at all, with every row's problem listed; replays record nothing twice; a key needs its scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts import services as people
from lending.api.keys import api_key_create
from lending.ledger.reconcile import reconcile
from lending.loans.models import Repayment
from tests.loans import START, wallet_cents

URL = "/api/v1/repayment-batches/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def loans(make_lenders, disbursed):
    lenders = make_lenders(2, 100_000)
    first = disbursed([(lenders[0], 2_500), (lenders[1], 7_500)], repayments=4)
    second = disbursed([(lenders[0], 5_000)], repayments=2)
    return first, second, lenders


@pytest.fixture
def api(officer) -> APIClient:
    client = APIClient()
    client.force_authenticate(officer)
    return client


def _row(loan, cents, reference, on=START):
    return {"loan": loan.pk, "amount_cents": cents, "currency": "USD", "received_on": on.isoformat(),
            "reference": reference}  # fmt: skip


def test_a_json_batch_is_recorded_and_split_to_each_lender(api, loans):
    first, second, (small, big) = loans

    response = api.post(URL, {"rows": [_row(first, 2_000, "mis-1"), _row(second, 1_000, "mis-2")]}, format="json",
                        HTTP_IDEMPOTENCY_KEY="batch-0001")  # fmt: skip

    assert response.status_code == 201, response.json()
    assert [(r["loan"], r["amount_cents"]) for r in response.json()] == [(first.pk, 2_000), (second.pk, 1_000)]
    assert Repayment.objects.filter(source=Repayment.Source.PARTNER).count() == 2
    assert wallet_cents(small) == 100_000 - 2_500 - 5_000 + 500 + 1_000
    assert wallet_cents(big) == 100_000 - 7_500 + 1_500
    assert reconcile().ok


def test_one_bad_row_records_nothing_and_every_problem_is_listed_by_row_and_field(api, loans):
    first, second, (small, _) = loans
    rows = [
        _row(first, 2_000, "mis-1"),
        {**_row(second, 0, "mis-2"), "currency": "KES"},
        {**_row(first, 500, "mis-1"), "received_on": "2026-13-01"},
        {"loan": 999_999, "amount_cents": 100, "currency": "USD", "received_on": "2026-01-05", "reference": "mis-4"},
    ]

    response = api.post(URL, {"rows": rows}, format="json", HTTP_IDEMPOTENCY_KEY="batch-0002")

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid_batch"
    assert set(error["fields"]) == {
        "rows.2.amount_cents", "rows.2.currency", "rows.3.received_on", "rows.3.reference", "rows.4.loan"
    }  # fmt: skip
    assert not Repayment.objects.exists()
    assert wallet_cents(small) == 100_000 - 7_500


def test_a_csv_batch_is_recorded_like_json(api, loans):
    first, second, _ = loans
    text = (
        "loan,amount_cents,currency,received_on,reference\n"
        f"{first.pk},2000,usd,{START.isoformat()},csv-1\n{second.pk},1000,USD,{START.isoformat()},csv-2\n"
    )
    upload = SimpleUploadedFile("batch.csv", text.encode(), content_type="text/csv")

    response = api.post(URL, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="batch-0003")

    assert response.status_code == 201, response.json()
    assert Repayment.objects.count() == 2


def test_a_csv_without_the_header_is_refused_naming_it(api, loans):
    upload = SimpleUploadedFile("batch.csv", b"1,2000,USD,2026-01-05,x\n", content_type="text/csv")

    response = api.post(URL, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="batch-0004")

    assert response.status_code == 400
    assert "header" in response.json()["error"]["fields"]
    assert not Repayment.objects.exists()


def test_the_same_batch_sent_again_records_nothing_twice_even_under_a_new_key(api, loans):
    first, _, _ = loans
    body = {"rows": [_row(first, 2_000, "mis-9")]}

    once = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-0005")
    replay = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-0005")
    new_key = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-0006")

    assert once.status_code == replay.status_code == new_key.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert new_key.json()[0]["id"] == once.json()[0]["id"]  # the row's reference is its own key
    assert Repayment.objects.count() == 1


def test_another_partners_loan_is_not_yours_to_report(loans):
    first, _, _ = loans
    other = people.field_partner_create(name="Other Partner", country="KE")
    stranger = people.partner_staff_add(partner=other, email="stranger@example.org", password=None, full_name="S").user
    client = APIClient()
    client.force_authenticate(stranger)

    response = client.post(URL, {"rows": [_row(first, 2_000, "x-1")]}, format="json", HTTP_IDEMPOTENCY_KEY="b-0007")

    assert response.status_code == 400
    assert "rows.1.loan" in response.json()["error"]["fields"]
    assert not Repayment.objects.exists()


def test_an_api_key_needs_the_repayments_scope(officer, loans):
    first, _, _ = loans
    _, read_only = api_key_create(user=officer, name="reader", scopes=["loans:read"])
    _, writer = api_key_create(user=officer, name="uploader", scopes=["repayments:write"])
    body = {"rows": [_row(first, 2_000, "key-1")]}

    refused = APIClient().post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {read_only}",
                               HTTP_IDEMPOTENCY_KEY="batch-0008")  # fmt: skip
    allowed = APIClient().post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {writer}",
                               HTTP_IDEMPOTENCY_KEY="batch-0008")  # fmt: skip

    assert refused.status_code == 403
    assert "repayments:write" in refused.json()["error"]["message"]
    assert allowed.status_code == 201
    assert Repayment.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"rows": "not a list"}, {"rows": []}, {"rows": ["not an object"]}],
)
def test_a_malformed_batch_is_a_400_and_writes_nothing(api, loans, body):
    response = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-0009")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    assert not Repayment.objects.exists()


def test_a_loan_of_another_partner_is_reported_as_absent_without_its_currency_or_status(listed):
    """Partner staff learn nothing of loans they may not post for: not their currency, not their state."""
    other = people.field_partner_create(name="Elsewhere", country="UG")
    stranger = people.partner_staff_add(partner=other, email="stranger@example.org", password="x-elsewhere-pass-9",
                                        full_name="Str Anger").user  # fmt: skip
    loan = listed(amount_cents=5_000)  # officer's partner, fundraising: not paying back
    row = {"loan": loan.pk, "amount_cents": 100, "currency": "EUR", "received_on": "2026-01-05", "reference": "r-1"}

    client = APIClient()
    client.force_authenticate(stranger)
    response = client.post(URL, {"rows": [row]}, format="json", HTTP_IDEMPOTENCY_KEY="leak-1")

    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert fields == {"rows.1.loan": [f"no loan {loan.pk} that you may post repayments for"]}
