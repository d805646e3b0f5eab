"""GET /api/v1/partners/, /partners/<id>/, /partners/me/ and /partners/<id>/metrics/, and `partner_statistics` on
a loan's detail: anyone sees a field partner's loans posted, amount raised and its rates (delinquency, default,
PAR 30) from its latest nightly snapshot, dated by it; a partner's figures over time need metrics:read from a key;
a partner's staff find their own partner at /me/; and lists and details run a constant number of queries."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as people
from accounts.models import FieldPartner, User
from lending.api.keys import api_key_create
from lending.jobs.close import advance_to
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.models import Loan
from lending.metrics.snapshots import snapshot_portfolio
from tests.loans import CLOSE_ON, START

pytestmark = pytest.mark.django_db
PARTNERS = "/api/v1/partners/"
# The six-loan portfolio of tests/loans.py on CLOSE_ON, every loan Jinja Growers': the figures checked by hand
# in tests/lending/metrics/test_snapshots.py (without the close, the stale loan is still fundraising).
ON_CLOSE = {
    "loans_posted": 6,
    "amount_raised_cents": 15_000 + 15_000 + 2_500 + 2_500 + 2_500,  # four funded loans and the stale one's share
    "currency": "USD",
    "as_of": CLOSE_ON.isoformat(),
    "formula_version": 1,
    "par_30": 0.086806,
    "delinquency_rate": 0.131944,
    "default_rate_by_amount": 0.0,
    "default_rate_by_count": 0.0,
}
NOTHING_YET = {"as_of": None, "par_30": None, "delinquency_rate": None, "default_rate_by_amount": None,
               "default_rate_by_count": None}  # fmt: skip


def _as(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _bearer(user: User, *scopes: str) -> APIClient:
    _, key = api_key_create(user=user, name="key", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _queries(client: APIClient, url: str, query: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query or {})
    assert response.status_code == 200, response.content
    return len(queries)


def _partner_with_a_listed_loan(n: int, amount_cents: int = 10_000) -> tuple[FieldPartner, Loan]:
    partner = people.field_partner_create(name=f"Partner {n}", country="KE", risk_rating="3.5")
    officer = people.partner_staff_add(
        partner=partner, email=f"officer{n}@example.org", password="tea-garden-ledger-42", full_name=f"Officer {n}"
    ).user
    borrower = people.borrower_create(display_name=f"Borrower {n}", country="KE", partner=partner)
    loan = loan_apply(actor=officer, borrower=borrower, amount_cents=amount_cents, currency="USD",
                      purpose="Stock for the shop", sector="retail", repayments=6)  # fmt: skip
    loan_submit(loan=loan, actor=officer, on=START)
    loan_approve(loan=loan, actor=officer, on=START)
    return partner, loan_publish(loan=loan, actor=officer, on=START)


@pytest.fixture
def snapped(portfolio):
    """The portfolio snapshotted on CLOSE_ON, then on an earlier date (written later, but not the latest)."""
    snapshot_portfolio(CLOSE_ON)
    snapshot_portfolio(date(2026, 2, 1))
    return portfolio


# --- list and detail --------------------------------------------------------------------------------


def test_anyone_lists_the_partners_with_figures_from_the_latest_snapshot(snapped, partner):
    quiet = people.field_partner_create(name="Quiet Partner", country="KE", risk_rating="4.5")

    body = APIClient().get(PARTNERS).json()

    assert [row["name"] for row in body["results"]] == ["Jinja Growers", "Quiet Partner"]
    jinja, other = body["results"]
    assert (jinja["id"], jinja["country"], jinja["status"], jinja["risk_rating"]) == (partner.pk, "UG", "active", None)
    assert jinja["statistics"] == ON_CLOSE
    assert (other["id"], other["risk_rating"]) == (quiet.pk, "4.5")
    assert other["statistics"] == {**ON_CLOSE, **NOTHING_YET, "loans_posted": 0, "amount_raised_cents": 0}


def test_the_detail_answers_anyone_the_same_figures(snapped, partner, officer, staff, lender):
    other_officer = _partner_with_a_listed_loan(1)[0].staff.get().user
    answers = [_as(who).get(f"{PARTNERS}{partner.pk}/") for who in (None, lender, officer, other_officer, staff)]

    assert {response.status_code for response in answers} == {200}
    assert all(response.json() == answers[0].json() for response in answers)
    assert answers[0].json()["statistics"] == ON_CLOSE
    assert answers[0].json()["name"] == "Jinja Growers"


def test_an_unknown_partner_is_a_404_in_the_error_shape(db):
    response = APIClient().get(f"{PARTNERS}999999/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert APIClient().get(f"{PARTNERS}999999/metrics/").status_code == 404


def test_a_partner_with_loans_but_no_snapshot_yet_has_totals_and_no_rates(db):
    partner, _ = _partner_with_a_listed_loan(1, amount_cents=10_000)

    statistics = APIClient().get(f"{PARTNERS}{partner.pk}/").json()["statistics"]

    assert statistics == {**ON_CLOSE, **NOTHING_YET, "loans_posted": 1, "amount_raised_cents": 0}


def test_default_rates_come_from_the_snapshot_after_a_loan_defaults(portfolio, partner):
    advance_to(target=date(2026, 7, 12), start=CLOSE_ON)  # the six-month rule defaults the unpaid "ended" loan

    statistics = APIClient().get(f"{PARTNERS}{partner.pk}/").json()["statistics"]

    assert statistics["as_of"] == "2026-07-12"
    assert (statistics["default_rate_by_amount"], statistics["default_rate_by_count"]) == (0.5, 0.5)


def test_the_list_filters_by_country_and_status_and_refuses_a_bad_status(snapped, partner):
    kenyan, _ = _partner_with_a_listed_loan(1)
    FieldPartner.objects.filter(pk=kenyan.pk).update(status=FieldPartner.Status.PAUSED)

    def ids(query: dict[str, str]) -> list[int]:
        return [row["id"] for row in APIClient().get(PARTNERS, query).json()["results"]]

    assert ids({"country": "ke"}) == [kenyan.pk]
    assert ids({"status": "active"}) == [partner.pk]
    bad = APIClient().get(PARTNERS, {"status": "asleep"})
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["fields"]


def test_the_list_runs_as_many_queries_for_five_partners_as_for_one(snapped):
    one = _queries(APIClient(), PARTNERS)
    for n in range(4):
        _partner_with_a_listed_loan(n)
    snapshot_portfolio(date(2026, 3, 21))  # every partner has a snapshot now

    five = APIClient().get(PARTNERS).json()["results"]
    assert len(five) == 5
    assert all(row["statistics"]["as_of"] == "2026-03-21" for row in five)
    assert _queries(APIClient(), PARTNERS) == one


# --- /partners/me/ ----------------------------------------------------------------------------------


def test_a_partners_staff_get_their_own_partner_at_me(snapped, partner, officer):
    other, _ = _partner_with_a_listed_loan(1)
    other_officer = other.staff.get().user

    mine = _as(officer).get(f"{PARTNERS}me/")
    theirs = _as(other_officer).get(f"{PARTNERS}me/")

    assert mine.status_code == 200
    assert mine.json() == APIClient().get(f"{PARTNERS}{partner.pk}/").json()
    assert theirs.json()["id"] == other.pk


def test_me_is_a_404_for_anyone_not_working_for_a_partner_and_refused_anonymous(snapped, staff, lender):
    assert APIClient().get(f"{PARTNERS}me/").status_code in (401, 403)  # 401 once keys authenticate first
    for who in (staff, lender):
        response = _as(who).get(f"{PARTNERS}me/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


# --- /partners/<id>/metrics/ ------------------------------------------------------------------------


def test_a_partners_metrics_are_a_series_of_its_snapshots(snapped, partner):
    body = APIClient().get(f"{PARTNERS}{partner.pk}/metrics/", {"start": "2026-01-01", "end": "2026-03-31"}).json()

    assert (body["dimension"], body["key"], body["start"], body["end"]) == (
        "partner", str(partner.pk), "2026-01-01", "2026-03-31"
    )  # fmt: skip
    assert [point["as_of"] for point in body["points"]] == ["2026-02-01", CLOSE_ON.isoformat()]
    last = body["points"][-1]
    assert (last["outstanding_principal"], last["amount_past_due"]) == (28_800, 3_800)
    assert (last["par_30"], last["delinquency_rate"]) == (ON_CLOSE["par_30"], ON_CLOSE["delinquency_rate"])


def test_another_partners_snapshots_are_not_in_the_series(snapped):
    other, _ = _partner_with_a_listed_loan(1)

    body = APIClient().get(f"{PARTNERS}{other.pk}/metrics/", {"end": CLOSE_ON.isoformat()}).json()

    assert body["points"] == []  # its loan came after both snapshots


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "start"),
        ({"start": "2024-01-01", "end": "2026-03-01"}, "start"),
    ],
)
def test_a_bad_metrics_query_is_a_400_naming_the_field(partner, query, field):
    response = APIClient().get(f"{PARTNERS}{partner.pk}/metrics/", query)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_key_needs_metrics_read_for_a_partners_metrics(snapped, partner, officer, lender):
    url = f"{PARTNERS}{partner.pk}/metrics/"

    assert _bearer(lender, "loans:read").get(url).status_code == 403
    assert _bearer(officer, "wallet:read").get(url).status_code == 403
    assert _bearer(lender, "metrics:read").get(url, {"end": CLOSE_ON.isoformat()}).json()["points"]
    assert _as(None).get(url).status_code == 200
    assert _bearer(lender, "loans:read").get(f"{PARTNERS}{partner.pk}/").status_code == 200  # the page is public


def test_the_metrics_run_as_many_queries_for_five_points_as_for_one(partner, listed):
    listed()
    snapshot_portfolio(START)
    url, query = f"{PARTNERS}{partner.pk}/metrics/", {"start": START.isoformat(), "end": "2026-01-31"}
    one = _queries(APIClient(), url, query)
    for day in range(6, 10):
        snapshot_portfolio(date(2026, 1, day))

    assert len(APIClient().get(url, query).json()["points"]) == 5
    assert _queries(APIClient(), url, query) == one


# --- partner_statistics on a loan's detail ----------------------------------------------------------


def test_a_loans_detail_shows_its_partners_statistics_and_the_list_does_not(snapped, partner):
    loan = snapped["late"]

    detail = APIClient().get(f"/api/v1/loans/{loan.pk}/").json()
    rows = APIClient().get("/api/v1/loans/", {"status": "paying_back"}).json()["results"]

    assert detail["partner_statistics"] == ON_CLOSE
    assert detail["partner_statistics"] == APIClient().get(f"{PARTNERS}{partner.pk}/").json()["statistics"]
    assert {row["id"] for row in rows} >= {loan.pk}
    assert all("partner_statistics" not in row for row in rows)


def test_a_direct_loan_has_no_partner_statistics(db):
    own = people.borrower_create(display_name="Dana", country="KE", email="dana@example.org", password=None)
    assert own.user is not None
    loan = loan_apply(actor=own.user, borrower=own, amount_cents=5_000, currency="USD", purpose="Sewing machine",
                      sector="clothing", repayments=6)  # fmt: skip

    body = _as(own.user).get(f"/api/v1/loans/{loan.pk}/").json()

    assert body["partner"] is None
    assert body["partner_statistics"] is None


def test_the_loan_detail_runs_as_many_queries_for_a_partner_of_six_loans_as_for_one_of_one(snapped):
    _, small = _partner_with_a_listed_loan(1)
    snapshot_portfolio(date(2026, 3, 21))

    big = _queries(APIClient(), f"/api/v1/loans/{snapped['late'].pk}/")

    assert APIClient().get(f"/api/v1/loans/{small.pk}/").json()["partner_statistics"]["loans_posted"] == 1
    assert _queries(APIClient(), f"/api/v1/loans/{small.pk}/") == big
