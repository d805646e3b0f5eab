"""GET and POST /api/v1/borrowers/, GET /api/v1/borrowers/<id>/: a field partner's staff list and add their own
partner's borrowers, platform staff see all and name the partner when they add one, a borrower sees only
themself, lenders and anonymous callers are refused; another partner's borrower does not exist (404); a key
needs loans:read to read and loans:write to add; bad fields are 400s naming them and write nothing; a replayed
Idempotency-Key adds one borrower; lists and details run a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, User
from lending.api.keys import api_key_create
from lending.loans.applications import loan_apply, loan_submit
from lending.loans.models import Loan

pytestmark = pytest.mark.django_db
URL = "/api/v1/borrowers/"
NEW = {"display_name": "Amina W.", "country": "UG", "town": "Jinja"}


@dataclass
class Cast:
    partner: FieldPartner
    officer: User
    borrower: BorrowerProfile  # the partner's, with no login
    own: BorrowerProfile  # the partner's, with a login
    other_partner: FieldPartner
    other_officer: User
    theirs: BorrowerProfile  # the other partner's
    staff: User
    lender: User


@pytest.fixture
def cast(partner, officer, borrower, staff, lender) -> Cast:
    other = people.field_partner_create(name="Hill Partner", country="KE")
    return Cast(
        partner=partner,
        officer=officer,
        borrower=borrower,
        own=people.borrower_create(display_name="Rose A.", country="UG", partner=partner, email="rose@example.org"),
        other_partner=other,
        other_officer=people.partner_staff_add(
            partner=other, email="hill@example.org", password="hill-river-ledger-42", full_name="Hal Officer"
        ).user,
        theirs=people.borrower_create(display_name="Joseph K.", country="KE", partner=other),
        staff=staff,
        lender=lender,
    )


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


def _names(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["display_name"] for row in response.json()["results"]}


def _post(client: APIClient, body: dict[str, Any], key: str = "borrower-0001") -> Any:
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


# --- the list ---------------------------------------------------------------------------------------


def test_a_partners_staff_list_their_own_partners_borrowers_with_names(cast):
    body = _as(cast.officer).get(URL).json()

    assert {row["display_name"] for row in body["results"]} == {"Grace N.", "Rose A."}
    grace = next(row for row in body["results"] if row["id"] == cast.borrower.pk)
    assert grace == {
        "id": cast.borrower.pk, "display_name": "Grace N.", "country": "UG", "town": "", "partner": cast.partner.pk,
        "partner_name": "Jinja Growers", "has_login": False, "created_at": grace["created_at"],
    }  # fmt: skip
    assert _names(_as(cast.other_officer).get(URL)) == {"Joseph K."}


def test_platform_staff_list_every_borrower_and_filter_by_partner(cast):
    assert _names(_as(cast.staff).get(URL)) == {"Grace N.", "Rose A.", "Joseph K."}
    assert _names(_as(cast.staff).get(URL, {"partner": cast.other_partner.pk})) == {"Joseph K."}
    assert _names(_as(cast.staff).get(URL, {"country": "ug"})) == {"Grace N.", "Rose A."}


def test_a_borrower_lists_only_themself(cast):
    assert cast.own.user is not None
    assert _names(_as(cast.own.user).get(URL)) == {"Rose A."}


def test_lenders_anonymous_callers_and_keys_without_loans_read_are_refused(cast):
    assert _as(cast.lender).get(URL).status_code == 403
    assert _as(None).get(URL).status_code in (401, 403)
    assert _bearer(cast.officer, "wallet:read").get(URL).status_code == 403
    assert _names(_bearer(cast.officer, "loans:read").get(URL)) == {"Grace N.", "Rose A."}
    assert _bearer(cast.lender, "loans:read").get(URL).status_code == 403  # the scope does not make a lender staff


def test_a_bad_filter_is_a_400_naming_it(cast):
    response = _as(cast.staff).get(URL, {"partner": "many"})

    assert response.status_code == 400
    assert "partner" in response.json()["error"]["fields"]


def test_the_list_runs_as_many_queries_for_five_borrowers_as_for_one(partner, officer, borrower):
    one = _queries(_as(officer), URL)
    for n in range(4):
        people.borrower_create(display_name=f"Borrower {n}", country="UG", partner=partner)

    assert len(_as(officer).get(URL).json()["results"]) == 5
    assert _queries(_as(officer), URL) == one


# --- the detail -------------------------------------------------------------------------------------


def test_the_detail_shows_the_borrowers_loans_ids_and_statuses(cast, apply):
    first, second = apply(), apply(purpose="A second cow")
    loan_submit(loan=second, actor=cast.officer)

    body = _as(cast.officer).get(f"{URL}{cast.borrower.pk}/").json()

    assert (body["id"], body["display_name"], body["partner"]) == (cast.borrower.pk, "Grace N.", cast.partner.pk)
    assert body["loans"] == [{"id": first.pk, "status": "draft"}, {"id": second.pk, "status": "submitted"}]


@pytest.mark.parametrize(
    ("viewer", "whose", "expected"),
    [
        ("officer", "borrower", 200),
        ("officer", "theirs", 404),  # another partner's borrower does not exist for them
        ("other_officer", "borrower", 404),
        ("other_officer", "theirs", 200),
        ("staff", "borrower", 200),
        ("staff", "theirs", 200),
        ("own", "own", 200),  # a borrower sees themself
        ("own", "borrower", 404),  # and no one else
        ("lender", "borrower", 403),
    ],
)
def test_a_borrower_is_seen_only_by_their_partners_staff_themself_and_platform_staff(cast, viewer, whose, expected):
    user = cast.own.user if viewer == "own" else getattr(cast, viewer)
    target = getattr(cast, whose)

    response = _as(user).get(f"{URL}{target.pk}/")

    assert response.status_code == expected
    if expected == 200:
        assert response.json()["display_name"] == target.display_name
    else:
        assert target.display_name not in response.content.decode()


def test_the_detail_refuses_anonymous_callers_and_keys_without_loans_read_and_unknown_ids_are_404(cast):
    url = f"{URL}{cast.borrower.pk}/"

    assert _as(None).get(url).status_code in (401, 403)
    assert _bearer(cast.officer, "metrics:read").get(url).status_code == 403
    assert _bearer(cast.officer, "loans:read").get(url).status_code == 200
    missing = _as(cast.staff).get(f"{URL}999999/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_the_detail_runs_as_many_queries_for_five_loans_as_for_one(officer, borrower, apply):
    apply()
    one = _queries(_as(officer), f"{URL}{borrower.pk}/")
    for _ in range(4):
        apply()

    assert len(_as(officer).get(f"{URL}{borrower.pk}/").json()["loans"]) == 5
    assert _queries(_as(officer), f"{URL}{borrower.pk}/") == one


# --- adding a borrower ------------------------------------------------------------------------------


def test_a_partners_staff_add_a_borrower_to_their_own_partner(cast):
    response = _post(_as(cast.officer), {**NEW, "display_name": "  Amina W. ", "country": "ug"})

    body = response.json()
    assert response.status_code == 201, body
    created = BorrowerProfile.objects.get(pk=body["id"])
    assert (created.display_name, created.country, created.town, created.partner_id) == (
        "Amina W.", "UG", "Jinja", cast.partner.pk
    )  # fmt: skip
    assert created.user is None
    assert (body["display_name"], body["partner"], body["loans"], body["has_login"]) == (
        "Amina W.", cast.partner.pk, [], False
    )  # fmt: skip
    assert _as(cast.officer).get(f"{URL}{created.pk}/").status_code == 200
    assert _as(cast.other_officer).get(f"{URL}{created.pk}/").status_code == 404


def test_the_new_borrower_is_one_the_partner_may_apply_for(cast):
    body = _post(_as(cast.officer), NEW).json()

    loan = loan_apply(actor=cast.officer, borrower=BorrowerProfile.objects.get(pk=body["id"]), amount_cents=5_000,
                      currency="USD", purpose="Seeds", sector="agriculture", repayments=6)  # fmt: skip

    assert loan.partner_id == cast.partner.pk


def test_platform_staff_must_name_an_existing_partner(cast):
    missing = _post(_as(cast.staff), NEW, key="staff-1")
    unknown = _post(_as(cast.staff), {**NEW, "partner": 999_999}, key="staff-2")
    named = _post(_as(cast.staff), {**NEW, "partner": cast.other_partner.pk}, key="staff-3")

    assert (missing.status_code, unknown.status_code) == (400, 400)
    assert "partner" in missing.json()["error"]["fields"]
    assert "partner" in unknown.json()["error"]["fields"]
    assert named.status_code == 201
    assert named.json()["partner"] == cast.other_partner.pk
    assert BorrowerProfile.objects.filter(display_name="Amina W.").count() == 1


def test_a_partners_staff_may_name_their_own_partner_but_not_another(cast):
    own = _post(_as(cast.officer), {**NEW, "partner": cast.partner.pk}, key="own-1")
    other = _post(_as(cast.officer), {**NEW, "partner": cast.other_partner.pk}, key="own-2")

    assert own.status_code == 201
    assert other.status_code == 400
    assert "partner" in other.json()["error"]["fields"]
    assert not BorrowerProfile.objects.filter(partner=cast.other_partner, display_name="Amina W.").exists()


@pytest.mark.parametrize("who", ["own", "lender", "anonymous"])
def test_borrowers_lenders_and_anonymous_callers_cannot_add_borrowers(cast, who):
    user = {"own": cast.own.user, "lender": cast.lender, "anonymous": None}[who]
    before = BorrowerProfile.objects.count()

    response = _post(_as(user), {**NEW, "partner": cast.partner.pk})

    assert response.status_code in ((401, 403) if who == "anonymous" else (403,))
    assert BorrowerProfile.objects.count() == before


def test_a_key_needs_loans_write_to_add_a_borrower(cast):
    before = BorrowerProfile.objects.count()

    refused = _post(_bearer(cast.officer, "loans:read"), NEW)
    added = _post(_bearer(cast.officer, "loans:write"), NEW)

    assert refused.status_code == 403
    assert added.status_code == 201
    assert BorrowerProfile.objects.count() == before + 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 101}, "display_name"),
        ({"display_name": None}, "display_name"),
        ({"display_name": ["Amina"]}, "display_name"),
        ({"country": "UGA"}, "country"),
        ({"country": "1A"}, "country"),
        ({"country": ""}, "country"),
        ({"country": 42}, "country"),
        ({"town": "x" * 101}, "town"),
        ({"partner": "mine"}, "partner"),
        ({"partner": 0}, "partner"),
        ({"email": "amina@example.org"}, "email"),  # not taken: refused, not silently dropped
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_adds_nothing(cast, change, field):
    before = BorrowerProfile.objects.count()

    response = _post(_as(cast.officer), {**NEW, **change})

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert BorrowerProfile.objects.count() == before


@pytest.mark.parametrize("missing", ["display_name", "country"])
def test_a_missing_field_is_a_400_naming_it(cast, missing):
    body = {name: value for name, value in NEW.items() if name != missing}

    response = _post(_as(cast.officer), body)

    assert response.status_code == 400
    assert missing in response.json()["error"]["fields"]


def test_a_body_that_is_not_an_object_is_a_400(cast):
    response = _as(cast.officer).post(URL, [NEW], format="json", HTTP_IDEMPOTENCY_KEY="borrower-0009")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_adding_needs_an_idempotency_key(cast):
    response = _as(cast.officer).post(URL, NEW, format="json")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not BorrowerProfile.objects.filter(display_name="Amina W.").exists()


def test_a_replay_adds_one_borrower_and_another_body_with_the_key_is_a_409(cast):
    client = _as(cast.officer)

    first = _post(client, NEW, key="amina-1")
    again = _post(client, NEW, key="amina-1")
    other = _post(client, {**NEW, "display_name": "Someone Else"}, key="amina-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert BorrowerProfile.objects.filter(display_name="Amina W.").count() == 1
    assert not BorrowerProfile.objects.filter(display_name="Someone Else").exists()


def test_a_refused_body_is_replayed_as_refused(cast):
    first = _post(_as(cast.officer), {**NEW, "country": "UGA"}, key="bad-1")
    again = _post(_as(cast.officer), {**NEW, "country": "UGA"}, key="bad-1")

    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert not Loan.objects.exists()
    assert not BorrowerProfile.objects.filter(display_name="Amina W.").exists()
