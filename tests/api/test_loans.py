"""GET /api/v1/loans/, /api/v1/loans/<id>/ and /api/v1/loans/<id>/lenders/: anyone lists public loans
(fundraising by default), filtered by status, sector, country, partner, gender, amount and days left,
sorted four ways and walked page by page with cursors; a loan not yet listed exists only for its borrower,
its partner's staff and platform staff; the detail shows funding progress and, once disbursed, each
installment's state; the lenders list hides those who lend privately; and the number of queries does not
grow with the page size, the number of installments or the number of lenders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, LenderProfile, User
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db

LOANS = "/api/v1/loans/"


def _today() -> date:
    return timezone.localdate()


def _funded_lender(cents: int = 100_000) -> User:
    user = LenderFactory()
    cash, wallet = platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=user, currency="USD")
    journal_post(
        idempotency_key=f"test-credit:{user.pk}",
        kind="deposit",
        lines=[Line(cash, wallet, cents)],
    )
    return user


@dataclass
class Cast:
    """The people of these tests: platform staff, two field partners with an officer each, their borrowers."""

    staff: User
    partner_a: FieldPartner
    officer_a: User
    borrower_a: BorrowerProfile  # has a login
    partner_b: FieldPartner
    officer_b: User
    borrower_b: BorrowerProfile
    lenders: list[User] = field(default_factory=list)


@pytest.fixture
def cast() -> Cast:
    partner_a = people.field_partner_create(name="Lake Partner", country="KE")
    partner_b = people.field_partner_create(name="Hill Partner", country="UG")
    return Cast(
        staff=people.platform_staff_create(email="loans-staff@example.org", password=None, full_name="Sam Staff"),
        partner_a=partner_a,
        officer_a=people.partner_staff_add(
            partner=partner_a, email="officer-a@example.org", password="tea-garden-ledger-42", full_name="Ada Officer"
        ).user,
        borrower_a=people.borrower_create(
            display_name="Grace N.", country="KE", partner=partner_a, email="grace@example.org", password=None
        ),
        partner_b=partner_b,
        officer_b=people.partner_staff_add(
            partner=partner_b, email="officer-b@example.org", password="hill-river-ledger-42", full_name="Bo Officer"
        ).user,
        borrower_b=people.borrower_create(display_name="Joseph K.", country="UG", partner=partner_b),
        lenders=[_funded_lender() for _ in range(4)],
    )


def _loan(
    officer: User,
    borrower: BorrowerProfile,
    *,
    stage: str = "fundraising",
    amount: int = 10_000,
    sector: str = "agriculture",
    gender: str = "female",
    published: date | None = None,
    days: int = 30,
    buys: tuple[tuple[User, int], ...] = (),
    disbursed: date | None = None,
    **terms: object,
) -> Loan:
    """A loan built through the services up to `stage`: draft, submitted, fundraising (with `buys`), or paying back."""
    loan = loan_apply(
        actor=officer, borrower=borrower, amount_cents=amount, currency="USD", purpose=f"{sector} loan",
        sector=sector, repayments=terms.pop("repayments", 12), borrower_gender=gender, fundraising_days=days, **terms,
    )  # fmt: skip
    if stage == "draft":
        return loan
    loan_submit(loan=loan, actor=officer)
    if stage == "submitted":
        return loan
    published = published or _today()
    loan_approve(loan=loan, actor=officer, on=published)
    loan_publish(loan=loan, actor=officer, on=published)
    for n, (lender, cents) in enumerate(buys):
        share_purchase(loan=loan, lender=lender, amount_cents=cents, idempotency_key=f"buy-{loan.pk}-{n}", on=published)
    if disbursed is not None:
        loan_disburse(loan=loan, actor=officer, on=disbursed)
    loan.refresh_from_db()
    return loan


@dataclass
class Market:
    cast: Cast
    fundraising: list[Loan]
    lender_counts: dict[int, int]
    funded: Loan
    paying_back: Loan
    draft: Loan
    submitted: Loan


@pytest.fixture
def market(cast: Cast) -> Market:
    """Five loans fundraising (with ties in deadline, amount left and lender count), and one at each other stage."""
    today = _today()
    ann, bea, cal, dan = cast.lenders
    a = (cast.officer_a, cast.borrower_a)  # partner A, Kenya
    b = (cast.officer_b, cast.borrower_b)  # partner B, Uganda
    specs = [
        # (officer, borrower), amount, sector, gender, published days ago, fundraising days, purchases
        (a, 10_000, "agriculture", "female", 5, 30, ((ann, 2_500), (bea, 2_500))),  # 25 days left
        (a, 20_000, "retail", "male", 24, 30, ((ann, 2_500),)),  # 6 days left
        (b, 5_000, "agriculture", "female", 1, 7, ()),  # 6 days left
        (b, 30_000, "food", "mixed", 0, 60, ((ann, 2_500), (bea, 2_500), (cal, 2_500))),  # 60 days left
        (a, 7_500, "agriculture", "female", 28, 30, ((cal, 2_500), (dan, 2_500))),  # 2 days left
    ]
    fundraising, counts = [], {}
    for (officer, borrower), amount, sector, gender, ago, days, buys in specs:
        loan = _loan(officer, borrower, amount=amount, sector=sector, gender=gender,
                     published=today - timedelta(days=ago), days=days, buys=buys)  # fmt: skip
        fundraising.append(loan)
        counts[loan.pk] = len({lender.pk for lender, _ in buys})
    funded = _loan(*a, amount=5_000, buys=((ann, 2_500), (dan, 2_500)))
    paying_back = _loan(
        *b,
        amount=5_000,
        buys=((bea, 5_000),),
        published=today - timedelta(days=10),
        disbursed=today - timedelta(days=5),
    )
    draft = _loan(*a, stage="draft")
    submitted = _loan(*a, stage="submitted")
    assert (funded.status, paying_back.status) == (Loan.Status.FUNDED, Loan.Status.PAYING_BACK)
    return Market(cast, fundraising, counts, funded, paying_back, draft, submitted)


def _as(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _walk(client: APIClient, url: str) -> tuple[list[int], int]:
    """Every id of every page, following the `next` links; and how many pages it took."""
    ids: list[int] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) <= 2
        ids += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
        assert pages < 20, "the cursor never ends"
    return ids, pages


# --- the list --------------------------------------------------------------------------------------


def test_anyone_lists_the_loans_fundraising_by_default(market):
    response = APIClient().get(LOANS)

    assert _ids(response) == {loan.pk for loan in market.fundraising}
    assert {row["status"] for row in response.json()["results"]} == {"fundraising"}


def test_several_statuses_may_be_asked_for_at_once(market):
    response = APIClient().get(LOANS, {"status": ["funded", "paying_back"]})

    assert _ids(response) == {market.funded.pk, market.paying_back.pk}


def test_a_loan_not_yet_listed_is_never_listed_for_anonymous_callers_or_other_people(market):
    hidden = {"status": ["draft", "submitted", "fundraising"]}
    public = {loan.pk for loan in market.fundraising}

    assert _ids(APIClient().get(LOANS, hidden)) == public
    assert _ids(_as(market.cast.lenders[0]).get(LOANS, hidden)) == public
    assert _ids(_as(market.cast.officer_b).get(LOANS, hidden)) == public


def test_a_partners_staff_and_platform_staff_list_the_partners_drafts(market):
    mine = {"status": ["draft", "submitted"]}

    assert _ids(_as(market.cast.officer_a).get(LOANS, mine)) == {market.draft.pk, market.submitted.pk}
    assert _ids(_as(market.cast.staff).get(LOANS, mine)) == {market.draft.pk, market.submitted.pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"sector": "agriculture"}, [0, 2, 4]),
        ({"sector": ["food", "retail"]}, [1, 3]),
        ({"country": "ke"}, [0, 1, 4]),
        ({"country": "UG"}, [2, 3]),
        ({"borrower_gender": "female"}, [0, 2, 4]),
        ({"borrower_gender": "mixed"}, [3]),
        ({"amount_left_min": 5_000, "amount_left_max": 17_500}, [0, 1, 2]),
        ({"amount_left_min": 17_501}, [3]),
        ({"amount_left_max": 2_500}, [4]),
        ({"days_left_max": 2}, [4]),
        ({"days_left_max": 6}, [1, 2, 4]),
        ({"days_left_max": 25}, [0, 1, 2, 4]),
        ({"days_left_max": "2.5"}, [4]),
        ({"days_left_max": "1e40"}, [0, 1, 2, 3, 4]),
        ({"expiring_soon": "true"}, [1, 2, 4]),
        ({"expiring_soon": "false"}, [0, 3]),
        ({"sector": "agriculture", "country": "KE", "amount_left_max": 4_000}, [4]),
    ],
)
def test_filters_narrow_the_fundraising_loans(market, query, expected):
    response = APIClient().get(LOANS, query)

    assert _ids(response) == {market.fundraising[i].pk for i in expected}


def test_the_partner_filter_takes_a_partner_id(market):
    response = APIClient().get(LOANS, {"partner": market.cast.partner_b.pk})

    assert _ids(response) == {market.fundraising[2].pk, market.fundraising[3].pk}


def test_filters_apply_to_the_statuses_asked_for(market):
    response = APIClient().get(LOANS, {"status": ["fundraising", "paying_back"], "partner": market.cast.partner_b.pk})

    assert _ids(response) == {market.fundraising[2].pk, market.fundraising[3].pk, market.paying_back.pk}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": ["fundraising", "bogus"]}, "status"),
        ({"sort": "bogus"}, "sort"),
        ({"sector": "mining"}, "sector"),
        ({"borrower_gender": "x"}, "borrower_gender"),
        ({"partner": "abc"}, "partner"),
        ({"amount_left_min": "abc"}, "amount_left_min"),
        ({"amount_left_max": "1e999"}, "amount_left_max"),
        ({"days_left_max": "abc"}, "days_left_max"),
        ({"days_left_max": "-1"}, "days_left_max"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_field(market, query, field):
    response = APIClient().get(LOANS, query)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]


# --- sorting and cursors ----------------------------------------------------------------------------


def _expected_order(market: Market, sort: str) -> list[int]:
    loans = market.fundraising
    keys = {
        "newest": lambda loan: (-loan.created_at.timestamp(), -loan.pk),
        "expiring": lambda loan: (loan.fundraising_deadline, loan.pk),
        "amount_left": lambda loan: (loan.amount_cents - loan.raised_cents, loan.pk),
        "popularity": lambda loan: (-market.lender_counts[loan.pk], -loan.pk),
    }
    return [loan.pk for loan in sorted(loans, key=keys[sort])]


@pytest.mark.parametrize("sort", ["newest", "expiring", "amount_left", "popularity"])
def test_each_sort_orders_the_loans_and_two_per_page_walks_every_loan_once(market, sort):
    ids, pages = _walk(APIClient(), f"{LOANS}?sort={sort}&page_size=2")

    assert ids == _expected_order(market, sort)
    assert pages == 3


def test_newest_first_is_the_default_order(market):
    ids, _ = _walk(APIClient(), f"{LOANS}?page_size=2")

    assert ids == [loan.pk for loan in reversed(market.fundraising)]


def test_the_market_has_ties_for_the_cursors_to_get_past(market):
    deadlines = [loan.fundraising_deadline for loan in market.fundraising]
    left = [loan.amount_cents - loan.raised_cents for loan in market.fundraising]

    assert len(set(deadlines)) < len(deadlines)
    assert len(set(left)) < len(left)
    assert len(set(market.lender_counts.values())) < len(market.lender_counts)


def test_a_cursor_walk_with_filters_keeps_them_on_every_page(market):
    ids, _ = _walk(APIClient(), f"{LOANS}?sort=expiring&page_size=2&sector=agriculture")

    agriculture = {market.fundraising[i].pk for i in (0, 2, 4)}
    assert ids == [pk for pk in _expected_order(market, "expiring") if pk in agriculture]


@pytest.mark.parametrize("sort", ["newest", "expiring", "amount_left", "popularity"])
def test_a_walk_over_loans_with_and_without_a_deadline_sees_each_once(market, sort):
    """Drafts have no fundraising deadline: sorted by expiring they come last, and a cursor can pass them."""
    loans = [*market.fundraising, market.funded, market.paying_back, market.draft, market.submitted]
    statuses = "&".join(f"status={status}" for status in ("draft", "submitted", "fundraising", "funded", "paying_back"))

    ids, _ = _walk(_as(market.cast.staff), f"{LOANS}?{statuses}&sort={sort}&page_size=2")

    assert sorted(ids) == sorted(loan.pk for loan in loans)
    if sort == "expiring":
        assert ids[-2:] == [market.draft.pk, market.submitted.pk]


def test_a_walk_does_not_repeat_or_skip_when_a_loan_is_listed_meanwhile(market):
    client = APIClient()
    first = client.get(LOANS, {"page_size": 2}).json()
    newer = _loan(market.cast.officer_a, market.cast.borrower_a, amount=2_500)
    rest, _ = _walk(client, first["next"])

    assert [row["id"] for row in first["results"]] + rest == [loan.pk for loan in reversed(market.fundraising)]
    assert newer.pk not in rest


def test_a_cursor_that_was_not_given_by_the_api_is_a_404(market):
    response = APIClient().get(LOANS, {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- who sees a loan not yet listed ------------------------------------------------------------------


def _viewers(market: Market) -> dict[str, APIClient]:
    borrower = APIClient()
    borrower.force_login(market.cast.borrower_a.user)
    return {
        "anonymous": APIClient(),
        "a lender": _as(market.cast.lenders[0]),
        "another partner's staff": _as(market.cast.officer_b),
        "its borrower": borrower,
        "its partner's staff": _as(market.cast.officer_a),
        "platform staff": _as(market.cast.staff),
    }


@pytest.mark.parametrize("stage", ["draft", "submitted"])
@pytest.mark.parametrize(
    ("viewer", "status"),
    [
        ("anonymous", 404),
        ("a lender", 404),
        ("another partner's staff", 404),
        ("its borrower", 200),
        ("its partner's staff", 200),
        ("platform staff", 200),
    ],
)
def test_a_loan_not_yet_listed_exists_only_for_its_borrower_its_partner_and_staff(market, stage, viewer, status):
    loan = getattr(market, stage)
    client = _viewers(market)[viewer]

    detail = client.get(f"{LOANS}{loan.pk}/")
    lenders = client.get(f"{LOANS}{loan.pk}/lenders/")

    assert (detail.status_code, lenders.status_code) == (status, status)
    if status == 200:
        assert detail.json()["status"] == stage
    else:
        assert detail.json()["error"]["code"] == lenders.json()["error"]["code"] == "not_found"
        assert stage not in detail.content.decode()


def test_a_public_loan_is_open_to_anyone(market):
    assert APIClient().get(f"{LOANS}{market.paying_back.pk}/").status_code == 200
    assert APIClient().get(f"{LOANS}{market.fundraising[0].pk}/lenders/").status_code == 200


def test_an_unknown_loan_is_a_404_with_the_code_not_found(market):
    for url in (f"{LOANS}999999/", f"{LOANS}999999/lenders/"):
        response = APIClient().get(url)

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


# --- the detail ------------------------------------------------------------------------------------


def test_the_detail_shows_funding_progress(market):
    loan = market.fundraising[0]  # 10,000 asked, 5,000 raised by two lenders, 25 days left

    body = APIClient().get(f"{LOANS}{loan.pk}/").json()

    assert body["id"] == loan.pk
    assert (body["amount_cents"], body["raised_cents"], body["amount_left_cents"]) == (10_000, 5_000, 5_000)
    assert body["funded_percent"] == 50
    assert body["lender_count"] == 2
    assert body["days_left"] == 25
    assert body["fundraising_deadline"] == (_today() + timedelta(days=25)).isoformat()
    assert (body["borrower_name"], body["partner"], body["partner_name"]) == ("Grace N.", market.cast.partner_a.pk,
                                                                              "Lake Partner")  # fmt: skip
    assert body["schedule"] == []


def test_a_lender_buying_twice_counts_once(cast):
    ann = cast.lenders[0]
    loan = _loan(cast.officer_a, cast.borrower_a, amount=20_000, buys=((ann, 2_500),))
    share_purchase(loan=loan, lender=ann, amount_cents=2_500, idempotency_key="again", on=_today())

    body = APIClient().get(f"{LOANS}{loan.pk}/").json()

    assert (body["raised_cents"], body["funded_percent"], body["lender_count"]) == (5_000, 25, 1)


def test_funded_percent_is_rounded_down(cast):
    loan = _loan(cast.officer_a, cast.borrower_a, amount=30_000, buys=((cast.lenders[0], 2_500),))

    assert APIClient().get(f"{LOANS}{loan.pk}/").json()["funded_percent"] == 8  # 8.33...


def test_days_left_is_empty_once_fundraising_is_over_and_zero_on_the_last_day(market, cast):
    last_day = _loan(cast.officer_a, cast.borrower_a, published=_today() - timedelta(days=30), days=30)

    assert APIClient().get(f"{LOANS}{last_day.pk}/").json()["days_left"] == 0
    assert APIClient().get(f"{LOANS}{market.funded.pk}/").json()["days_left"] is None
    assert APIClient().get(f"{LOANS}{market.paying_back.pk}/").json()["days_left"] is None


def _pay(loan: Loan, cents: int, key: str) -> None:
    repayment_record(loan=loan, amount_cents=cents, currency="USD", received_on=_today(), source="staff",
                     idempotency_key=key, actor=None)  # fmt: skip


def _paying_back(cast: Cast, *, disbursed_days_ago: int, repayments: int = 6, amount: int = 7_500) -> Loan:
    disbursed = _today() - timedelta(days=disbursed_days_ago)
    return _loan(
        cast.officer_a, cast.borrower_a, amount=amount, repayments=repayments, published=disbursed - timedelta(days=3),
        buys=((cast.lenders[0], amount),), disbursed=disbursed,
    )  # fmt: skip


def test_the_schedule_shows_repaid_late_and_future_installments(cast):
    loan = _paying_back(cast, disbursed_days_ago=70)  # 6 x 1,250: the first two due in the past
    _pay(loan, 1_250 + 400, "first-and-some")

    body = APIClient().get(f"{LOANS}{loan.pk}/").json()

    schedule = body["schedule"]
    assert [row["number"] for row in schedule] == [1, 2, 3, 4, 5, 6]
    assert [row["state"] for row in schedule] == ["repaid", "late", "future", "future", "future", "future"]
    assert [row["paid_cents"] for row in schedule] == [1_250, 400, 0, 0, 0, 0]
    assert all(row["total_cents"] == 1_250 for row in schedule)
    assert schedule[0]["paid_on"] == _today().isoformat()
    assert schedule[1]["paid_on"] is None
    assert date.fromisoformat(schedule[1]["due_date"]) < _today() < date.fromisoformat(schedule[2]["due_date"])
    assert body["disbursed_on"] == (_today() - timedelta(days=70)).isoformat()
    assert body["maturity_date"] == schedule[-1]["due_date"]


def test_the_schedule_shows_a_partly_paid_installment_not_yet_due_as_partial(cast):
    loan = _paying_back(cast, disbursed_days_ago=40)  # the first installment due in the past, the rest to come
    _pay(loan, 1_250 + 500, "ahead")

    schedule = APIClient().get(f"{LOANS}{loan.pk}/").json()["schedule"]

    assert [row["state"] for row in schedule] == ["repaid", "partial", "future", "future", "future", "future"]
    assert schedule[1]["paid_cents"] == 500


def test_an_installment_due_today_is_not_yet_late(cast):
    loan = _paying_back(cast, disbursed_days_ago=7, repayments=2)
    loan.installments.filter(number=1).update(due_date=_today())

    schedule = APIClient().get(f"{LOANS}{loan.pk}/").json()["schedule"]

    assert [row["state"] for row in schedule] == ["future", "future"]


# --- the lenders ------------------------------------------------------------------------------------


def test_the_lenders_list_shows_public_names_and_anonymous_for_private_lenders(market):
    ann, bea, cal, _ = market.cast.lenders
    loan = market.fundraising[3]  # 2,500 each from ann, bea and cal
    share_purchase(loan=loan, lender=bea, amount_cents=5_000, idempotency_key="more", on=_today())
    LenderProfile.objects.filter(user=cal).update(is_public=False)

    response = APIClient().get(f"{LOANS}{loan.pk}/lenders/")

    assert response.status_code == 200
    assert response.json() == [
        {"name": bea.lender_profile.display_name, "lent_cents": 7_500},
        {"name": ann.lender_profile.display_name, "lent_cents": 2_500},
        {"name": "Anonymous", "lent_cents": 2_500},
    ]
    assert cal.lender_profile.display_name not in response.content.decode()


def test_a_lender_without_a_profile_or_a_display_name_is_anonymous(cast):
    bare = User.objects.create_user(email="bare@example.org", password=None, full_name="Bare Lender")
    journal_post(
        idempotency_key="test-credit:bare", kind="deposit",
        lines=[Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=bare, currency="USD"),
                    10_000)],
    )  # fmt: skip
    blank = cast.lenders[1]
    LenderProfile.objects.filter(user=blank).update(display_name="")
    loan = _loan(cast.officer_a, cast.borrower_a, amount=10_000, buys=((bare, 5_000), (blank, 2_500)))

    names = [row["name"] for row in APIClient().get(f"{LOANS}{loan.pk}/lenders/").json()]

    assert names == ["Anonymous", "Anonymous"]


# --- query counts -----------------------------------------------------------------------------------


def _queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("viewer", ["anonymous", "its partner's staff"])
def test_the_list_runs_as_many_queries_for_twenty_loans_a_page_as_for_two(market, viewer):
    client = _viewers(market)[viewer]
    small = _queries(client, f"{LOANS}?page_size=2&status=fundraising&status=funded&status=paying_back")
    large = _queries(client, f"{LOANS}?page_size=20&status=fundraising&status=funded&status=paying_back")

    assert len(client.get(f"{LOANS}?page_size=20&status=fundraising&status=funded&status=paying_back")
               .json()["results"]) == 7  # fmt: skip
    assert small == large


def test_the_detail_runs_as_many_queries_for_twelve_installments_as_for_one(cast):
    one = _paying_back(cast, disbursed_days_ago=40, repayments=1, amount=2_500)
    twelve = _paying_back(cast, disbursed_days_ago=40, repayments=12, amount=12_500)
    _pay(twelve, 3_000, "some")
    assert (one.installments.count(), twelve.installments.count()) == (1, 12)

    assert _queries(APIClient(), f"{LOANS}{one.pk}/") == _queries(APIClient(), f"{LOANS}{twelve.pk}/")


def test_the_lenders_list_runs_as_many_queries_for_four_lenders_as_for_one(cast):
    one = _loan(cast.officer_a, cast.borrower_a, amount=10_000, buys=((cast.lenders[0], 2_500),))
    four = _loan(cast.officer_a, cast.borrower_a, amount=20_000,
                 buys=tuple((lender, 2_500) for lender in cast.lenders))  # fmt: skip
    LenderProfile.objects.filter(user=cast.lenders[2]).update(is_public=False)

    assert _queries(APIClient(), f"{LOANS}{one.pk}/lenders/") == _queries(APIClient(), f"{LOANS}{four.pk}/lenders/")
