"""GET /api/v1/metrics/series/: daily figures from the nightly snapshots, by platform, partner, country,
sector, or the caller's own lending; bad queries are 400s naming the field."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from lending.jobs.close import advance_to
from tests.loans import CLOSE_ON, START

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/series/"


@pytest.fixture
def closed(portfolio):
    """The six-loan portfolio, closed every day from START to CLOSE_ON (snapshots for each date)."""
    advance_to(target=CLOSE_ON, start=START)
    return portfolio


def test_the_platform_series_has_one_point_per_closed_day_with_rates(closed):
    body = APIClient().get(URL, {"start": "2026-03-01", "end": CLOSE_ON.isoformat()}).json()

    assert body["dimension"] == "platform"
    assert [p["as_of"] for p in body["points"]][:2] == ["2026-03-01", "2026-03-02"]
    assert body["points"][-1]["as_of"] == CLOSE_ON.isoformat()
    last = body["points"][-1]
    assert last["outstanding_principal"] > 0
    assert 0 <= last["par_1"] <= 1


def test_a_partner_series_needs_its_key_and_country_keys_are_case_blind(closed, partner):
    missing = APIClient().get(URL, {"dimension": "partner"})
    by_partner = APIClient().get(URL, {"dimension": "partner", "key": str(partner.pk), "end": CLOSE_ON.isoformat()})
    by_country = APIClient().get(URL, {"dimension": "country", "key": "ug", "end": CLOSE_ON.isoformat()})

    assert missing.status_code == 400
    assert "key" in missing.json()["error"]["fields"]
    assert by_partner.json()["points"]
    assert by_country.json()["key"] == "UG"
    assert by_country.json()["points"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"dimension": "galaxy"}, "dimension"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "start"),
        ({"start": "2024-01-01", "end": "2026-03-01"}, "start"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(db, query, field):
    response = APIClient().get(URL, query)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_lenders_series_is_their_own_whatever_key_they_ask_for(closed):
    lender, other = closed["lenders"]
    client = APIClient()
    assert client.get(URL, {"dimension": "lender"}).status_code == 400  # anonymous: no own figures
    client.force_authenticate(lender)

    body = client.get(URL, {"dimension": "lender", "key": str(other.pk), "end": CLOSE_ON.isoformat()}).json()

    assert body["key"] == str(lender.pk)
    assert body["points"]
    assert body["points"][-1]["outstanding_principal"] > 0
