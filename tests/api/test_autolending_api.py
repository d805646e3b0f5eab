"""/api/v1/auto-lending/: a lender reads (wallet:read) and changes (lending:write) their auto-lending settings,
every bad or unknown field named in a 400 with nothing written; the dry run (wallet:read) answers which loans
the saved or posted settings would lend to now and why, exactly as the nightly run decides, and writes nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as people
from lending.api.keys import api_key_create
from lending.api.models import IdempotentRequest
from lending.autolending.models import AutoLendingLog, AutoLendingSettings
from lending.autolending.services import auto_lending_settings_update, autolend
from lending.ledger.chart import AccountType
from lending.ledger.models import Journal, Transfer
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_approve, loan_publish, loan_submit
from lending.loans.errors import NotAllowed
from lending.loans.models import Share
from tests.factories import LenderFactory
from tests.loans import wallet_cents

pytestmark = pytest.mark.django_db
URL = "/api/v1/auto-lending/"
DRY_RUN = "/api/v1/auto-lending/dry-run/"
DEFAULTS = {
    "enabled": False, "sectors": [], "countries": [], "genders": [], "allow_group_loans": True,
    "max_partner_default_rate": None, "min_partner_rating": None, "max_term_months": None,
    "max_per_loan_cents": 2_500, "max_per_partner_cents": None, "max_per_country_cents": None,
    "max_per_sector_cents": None, "idle_days": 30, "updated_at": None,
}  # fmt: skip


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


def deposit(lender, cents: int, days_ago: int) -> None:
    when = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days_ago), time(12)))
    journal_post(
        idempotency_key=f"dep:{lender.pk}:{cents}:{days_ago}", kind="deposit", effective_at=when,
        lines=[Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=lender, currency="USD"),
                    cents)],
    )  # fmt: skip


@pytest.fixture
def ann():
    lender = LenderFactory()
    deposit(lender, 10_000, 40)  # idle longer than the default 30 days
    return lender


@pytest.fixture
def listed_today(apply, officer):
    """A loan listed today, so that it is fundraising on the API's business date."""

    def make(**overrides):
        loan = apply(**overrides)
        today = timezone.localdate()
        loan_submit(loan=loan, actor=officer, on=today)
        loan_approve(loan=loan, actor=officer, on=today)
        return loan_publish(loan=loan, actor=officer, on=today)

    return make


def _written() -> tuple[int, ...]:
    models = (Share, Journal, Transfer, AutoLendingLog, AutoLendingSettings, IdempotentRequest)
    return tuple(model.objects.count() for model in models)


# --- reading and changing the settings -------------------------------------------------------------


def test_a_lender_who_never_set_anything_reads_the_defaults_and_reading_creates_nothing(ann):
    body = _client(ann).get(URL).json()

    assert body == DEFAULTS
    assert not AutoLendingSettings.objects.exists()


def test_a_put_changes_the_fields_sent_and_keeps_the_others(ann):
    client = _client(ann)
    change = {"enabled": True, "sectors": ["retail", "food", "retail"], "countries": ["ke", "UG"],
              "max_partner_default_rate": "0.02", "max_per_loan_cents": 5_000}  # fmt: skip
    first = client.put(URL, change, format="json")
    second = client.put(URL, {"idle_days": 0, "max_per_sector_cents": None, "min_partner_rating": 3.5}, format="json")

    assert first.status_code == second.status_code == 200
    body = second.json()
    assert body["updated_at"] is not None
    assert body == {
        **DEFAULTS, "enabled": True, "sectors": ["retail", "food"], "countries": ["KE", "UG"],
        "max_partner_default_rate": "0.020000", "min_partner_rating": "3.5", "max_per_loan_cents": 5_000,
        "idle_days": 0, "updated_at": body["updated_at"],
    }  # fmt: skip
    row = AutoLendingSettings.objects.get(lender=ann)
    assert (row.enabled, row.max_partner_default_rate, row.idle_days) == (True, Decimal("0.02"), 0)
    assert client.get(URL).json() == body


