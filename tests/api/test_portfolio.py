"""GET /api/v1/portfolio/: each loan a lender lent to, what came back, what is outstanding, what is due next;
only their own, filtered by loan status, in a constant number of queries; a key needs wallet:read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from lending.api.keys import api_key_create
from lending.loans.models import Installment
from lending.loans.repayments import repayment_record
from tests.loans import START

pytestmark = pytest.mark.django_db
URL = "/api/v1/portfolio/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_lender_sees_each_loan_with_what_came_back_and_what_is_due_next(make_lenders, disbursed, listed):
    ann, ben = make_lenders(2, 100_000)
    loan = disbursed([(ann, 7_500), (ben, 2_500)], repayments=4)
    repayment_record(loan=loan, amount_cents=2_500, currency="USD", received_on=START, source="staff",
                     idempotency_key="pay-1", actor=None)  # fmt: skip

    rows = _client(ann).get(URL).json()["results"]

    (row,) = rows
    second = Installment.objects.get(loan=loan, number=2)
    assert (row["loan"], row["status"], row["lent_cents"]) == (loan.pk, "paying_back", 7_500)
    assert (row["repaid_cents"], row["outstanding_cents"]) == (1_875, 5_625)
    assert row["next_due_date"] == second.due_date.isoformat()
    assert [r["loan"] for r in _client(ben).get(URL).json()["results"]] == [loan.pk]


def test_the_portfolio_filters_by_status_and_costs_the_same_queries_for_one_loan_or_five(make_lenders, disbursed):
    (ann,) = make_lenders(1, 100_000)
    disbursed([(ann, 2_500)], repayments=2)
    client = _client(ann)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(4):
        disbursed([(ann, 2_500)], repayments=2)
    with CaptureQueriesContext(connection) as five:
        body = client.get(URL).json()

    assert len(body["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)
    assert client.get(URL, {"loan__status": "repaid"}).json()["results"] == []


def test_anonymous_callers_have_no_portfolio_and_a_key_needs_wallet_read(make_lenders):
    (ann,) = make_lenders(1, 100_000)
    _, metrics_only = api_key_create(user=ann, name="metrics", scopes=["metrics:read"])
    _, reader = api_key_create(user=ann, name="reader", scopes=["wallet:read"])

    assert APIClient().get(URL).status_code == 401  # no credentials: 401 with WWW-Authenticate
    assert APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {metrics_only}").status_code == 403
    assert APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {reader}").status_code == 200
