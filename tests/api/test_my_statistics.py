"""GET /api/v1/me/statistics/: a lender's money figures, live from their positions (lent, repaid, outstanding,
defaulted, refunded, loans by status), and their default and delinquency rates from the latest nightly close
next to the platform's of the same date; lenders only, a key needs wallet:read, constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as people
from lending.api.keys import api_key_create
from lending.loans.default import loan_refund, loan_write_off
from lending.loans.repayments import repayment_record
from lending.metrics.formulas import FORMULA_VERSION
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import snapshot_portfolio
from tests.loans import START, buy

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/statistics/"
RATES = ("default_rate_by_amount", "default_rate_by_count", "delinquency_rate", "par_30", "repayment_rate")


def _client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _bearer(user, scopes) -> APIClient:
    _, key = api_key_create(user=user, name="test", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _pay(loan, cents, on, key):
    repayment_record(loan=loan, amount_cents=cents, currency="USD", received_on=on, source="staff",
                     idempotency_key=key, actor=None)  # fmt: skip


@pytest.fixture
def book(make_lenders, listed, disbursed, staff):
    """Ann's stakes in a loan of each fate; Ben shares one of them and has one of his own."""
    ann, ben = make_lenders(2, 100_000)
    paying = disbursed([(ann, 7_500), (ben, 2_500)], purpose="paying", repayments=4)
    _pay(paying, 2_500, START, "paying-1")  # Ann gets 1,875 of principal back
    lost = disbursed([(ann, 5_000)], purpose="lost", repayments=2)
    loan_write_off(loan=lost, actor=staff, reason="the borrower left", on=START + timedelta(days=10))
    _pay(lost, 1_000, START + timedelta(days=20), "lost-1")  # a recovery, all Ann's
    refunded = disbursed([(ann, 2_500)], purpose="refunded", repayments=2)
    loan_refund(loan=refunded, actor=staff, reason="partner error", on=START + timedelta(days=5))
    repaid = disbursed([(ann, 2_500)], purpose="repaid", repayments=1)
    _pay(repaid, 2_500, START + timedelta(days=25), "repaid-1")
    fundraising = listed(purpose="fundraising", amount_cents=10_000)
    buy(fundraising, [(ann, 2_500)])
    bens = disbursed([(ben, 2_500)], purpose="bens", repayments=1)
    _pay(bens, 2_500, START + timedelta(days=25), "bens-1")
    return {"ann": ann, "ben": ben}


def test_a_lender_sees_their_money_figures_at_once_and_null_rates_before_the_first_close(book):
    body = _client(book["ann"]).get(URL).json()

    assert {k: v for k, v in body.items() if k.endswith("_cents")} == {
        "lent_cents": 7_500 + 5_000 + 2_500 + 2_500 + 2_500,
        "repaid_cents": 1_875 + 2_500,
        "interest_received_cents": 0,
        "outstanding_cents": 5_625 + 2_500,  # the paying loan, and the fundraising one
        "defaulted_cents": 4_000,  # 5,000 written off, 1,000 recovered since
        "written_off_cents": 5_000,
        "recovered_cents": 1_000,
        "refunded_cents": 2_500,
    }
    assert body["currency"] == "USD"
    assert body["loans"] == 5
    assert body["loans_by_status"] == {
        "defaulted": {"count": 1, "lent_cents": 5_000},
        "fundraising": {"count": 1, "lent_cents": 2_500},
        "paying_back": {"count": 1, "lent_cents": 7_500},
        "refunded": {"count": 1, "lent_cents": 2_500},
        "repaid": {"count": 1, "lent_cents": 2_500},
    }
    assert body["as_of"] is None
    assert body["formula_version"] == FORMULA_VERSION
    assert body["mine"] == body["platform"] == dict.fromkeys(RATES)


def test_rates_come_from_the_latest_close_mine_next_to_the_platforms(book):
    close = START + timedelta(days=70)  # the paying loan's second installment (March 5) is 11 days late
    snapshot_portfolio(close - timedelta(days=30))
    snapshot_portfolio(close)

    body = _client(book["ann"]).get(URL).json()

    assert body["as_of"] == close.isoformat()
    mine, platform = body["mine"], body["platform"]
    # Ann: ended 5,000 defaulted (4,000 still lost) + 2,500 repaid; Ben's own repaid loan counts for the platform only
    assert mine["default_rate_by_amount"] == pytest.approx(4_000 / 7_500, abs=1e-6)
    assert platform["default_rate_by_amount"] == pytest.approx(4_000 / 10_000, abs=1e-6)
    assert mine["default_rate_by_count"] == pytest.approx(1 / 2, abs=1e-6)
    assert platform["default_rate_by_count"] == pytest.approx(1 / 3, abs=1e-6)
    # 2,500 of the paying loan past due of its 7,500 outstanding; Ann's stake is three quarters of both
    assert mine["delinquency_rate"] == pytest.approx(1_875 / 5_625, abs=1e-6)
    assert platform["delinquency_rate"] == pytest.approx(2_500 / 7_500, abs=1e-6)
    series = _client(book["ann"]).get("/api/v1/metrics/series/", {"dimension": "lender", "end": close}).json()
    assert series["points"][-1]["default_rate_by_amount"] == mine["default_rate_by_amount"]


