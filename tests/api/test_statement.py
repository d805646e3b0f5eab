"""GET /api/v1/wallet/statement/: a lender's wallet movements over a date range between opening and closing
balances, each with the balance after it, its journal and its loan; filtered by kind; as CSV on request;
bad dates, kinds or formats are a 400 naming the field; lenders only, their own wallet, constant queries."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as people
from lending.api.keys import api_key_create
from lending.api.statement import COLUMNS, JOURNAL_KINDS
from lending.ledger.chart import AccountType
from lending.ledger.models import Journal
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.repayments import repayment_record
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/wallet/statement/"


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


def _days_ago(days: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days), time(12)))


def deposit(lender, cents: int, days_ago: int, description: str = "Card deposit") -> Journal:
    return journal_post(
        idempotency_key=f"dep:{lender.pk}:{cents}:{days_ago}:{description}", kind="deposit", description=description,
        lines=[Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=lender, currency="USD"),
                    cents)],
        effective_at=_days_ago(days_ago),
    )  # fmt: skip


@pytest.fixture
def ann():
    return LenderFactory()


@pytest.fixture
def moves(ann, disbursed):
    """Ann deposits 10,000 ten days ago, lends 5,000 today and gets 2,500 back today."""
    deposit(ann, 10_000, 10)
    loan = disbursed([(ann, 5_000)], repayments=2)
    repayment_record(loan=loan, amount_cents=2_500, currency="USD", received_on=timezone.localdate(),
                     source="staff", idempotency_key="pay-1", actor=None)  # fmt: skip
    return loan


def test_a_statement_lists_each_movement_with_the_balance_after_it_and_its_loan(ann, moves):
    body = _client(ann).get(URL).json()

    today = timezone.localdate()
    assert (body["start"], body["end"]) == ((today - timedelta(days=90)).isoformat(), today.isoformat())
    assert (body["currency"], body["kind"]) == ("USD", [])
    assert (body["opening_balance_cents"], body["closing_balance_cents"]) == (0, 7_500)
    assert (body["total_in_cents"], body["total_out_cents"]) == (12_500, 5_000)
    rows = [(line["kind"], line["amount_cents"], line["balance_cents"], line["loan"]) for line in body["lines"]]
    assert rows == [
        ("deposit", 10_000, 10_000, None),
        ("share_purchase", -5_000, 5_000, moves.pk),  # the loan from the escrow account on the other side
        ("repayment", 2_500, 7_500, moves.pk),  # the loan from the journal's metadata
    ]
    journals = Journal.objects.filter(kind__in=["deposit", "share_purchase", "repayment"]).order_by("id")
    assert [line["journal"] for line in body["lines"]] == [j.pk for j in journals]
    assert body["lines"][0]["effective_at"].startswith((today - timedelta(days=10)).isoformat())
    assert body["lines"][1]["description"] == f"Loan {moves.pk}: 2 share(s)"


def test_the_opening_balance_carries_what_came_before_the_range(ann, moves):
    today = timezone.localdate()

    body = _client(ann).get(URL, {"start": today - timedelta(days=5), "end": today}).json()

    assert (body["opening_balance_cents"], body["closing_balance_cents"]) == (10_000, 7_500)
    assert [line["kind"] for line in body["lines"]] == ["share_purchase", "repayment"]
    before = _client(ann).get(URL, {"start": today - timedelta(days=30), "end": today - timedelta(days=11)}).json()
    assert (before["opening_balance_cents"], before["closing_balance_cents"], before["lines"]) == (0, 0, [])


def test_a_kind_filter_shows_those_lines_and_keeps_the_wallets_balances(ann, moves):
    only = _client(ann).get(URL, {"kind": "repayment"}).json()
    two = _client(ann).get(f"{URL}?kind=deposit&kind=share_purchase").json()

    assert [(line["kind"], line["balance_cents"]) for line in only["lines"]] == [("repayment", 7_500)]
    assert (only["opening_balance_cents"], only["closing_balance_cents"]) == (0, 7_500)
    assert (only["total_in_cents"], only["total_out_cents"], only["kind"]) == (2_500, 0, ["repayment"])
    assert [line["kind"] for line in two["lines"]] == ["deposit", "share_purchase"]
    assert two["kind"] == ["deposit", "share_purchase"]


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("ask", [{"query": {"format": "csv"}}, {"headers": {"HTTP_ACCEPT": "text/csv"}}])
def test_the_statement_downloads_as_csv_with_a_header_row(ann, moves, ask):
    today = timezone.localdate()

    response = _client(ann).get(URL, ask.get("query", {}), **ask.get("headers", {}))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    start = (today - timedelta(days=90)).isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="wallet-statement-{start}-{today}.csv"'
    header, *rows = _csv_rows(response)
    assert header == list(COLUMNS)
    assert [(r[1], r[3], r[4], r[5], r[7]) for r in rows] == [
        ("deposit", "10000", "USD", "10000", ""),
        ("share_purchase", "-5000", "USD", "5000", str(moves.pk)),
        ("repayment", "2500", "USD", "7500", str(moves.pk)),
    ]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(ann):
    deposit(ann, 2_500, 1, description='=HYPERLINK("http://evil.example","click")')

    (_, row) = _csv_rows(_client(ann).get(URL, {"format": "csv"}))

    assert row[2] == '\'=HYPERLINK("http://evil.example","click")'
    assert row[3] == "2500"


def test_a_lender_who_never_deposited_has_an_empty_statement(ann):
    body = _client(ann).get(URL).json()

    assert (body["opening_balance_cents"], body["closing_balance_cents"], body["lines"]) == (0, 0, [])
    assert _csv_rows(_client(ann).get(URL, {"format": "csv"})) == [list(COLUMNS)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-02", "end": "2026-03-01"}, "start"),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "start"),  # 367 days, counting both ends
        ({"start": "2026-02-30"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"kind": "share"}, "kind"),
        ({"format": "xml"}, "format"),
        ({"format": "csv", "kind": "nope"}, "kind"),  # an error is JSON even when CSV was asked for
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(ann, query, field):
    response = _client(ann).get(URL, query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["error"]["fields"]) == [field]


def test_a_full_year_of_366_days_is_the_most(ann):
    response = _client(ann).get(URL, {"start": "2024-01-01", "end": "2024-12-31"})  # a leap year: 366 days

    assert response.status_code == 200


def test_the_kinds_offered_are_every_kind_the_code_posts():
    """A new journal kind in the code must be added to JOURNAL_KINDS, or it could not be filtered on."""
    posted = set()
    literal = re.compile(r'\bkind\s*=\s*"([a-z_]+)"(?:\s+if\s+\w+\s+else\s+"([a-z_]+)")?')
    for path in Path(settings.BASE_DIR, "lending").rglob("*.py"):
        text = path.read_text()
        if "journal_post" in text or "refund_all_shares" in text:
            posted |= {name for match in literal.findall(text) for name in match if name}

    assert {"recovery", "share_purchase"} <= posted  # the scan works
    assert posted <= set(JOURNAL_KINDS)


def test_another_lender_sees_only_their_own_wallet(ann, moves):
    ben = LenderFactory()
    deposit(ben, 4_000, 3)

    body = _client(ben).get(URL).json()

    assert [(line["kind"], line["amount_cents"]) for line in body["lines"]] == [("deposit", 4_000)]
    assert body["closing_balance_cents"] == 4_000


@pytest.mark.parametrize(("who", "status"), [("borrower", 403), ("officer", 403), ("staff", 403), ("anonymous", 401)])
def test_only_lenders_have_a_statement(partner, officer, staff, who, status):
    borrower = people.borrower_create(display_name="Bea", country="UG", partner=partner, email="bea@example.org",
                                      password="sunny-market-ledger-7").user  # fmt: skip
    user = {"borrower": borrower, "officer": officer, "staff": staff, "anonymous": None}[who]

    response = _client(user).get(URL)

    assert response.status_code == status
    assert "lines" not in response.json()


def test_a_key_needs_wallet_read(ann, moves):
    refused = _bearer(ann, ["lending:write", "wallet:write"]).get(URL)

    assert refused.status_code == 403
    assert "wallet:read" in refused.json()["error"]["message"]
    assert len(_bearer(ann, ["wallet:read"]).get(URL).json()["lines"]) == 3


def test_the_statement_costs_the_same_queries_for_one_line_or_five(ann):
    deposit(ann, 1_000, 9)
    client = _client(ann)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for days in range(4):
        deposit(ann, 1_000, days)
    with CaptureQueriesContext(connection) as five:
        body = client.get(URL).json()

    assert len(body["lines"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries) <= 5
