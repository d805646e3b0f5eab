"""Who may call what: every route of /api/v1/ against seven callers, in one table.

The callers: anonymous, a lender with money in a loan, another lender, the loan's borrower, an
officer of the loan's field partner, an officer of another partner, and platform staff. Each
route's row says what each must get: `OK` (let through: a 2xx, or a 400/409 about the body or the
loan's state), or the refusal (401 no credentials, 403 not allowed, 404 an object they may not
see). Unsafe requests are aimed at an object in the wrong state, or sent with a body that is
invalid, so that a caller who is let through acts on nothing and the next caller meets the same world.

Three more checks keep the table honest: every route is in it (a new endpoint without a row fails
here), a key that lacks a route's scope gets 403 whoever holds it, and no caller ever gets a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, get_resolver
from rest_framework.test import APIClient, APIRequestFactory

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, User
from lending.api.keys import api_key_create
from lending.api.models import Scope
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from lending.payments.models import CardPayment, Withdrawal
from lending.payments.withdrawals import pending_account
from lending.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db

OK = "ok"  # let through: 2xx, or 400/409 about the body or the state
LET_THROUGH = {200, 201, 202, 204, 400, 409}
CALLERS = ["anonymous", "lender", "other_lender", "borrower", "officer", "other_officer", "staff"]


@dataclass
class World:
    people: dict[str, User | None]
    partner: FieldPartner
    borrower: BorrowerProfile
    draft: Loan
    fundraising: Loan
    paying: Loan
    deposit: CardPayment
    withdrawal: Withdrawal
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery


def _funded(user: User, cents: int) -> User:
    journal_post(
        idempotency_key=f"matrix-credit:{user.pk}",
        kind="deposit",
        lines=[
            Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=user, currency="USD"), cents)
        ],
    )
    return user


def _loan(officer: User, borrower: BorrowerProfile, *, stage: str, buys: tuple[User, ...] = ()) -> Loan:
    loan = loan_apply(actor=officer, borrower=borrower, amount_cents=5_000, currency="USD", purpose="Seeds",
                      sector="agriculture", repayments=4)  # fmt: skip
    if stage == "draft":
        return loan
    loan_submit(loan=loan, actor=officer)
    loan_approve(loan=loan, actor=officer)
    loan_publish(loan=loan, actor=officer)
    for n, lender in enumerate(buys):
        share_purchase(loan=loan, lender=lender, amount_cents=2_500, idempotency_key=f"matrix-{loan.pk}-{n}")
    if stage == "paying":
        loan_disburse(loan=loan, actor=officer)
    loan.refresh_from_db()
    return loan


@pytest.fixture
def world() -> World:
    partner = people.field_partner_create(name="Matrix Partner", country="KE")
    other = people.field_partner_create(name="Other Partner", country="UG")
    officer = people.partner_staff_add(partner=partner, email="m-officer@example.org", password="matrix-officer-pass-1",
                                       full_name="Mo Officer").user  # fmt: skip
    other_officer = people.partner_staff_add(partner=other, email="m-other@example.org",
                                             password="matrix-other-pass-1", full_name="Ot Officer").user  # fmt: skip
    borrower = people.borrower_create(display_name="Wanjiru M.", country="KE", partner=partner,
                                      email="m-borrower@example.org", password="matrix-borrower-1")  # fmt: skip
    lender, other_lender = _funded(LenderFactory(), 100_000), _funded(LenderFactory(), 100_000)
    staff = people.platform_staff_create(email="m-staff@example.org", password=None, full_name="St Aff")
    paying = _loan(officer, borrower, stage="paying", buys=(lender, other_lender))
    repayment_record(loan=paying, amount_cents=1_000, currency="USD", source="staff", idempotency_key="matrix-pay",
                     actor=None)  # fmt: skip
    hold = journal_post(
        idempotency_key="matrix-hold",
        kind="withdrawal_hold",
        lines=[Line(lender_wallet(user=lender, currency="USD"),
                    pending_account(lender.pk, "USD"), 500)],
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="http://127.0.0.1:9/hook", secret="whsec_matrix",
                                              event_types=["loan.funded"])  # fmt: skip
    event = WebhookEvent.objects.create(type="loan.funded", source_key="matrix:1", partner=partner, loan=paying,
                                        payload={}, occurred_at=paying.created_at)  # fmt: skip
    return World(
        people={
            "anonymous": None,
            "lender": lender,
            "other_lender": other_lender,
            "borrower": borrower.user,
            "officer": officer,
            "other_officer": other_officer,
            "staff": staff,
        },
        partner=partner,
        borrower=borrower,
        draft=_loan(officer, borrower, stage="draft"),
        fundraising=_loan(officer, borrower, stage="fundraising"),
        paying=paying,
        deposit=CardPayment.objects.create(
            purpose=CardPayment.Purpose.DEPOSIT,
            user=lender,
            amount_cents=2_500,
            currency="USD",
            request_key="matrix-deposit",
        ),
        withdrawal=Withdrawal.objects.create(
            lender=lender, amount_cents=500, currency="USD", request_key="matrix-withdrawal", journal=hold
        ),
        endpoint=endpoint,
        delivery=WebhookDelivery.objects.create(event=event, endpoint=endpoint),
    )


def _expect(
    anonymous: int | str,
    lender: int | str,
    other_lender: int | str,
    borrower: int | str,
    officer: int | str,
    other_officer: int | str,
    staff: int | str,
) -> dict[str, int | str]:
    return dict(zip(CALLERS, [anonymous, lender, other_lender, borrower, officer, other_officer, staff], strict=True))


EVERYONE = _expect(OK, OK, OK, OK, OK, OK, OK)
SIGNED_IN = _expect(401, OK, OK, OK, OK, OK, OK)
LENDERS = _expect(401, OK, OK, 403, 403, 403, 403)
OWN_LENDER = _expect(401, OK, 404, 403, 403, 403, 403)  # the lender's own deposit or withdrawal
UNLISTED = _expect(404, 404, 404, OK, OK, 404, OK)  # a loan not yet listed: its borrower, partner, staff
UNLISTED_SIGNED_IN = _expect(401, 404, 404, OK, OK, 404, OK)
REVIEWERS = _expect(401, 403, 403, 403, OK, 403, OK)  # a listed loan: everyone sees it, its partner and staff act
STAFF_ONLY = _expect(401, 403, 403, 403, 403, 403, OK)
PARTNER_PEOPLE = _expect(401, 403, 403, OK, OK, OK, OK)
PARTNER_STAFF = _expect(401, 403, 403, 403, OK, OK, OK)
OWN_PARTNER_OBJECT = _expect(401, 404, 404, 404, OK, 404, OK)


@dataclass(frozen=True)
class Row:
    method: str
    url: Callable[[World], str]
    expect: dict[str, int | str]
    body: Any = None


def _loan_url(attr: str, suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/v1/loans/{getattr(w, attr).pk}/{suffix}"


MATRIX: dict[str, list[Row]] = {
    "schedule-preview": [Row("post", lambda w: "/api/v1/schedule-preview/", EVERYONE, {})],
    "loans": [Row("get", lambda w: "/api/v1/loans/", EVERYONE)],
    "loan-drafts": [Row("post", lambda w: "/api/v1/loans/drafts/", SIGNED_IN, {})],
    "loan": [
        Row("get", _loan_url("draft"), UNLISTED),
        Row("get", _loan_url("paying"), EVERYONE),
    ],
    "loan-lenders": [
        Row("get", _loan_url("draft", "lenders/"), UNLISTED),
        Row("get", _loan_url("paying", "lenders/"), EVERYONE),
    ],
    # A submitted loan cannot be submitted again (409): only those who may edit it are told so.
    "loan-submit": [Row("post", _loan_url("fundraising", "submit/"), _expect(401, 403, 403, OK, OK, 403, OK))],
    "loan-shares": [Row("post", _loan_url("paying", "shares/"), LENDERS, {})],
    "loan-draft": [
        Row("patch", lambda w: f"/api/v1/loans/drafts/{w.draft.pk}/", UNLISTED_SIGNED_IN, {"amount_cents": -5}),
        # As a draft, a loan exists only for those who may edit it, even once it is listed.
        Row("delete", lambda w: f"/api/v1/loans/drafts/{w.paying.pk}/", UNLISTED_SIGNED_IN),
    ],
    "loan-draft-cancel": [Row("post", lambda w: f"/api/v1/loans/drafts/{w.draft.pk}/cancel/", UNLISTED_SIGNED_IN, {})],
    "my-loans": [Row("get", lambda w: "/api/v1/me/loans/", SIGNED_IN)],
    "loan-repayments": [
        Row("get", _loan_url("draft", "repayments/"), UNLISTED),
        Row("get", _loan_url("paying", "repayments/"), EVERYONE),
        Row("post", _loan_url("draft", "repayments/"), _expect(401, 404, 404, 403, OK, 404, OK), {}),
    ],
    # Only a direct loan's borrower pays by card; this one is a partner's loan (409 for its borrower).
    "loan-card-repayments": [
        Row("post", _loan_url("paying", "card-repayments/"), _expect(401, 403, 403, OK, 403, 403, 403), {})
    ],
    "loan-card-repayment": [
        Row(
            "get",
            lambda w: f"/api/v1/loans/{w.paying.pk}/card-repayments/{w.deposit.pk}/",
            _expect(401, 403, 403, 404, 403, 403, 403),
        )
    ],
    "loan-approve": [Row("post", _loan_url("fundraising", "approve/"), REVIEWERS, {})],
    "loan-reject": [Row("post", _loan_url("fundraising", "reject/"), REVIEWERS, {})],
    "loan-publish": [Row("post", _loan_url("fundraising", "publish/"), REVIEWERS, {})],
    "loan-disburse": [Row("post", _loan_url("fundraising", "disburse/"), REVIEWERS, {})],
    "loan-refund": [Row("post", _loan_url("paying", "refund/"), STAFF_ONLY, {})],
    "loan-write-off": [Row("post", _loan_url("fundraising", "write-off/"), STAFF_ONLY, {})],
    "metrics-series": [Row("get", lambda w: "/api/v1/metrics/series/", EVERYONE)],
    "repayment-batches": [Row("post", lambda w: "/api/v1/repayment-batches/", PARTNER_STAFF, {})],
    "portfolio": [Row("get", lambda w: "/api/v1/portfolio/", LENDERS)],
    "wallet": [Row("get", lambda w: "/api/v1/wallet/", LENDERS)],
    "deposits": [Row("post", lambda w: "/api/v1/wallet/deposits/", LENDERS, {})],
    "deposit": [Row("get", lambda w: f"/api/v1/wallet/deposits/{w.deposit.pk}/", OWN_LENDER)],
    "withdrawals": [Row("post", lambda w: "/api/v1/wallet/withdrawals/", LENDERS, {})],
    "withdrawal": [Row("get", lambda w: f"/api/v1/wallet/withdrawals/{w.withdrawal.pk}/", OWN_LENDER)],
    "wallet-statement": [Row("get", lambda w: "/api/v1/wallet/statement/", LENDERS)],
    "my-statistics": [Row("get", lambda w: "/api/v1/me/statistics/", LENDERS)],
    "auto-lending": [
        Row("get", lambda w: "/api/v1/auto-lending/", LENDERS),
        Row("put", lambda w: "/api/v1/auto-lending/", LENDERS, {"idle_days": -1}),
    ],
    "auto-lending-dry-run": [Row("post", lambda w: "/api/v1/auto-lending/dry-run/", LENDERS, {})],
    "borrowers": [
        Row("get", lambda w: "/api/v1/borrowers/", PARTNER_PEOPLE),
        Row("post", lambda w: "/api/v1/borrowers/", PARTNER_STAFF, {}),
    ],
    "borrower": [Row("get", lambda w: f"/api/v1/borrowers/{w.borrower.pk}/", _expect(401, 403, 403, OK, OK, 404, OK))],
    "partners": [Row("get", lambda w: "/api/v1/partners/", EVERYONE)],
    "partner-me": [Row("get", lambda w: "/api/v1/partners/me/", _expect(401, 404, 404, 404, OK, OK, 404))],
    "partner": [Row("get", lambda w: f"/api/v1/partners/{w.partner.pk}/", EVERYONE)],
    "partner-metrics": [Row("get", lambda w: f"/api/v1/partners/{w.partner.pk}/metrics/", EVERYONE)],
    "webhook-endpoints": [
        Row("get", lambda w: "/api/v1/webhooks/endpoints/", PARTNER_STAFF),
        Row("post", lambda w: "/api/v1/webhooks/endpoints/", PARTNER_STAFF, {}),
    ],
    "webhook-endpoint": [
        Row("get", lambda w: f"/api/v1/webhooks/endpoints/{w.endpoint.pk}/", OWN_PARTNER_OBJECT),
        Row("patch", lambda w: f"/api/v1/webhooks/endpoints/{w.endpoint.pk}/", OWN_PARTNER_OBJECT, {"url": "ftp://x"}),
    ],
    "webhook-rotate-secret": [
        Row("post", lambda w: f"/api/v1/webhooks/endpoints/{w.endpoint.pk}/rotate-secret/", OWN_PARTNER_OBJECT, {})
    ],
    "webhook-deliveries": [
        Row("get", lambda w: f"/api/v1/webhooks/endpoints/{w.endpoint.pk}/deliveries/", OWN_PARTNER_OBJECT)
    ],
    "webhook-delivery-retry": [
        Row("post", lambda w: f"/api/v1/webhooks/deliveries/{w.delivery.pk}/retry/", OWN_PARTNER_OBJECT, {})
    ],
}


def _api_routes() -> dict[str, URLPattern]:
    """Every named route under the `api` namespace."""
    resolver = get_resolver()
    (api,) = [r for r in resolver.url_patterns if getattr(r, "namespace", None) == "api"]
    return {p.name: p for p in api.url_patterns if isinstance(p, URLPattern) and p.name}


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _call(client: APIClient, row: Row, world: World, key: str) -> Any:
    method = getattr(client, row.method)
    kwargs: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key}
    if row.body is not None:
        kwargs.update(data=row.body, format="json")
    return method(row.url(world), **kwargs)


def test_every_route_of_the_api_has_a_row_in_the_matrix():
    assert sorted(_api_routes()) == sorted(MATRIX)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_caller_gets_what_the_matrix_says_and_never_a_server_error(world, name):
    got, wanted = {}, {}
    for number, row in enumerate(MATRIX[name]):
        for caller in CALLERS:
            response = _call(_client(world.people[caller]), row, world, f"matrix-{name}-{number}-{caller}")
            label = f"{row.method.upper()} {row.url(world)} as {caller}"
            got[label] = response.status_code if response.status_code not in LET_THROUGH else OK
            wanted[label] = row.expect[caller]
            assert response.status_code < 500, (label, response.content[:500])
    assert got == wanted


def _scopes(pattern: URLPattern, row: Row, world: World) -> set[str]:
    """The scopes a route's permissions ask of an API key for the row's method (views may vary them by method)."""
    view_class = getattr(pattern.callback, "cls", None) or pattern.callback.view_class  # type: ignore[attr-defined]
    view = view_class()
    view.request = view.initialize_request(getattr(APIRequestFactory(), row.method)(row.url(world)))
    view.args, view.kwargs, view.format_kwarg = (), {}, None
    return {p.required_scope for p in view.get_permissions() if hasattr(p, "required_scope")}


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_a_key_needs_the_routes_scope_whoever_holds_it(world, name):
    """A key with every scope but the route's is refused (403 naming it); with the route's, it acts as its user."""
    pattern = _api_routes()[name]
    for number, row in enumerate(MATRIX[name]):
        needed = _scopes(pattern, row, world)
        allowed = [c for c in CALLERS[1:] if row.expect[c] == OK]
        if not needed or not allowed:
            continue
        holder = world.people[allowed[-1]]
        _, lacking = api_key_create(user=holder, name="lacking", scopes=sorted(set(Scope.values) - needed))
        _, having = api_key_create(user=holder, name="having", scopes=sorted(needed))

        refused = _call(APIClient(HTTP_AUTHORIZATION=f"Bearer {lacking}"), row, world, f"scope-{name}-{number}-a")
        let_through = _call(APIClient(HTTP_AUTHORIZATION=f"Bearer {having}"), row, world, f"scope-{name}-{number}-b")

        assert refused.status_code == 403, (name, row.method, refused.status_code)
        assert any(s in refused.json()["error"]["message"] for s in needed), refused.json()
        assert let_through.status_code in LET_THROUGH, (name, row.method, let_through.status_code, let_through.content)


def test_the_scope_check_sees_scopes_that_vary_by_method(world):
    """The introspection above finds different scopes for reading and changing the same address."""
    pattern = _api_routes()["auto-lending"]
    read, write = MATRIX["auto-lending"]
    assert _scopes(pattern, read, world) == {"wallet:read"}
    assert _scopes(pattern, write, world) == {"lending:write"}