def test_a_settings_json_read_can_be_sent_back_as_is(ann):
    client = _client(ann)
    body = client.get(URL).json()

    assert client.put(URL, {**body, "enabled": True}, format="json").json()["enabled"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enabled": "maybe"}, "enabled"),
        ({"sectors": ["space"]}, "sectors.0"),
        ({"sectors": "retail"}, "sectors"),
        ({"countries": ["Kenya"]}, "countries.0"),
        ({"genders": ["female", "robot"]}, "genders.1"),
        ({"allow_group_loans": None}, "allow_group_loans"),
        ({"max_partner_default_rate": "1.5"}, "max_partner_default_rate"),
        ({"max_partner_default_rate": "0.0000001"}, "max_partner_default_rate"),
        ({"max_partner_default_rate": "lots"}, "max_partner_default_rate"),
        ({"min_partner_rating": 5.5}, "min_partner_rating"),
        ({"min_partner_rating": "3.25"}, "min_partner_rating"),
        ({"max_term_months": 0}, "max_term_months"),
        ({"max_per_loan_cents": 3_000}, "max_per_loan_cents"),  # not a whole number of $25 shares
        ({"max_per_loan_cents": 0}, "max_per_loan_cents"),
        ({"max_per_loan_cents": None}, "max_per_loan_cents"),
        ({"max_per_loan_cents": 10**30}, "max_per_loan_cents"),
        ({"max_per_partner_cents": 100}, "max_per_partner_cents"),
        ({"idle_days": -1}, "idle_days"),
        ({"idle_days": 400}, "idle_days"),
        ({"sector": ["retail"]}, "sector"),  # a typo is named, never silently ignored
    ],
)
def test_a_bad_setting_is_a_400_naming_it_and_nothing_changes(ann, change, field):
    client = _client(ann)
    client.put(URL, {"enabled": True, "idle_days": 7}, format="json")
    before = client.get(URL).json()

    response = client.put(URL, {"idle_days": 3, **change}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert client.get(URL).json() == before


def test_every_bad_field_is_named_at_once(ann):
    response = _client(ann).put(URL, {"idle_days": -1, "sectors": ["space"], "colour": "blue"}, format="json")

    assert response.status_code == 400
    assert sorted(response.json()["error"]["fields"]) == ["colour", "idle_days", "sectors.0"]
    assert not AutoLendingSettings.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(ann):
    response = _client(ann).put(URL, [1, 2], format="json")

    assert response.status_code == 400
    assert not AutoLendingSettings.objects.exists()


def test_the_service_checks_every_field_itself(ann, borrower):
    with pytest.raises(ValidationError) as refused:
        auto_lending_settings_update(lender=ann, max_per_loan_cents=True, countries="KE", min_partner_rating=7,
                                     enabled=1, nonsense=1)  # fmt: skip
    assert sorted(refused.value.message_dict) == [
        "countries", "enabled", "max_per_loan_cents", "min_partner_rating", "nonsense"
    ]  # fmt: skip
    staff = people.platform_staff_create(email="s2@example.org", password="river-stone-ledger-43", full_name="S T")
    with pytest.raises(NotAllowed):
        auto_lending_settings_update(lender=staff, enabled=True)
    row = auto_lending_settings_update(lender=ann, max_partner_default_rate=0.05, genders=["female", "female"])
    assert (row.max_partner_default_rate, row.genders) == (Decimal("0.05"), ["female"])


def test_each_lender_has_their_own_settings(ann):
    ben = LenderFactory()
    _client(ann).put(URL, {"enabled": True, "idle_days": 5}, format="json")

    assert _client(ben).get(URL).json() == DEFAULTS
    _client(ben).put(URL, {"idle_days": 9}, format="json")
    assert _client(ann).get(URL).json()["idle_days"] == 5


def _people(partner, officer, staff):
    borrower = people.borrower_create(display_name="Bea", country="UG", partner=partner, email="bea@example.org",
                                      password="sunny-market-ledger-7").user  # fmt: skip
    return {"borrower": borrower, "officer": officer, "staff": staff, "anonymous": None}


@pytest.mark.parametrize(("who", "status"), [("borrower", 403), ("officer", 403), ("staff", 403), ("anonymous", 401)])
@pytest.mark.parametrize(("method", "path"), [("get", URL), ("put", URL), ("post", DRY_RUN)])
def test_only_lenders_have_auto_lending(partner, officer, staff, who, status, method, path):
    user = _people(partner, officer, staff)[who]

    response = getattr(_client(user), method)(path, {"enabled": True}, format="json")

    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert not AutoLendingSettings.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "lacking", "enough"),
    [
        ("get", URL, ["lending:write"], ["wallet:read"]),
        ("put", URL, ["wallet:read", "wallet:write"], ["lending:write"]),
        ("post", DRY_RUN, ["lending:write"], ["wallet:read"]),
    ],
)
def test_a_key_needs_the_scope_of_what_it_does(ann, method, path, lacking, enough):
    refused = getattr(_bearer(ann, lacking), method)(path, {"idle_days": 3}, format="json")
    allowed = getattr(_bearer(ann, enough), method)(path, {"idle_days": 3}, format="json")

    assert refused.status_code == 403
    assert "scope" in refused.json()["error"]["message"]
    assert allowed.status_code == 200
    assert AutoLendingSettings.objects.filter(idle_days=3).count() == (1 if method == "put" else 0)