def _snapshot(on, dimension, key, **figures):
    PortfolioSnapshot.objects.create(as_of=on, dimension=dimension, key=key, currency="USD",
                                     formula_version=FORMULA_VERSION, **figures)  # fmt: skip


def test_a_lender_without_a_row_in_the_latest_close_gets_null_rates_and_the_platforms_of_that_date(book):
    ann = book["ann"]
    _snapshot(START, "platform", "", defaulted_balance=100, ended_amount=1_000)
    _snapshot(START, "lender", str(ann.pk), defaulted_balance=500, ended_amount=1_000)
    later = START + timedelta(days=1)
    _snapshot(later, "platform", "", defaulted_balance=200, ended_amount=1_000, amount_past_due=50,
              outstanding_principal=1_000)  # fmt: skip
    other = {"dimension": "platform", "key": "", "defaulted_balance": 9, "ended_amount": 10}
    PortfolioSnapshot.objects.create(as_of=later + timedelta(days=5), currency="USD",
                                     formula_version=FORMULA_VERSION + 1, **other)  # fmt: skip
    PortfolioSnapshot.objects.create(as_of=later + timedelta(days=6), currency="EUR",
                                     formula_version=FORMULA_VERSION, **other)  # fmt: skip

    body = _client(ann).get(URL).json()

    assert body["as_of"] == later.isoformat()  # rows of another formula version or currency are not read
    assert body["mine"] == dict.fromkeys(RATES)
    assert body["platform"]["default_rate_by_amount"] == 0.2
    assert body["platform"]["delinquency_rate"] == 0.05
    _snapshot(later, "lender", str(ann.pk), defaulted_balance=300, ended_amount=1_000)
    _snapshot(later, "lender", str(book["ben"].pk), defaulted_balance=700, ended_amount=1_000)
    assert _client(ann).get(URL).json()["mine"]["default_rate_by_amount"] == 0.3


def test_a_new_lender_sees_zeros(make_lenders):
    (newcomer,) = make_lenders(1, 5_000)

    body = _client(newcomer).get(URL).json()

    assert body["lent_cents"] == body["outstanding_cents"] == body["loans"] == 0
    assert body["loans_by_status"] == {}


def test_each_lender_sees_only_their_own_figures(book):
    body = _client(book["ben"]).get(URL).json()

    assert body["lent_cents"] == 2_500 + 2_500
    assert body["repaid_cents"] == 625 + 2_500
    assert body["loans_by_status"] == {
        "paying_back": {"count": 1, "lent_cents": 2_500},
        "repaid": {"count": 1, "lent_cents": 2_500},
    }


def test_the_statistics_cost_the_same_queries_for_one_loan_or_five(make_lenders, disbursed):
    (ann,) = make_lenders(1, 100_000)
    disbursed([(ann, 2_500)], repayments=2)
    snapshot_portfolio(START + timedelta(days=1))
    client = _client(ann)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(4):
        disbursed([(ann, 2_500)], repayments=2)
    with CaptureQueriesContext(connection) as five:
        body = client.get(URL).json()

    assert body["loans"] == 5
    assert len(five.captured_queries) == len(one.captured_queries) <= 3


@pytest.mark.parametrize(
    ("who", "status"),
    [("lender", 200), ("borrower", 403), ("officer", 403), ("staff", 403), ("anonymous", 401)],
)
def test_only_lenders_have_statistics(make_lenders, partner, officer, staff, who, status):
    (lender,) = make_lenders(1, 5_000)
    borrower = people.borrower_create(display_name="Bea", country="UG", partner=partner, email="bea@example.org",
                                      password="sunny-market-ledger-7").user  # fmt: skip
    user = {"lender": lender, "borrower": borrower, "officer": officer, "staff": staff, "anonymous": None}[who]

    response = _client(user).get(URL)

    assert response.status_code == status
    if status == 403 and user is not None:
        assert response.json()["error"]["message"] == "Only lenders have lending statistics."


def test_a_key_needs_wallet_read(make_lenders):
    (ann,) = make_lenders(1, 5_000)

    refused = _bearer(ann, ["metrics:read", "lending:write"]).get(URL)

    assert refused.status_code == 403
    assert "wallet:read" in refused.json()["error"]["message"]
    assert _bearer(ann, ["wallet:read"]).get(URL).status_code == 200


def test_statistics_are_read_only(make_lenders):
    (ann,) = make_lenders(1, 5_000)

    assert _client(ann).post(URL, {}, format="json").status_code == 405