# --- the dry run ------------------------------------------------------------------------------------


def test_a_dry_run_answers_what_would_be_lent_and_why_and_writes_nothing(ann, listed_today):
    sooner = listed_today(purpose="sooner", amount_cents=20_000, fundraising_days=10)
    later = listed_today(purpose="later", amount_cents=20_000, fundraising_days=20)
    _client(ann).put(URL, {"enabled": True, "max_per_loan_cents": 5_000}, format="json")
    before = _written()

    response = _client(ann).post(DRY_RUN, {}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert [(d["loan"], d["amount_cents"]) for d in body["decisions"]] == [(sooner.pk, 5_000), (later.pk, 5_000)]
    assert "sector agriculture" in body["decisions"][0]["reason"]
    assert "10 days left" in body["decisions"][0]["reason"]
    assert (body["on"], body["currency"]) == (timezone.localdate().isoformat(), "USD")
    assert (body["available_cents"], body["would_lend_cents"]) == (10_000, 10_000)
    assert body["note"] == "Would lend to 2 loan(s)."
    assert _written() == before
    assert wallet_cents(ann) == 10_000
    assert [(d.loan_id, d.amount_cents) for d in autolend(on=timezone.localdate())] == [
        (d["loan"], d["amount_cents"]) for d in body["decisions"]
    ]  # the nightly run decides the same


def test_posted_settings_are_tried_on_and_not_saved(ann, listed_today):
    listed_today(purpose="dairy", amount_cents=20_000)
    _client(ann).put(URL, {"enabled": True, "idle_days": 0}, format="json")
    before = _written()

    elsewhere = _client(ann).post(DRY_RUN, {"sectors": ["retail"]}, format="json").json()
    bigger = _client(ann).post(DRY_RUN, {"max_per_loan_cents": 7_500}, format="json").json()

    assert (elsewhere["decisions"], elsewhere["settings"]["sectors"]) == ([], ["retail"])
    assert elsewhere["note"] == "No fundraising loan matches the criteria and caps now."
    assert [d["amount_cents"] for d in bigger["decisions"]] == [7_500]
    assert _written() == before
    assert _client(ann).get(URL).json()["sectors"] == []


def test_a_dry_run_works_before_auto_lending_is_turned_on_and_says_so(ann, listed_today):
    listed_today(purpose="dairy", amount_cents=20_000)

    body = _client(ann).post(DRY_RUN, format="json").json()

    assert body["settings"]["enabled"] is False
    assert [d["amount_cents"] for d in body["decisions"]] == [2_500]
    assert body["note"] == "Would lend to 1 loan(s) once auto-lending is turned on."
    assert not AutoLendingSettings.objects.exists()


def test_a_dry_run_says_when_fresh_credit_may_be_lent(listed_today):
    newcomer = LenderFactory()
    deposit(newcomer, 5_000, 2)
    listed_today(purpose="dairy", amount_cents=20_000)

    body = _client(newcomer).post(DRY_RUN, {}, format="json").json()

    lends_from = (timezone.localdate() + timedelta(days=28)).isoformat()
    assert (body["decisions"], body["lends_from"]) == ([], lends_from)
    assert body["note"] == f"Nothing yet: the latest credit may be lent from {lends_from} (idle_days)."
    assert len(_client(newcomer).post(DRY_RUN, {"idle_days": 2}, format="json").json()["decisions"]) == 1


def test_a_dry_run_with_an_empty_wallet_says_so(listed_today):
    listed_today(purpose="dairy", amount_cents=20_000)

    body = _client(LenderFactory()).post(DRY_RUN, {}, format="json").json()

    assert (body["available_cents"], body["lends_from"], body["decisions"]) == (0, None, [])
    assert body["note"].startswith("Nothing to lend")


@pytest.mark.parametrize(("change", "field"), [({"sectors": ["space"]}, "sectors.0"), ({"idle": 3}, "idle")])
def test_a_dry_run_with_bad_settings_is_a_400_naming_them(ann, change, field):
    response = _client(ann).post(DRY_RUN, change, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_the_dry_run_costs_the_same_queries_for_one_loan_or_five(ann, listed_today):
    listed_today(purpose="loan 0", amount_cents=20_000)
    client = _client(ann)
    with CaptureQueriesContext(connection) as one:
        assert len(client.post(DRY_RUN, {}, format="json").json()["decisions"]) == 1
    for n in range(1, 5):
        listed_today(purpose=f"loan {n}", amount_cents=20_000)
    with CaptureQueriesContext(connection) as five:
        assert len(client.post(DRY_RUN, {}, format="json").json()["decisions"]) == 4  # 10,000 of credit: 4 shares

    assert len(five.captured_queries) == len(one.captured_queries)
