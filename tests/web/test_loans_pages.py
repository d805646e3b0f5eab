"""The loan pages: anyone browses and searches loans (the API's filters and sorts) and reads a loan's page
(story, funding, schedule with each installment's state, partner figures, lenders); a lender lends in one
step from either, once per form token, by fetch (JSON with the refreshed panel) or by a plain post (a
redirect with a message); refusals come back in words and write nothing; unlisted loans are 404 to others;
and the queries do not grow with the number of loans, lenders or installments shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as people
from accounts.models import FieldPartner, LenderProfile, Role, User
from lending.loans.applications import loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderPosition, Loan, Share
from lending.loans.repayments import repayment_record
from lending.loans.selectors import lend_amounts
from lending.metrics.snapshots import snapshot_portfolio
from tests.factories import LenderFactory
from tests.loans import fund_wallet, wallet_cents

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def _today() -> date:
    return timezone.localdate()


@pytest.fixture
def open_loan(apply: Callable[..., Loan], officer: User) -> Callable[..., Loan]:
    """A loan fundraising from `published` (default today) for `fundraising_days`, built through the services."""

    def make(*, published: date | None = None, buys: tuple[tuple[User, int], ...] = (), **fields: object) -> Loan:
        published = published or _today()
        loan = apply(**fields)
        loan_submit(loan=loan, actor=officer, on=published)
        loan_approve(loan=loan, actor=officer, on=published)
        loan_publish(loan=loan, actor=officer, on=published)
        for n, (lender, cents) in enumerate(buys):
            share_purchase(
                loan=loan, lender=lender, amount_cents=cents, idempotency_key=f"t-{loan.pk}-{n}", on=published
            )
        loan.refresh_from_db()
        return loan

    return make


def _client(user: User | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _lender(cents: int = 100_000, **fields: object) -> User:
    user = LenderFactory(**fields)
    if cents:
        fund_wallet(user, cents)
    return user


def _key(html: str, loan: Loan) -> str:
    form = re.search(rf'action="/loans/{loan.pk}/lend/".*?</form>', html, re.S)
    assert form, f"no lend form for loan {loan.pk}"
    found = re.search(r'name="request_key" value="([^"]+)"', form.group(0))
    assert found
    return found.group(1)


def _card_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-testid="loan-card-(\d+)"', html)]


def _options(html: str, loan: Loan) -> list[str]:
    select = re.search(rf'<select id="lend-amount-{loan.pk}".*?</select>', html, re.S)
    assert select
    return re.findall(r'<option value="(\d+)"', select.group(0))


def _nothing_written(loan: Loan, lender: User, wallet_before: int) -> None:
    assert not Share.objects.filter(loan=loan, lender=lender).exists()
    assert wallet_cents(lender) == wallet_before
    assert Loan.objects.get(pk=loan.pk).raised_cents == loan.raised_cents


# --- who may see and do what -----------------------------------------------------------------------


def test_anonymous_visitors_browse_loans_and_are_asked_to_log_in_to_lend(open_loan):
    loan = open_loan(purpose="Buy a dairy cow")

    response = _client().get("/loans/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Lend to a borrower</h1>" in html
    assert _card_ids(html) == [loan.pk]
    assert "Grace N." in html
    assert "Buy a dairy cow" in html
    assert "Log in to lend" in html
    assert 'href="/accounts/login/?next=/loans/"' in html
    assert f'action="/loans/{loan.pk}/lend/"' not in html
    assert 'href="/loans/">Lend</a>' in html  # the nav link, for everyone


def test_anonymous_visitors_read_a_loans_page(open_loan):
    loan = open_loan()

    response = _client().get(f"/loans/{loan.pk}/")

    assert response.status_code == 200
    assert "Log in to lend" in response.content.decode()


def test_an_anonymous_lend_is_sent_to_log_in_and_writes_nothing(open_loan):
    loan = open_loan()

    plain = _client().post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2500, "request_key": "k1"})
    fetched = _client().post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2500, "request_key": "k1"}, **JSON)

    assert plain.status_code == 302
    assert plain["Location"] == f"/accounts/login/?next=/loans/{loan.pk}/"
    assert fetched.status_code == 401
    assert fetched.json()["message"] == "Log in to lend."
    assert not Share.objects.exists()


def test_lending_is_for_lenders_only_others_get_403_and_nothing_is_written(open_loan, officer, staff):
    loan = open_loan()
    borrower = people.borrower_create(
        display_name="Ruth A.", country="UG", email="ruth@example.org", password="river-stone-ledger-42"
    ).user
    for user in (borrower, officer, staff):
        plain = _client(user).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2500, "request_key": "k1"})
        fetched = _client(user).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2500, "request_key": "k1"}, **JSON)
        assert plain.status_code == 403
        assert "Lending is for lenders" in plain.content.decode()
        assert fetched.status_code == 403
        assert fetched.json() == {"ok": False, "message": "Only lenders can lend."}
        page = _client(user).get("/loans/").content.decode()
        assert "Only lenders can lend." in page
    assert not Share.objects.exists()


def test_lend_answers_only_post(open_loan):
    loan = open_loan()

    assert _client(_lender()).get(f"/loans/{loan.pk}/lend/").status_code == 405


def test_an_unlisted_loan_is_404_to_those_who_may_not_see_it(apply, officer, staff):
    draft = apply()
    submitted = apply()
    loan_submit(loan=submitted, actor=officer)
    ann = _lender()

    for loan in (draft, submitted):
        assert _client().get(f"/loans/{loan.pk}/").status_code == 404
        assert _client(ann).get(f"/loans/{loan.pk}/").status_code == 404
        assert (
            _client(ann).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2500, "request_key": "k"}).status_code == 404
        )
        assert _client(officer).get(f"/loans/{loan.pk}/").status_code == 200  # its partner's staff
        assert _client(staff).get(f"/loans/{loan.pk}/").status_code == 200
    assert _card_ids(_client(ann).get("/loans/?status=fundraising&status=funded").content.decode()) == []
    assert not Share.objects.exists()


def test_a_missing_loan_is_404(db):
    assert _client().get("/loans/999999/").status_code == 404


# --- search: the API's filters and sorts -----------------------------------------------------------


@pytest.fixture
def shelf(open_loan, partner, officer) -> dict[str, Loan]:
    """Loans differing in one filter each, all fundraising unless named otherwise."""
    ann, bea, cal = _lender(), _lender(), _lender()
    other = people.field_partner_create(name="Lake Partner", country="KE")
    lake_officer = people.partner_staff_add(
        partner=other, email="lake@example.org", password="lake-house-ledger-42", full_name="Lee Officer"
    ).user
    kenyan = people.borrower_create(display_name="Joseph K.", country="KE", partner=other)
    loans = {
        "cow": open_loan(purpose="cow", amount_cents=60_000, borrower_gender="female", fundraising_days=30),
        "shop": open_loan(
            purpose="shop", sector="retail", amount_cents=20_000, borrower_gender="male", fundraising_days=5,
            buys=((ann, 2_500), (bea, 2_500), (cal, 2_500)),
        ),
        "goats": open_loan(purpose="goats", amount_cents=10_000, fundraising_days=60, buys=((ann, 5_000),)),
    }  # fmt: skip
    from lending.loans.applications import loan_apply

    lake = loan_apply(
        actor=lake_officer, borrower=kenyan, amount_cents=40_000, currency="USD", purpose="boat", sector="food",
        repayments=6, country="KE", fundraising_days=20,
    )  # fmt: skip
    loan_submit(loan=lake, actor=lake_officer)
    loan_approve(loan=lake, actor=lake_officer)
    loan_publish(loan=lake, actor=lake_officer)
    loans["boat"] = lake
    funded = open_loan(purpose="funded", amount_cents=5_000, buys=((ann, 5_000),))
    assert funded.status == Loan.Status.FUNDED
    loans["funded"] = funded
    return loans


def _found(query: str, user: User | None = None) -> list[str]:
    response = _client(user).get(f"/loans/{query}")
    assert response.status_code == 200, response.content.decode()[:2000]
    ids = _card_ids(response.content.decode())
    purposes = dict(Loan.objects.filter(pk__in=ids).values_list("pk", "purpose"))
    return [purposes[pk] for pk in ids]


def test_the_list_shows_fundraising_loans_newest_first_by_default(shelf):
    assert _found("") == ["boat", "goats", "shop", "cow"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=funded", ["funded"]),
        ("?status=funded&status=fundraising", ["funded", "boat", "goats", "shop", "cow"]),
        ("?sector=retail", ["shop"]),
        ("?sector=retail&sector=food", ["boat", "shop"]),
        ("?country=ke", ["boat"]),
        ("?borrower_gender=male", ["shop"]),
        ("?amount_left_min=100&amount_left_max=400", ["boat", "shop"]),
        ("?amount_left_max=50", ["goats"]),
        ("?days_left_max=10", ["shop"]),
        ("?expiring_soon=on", ["shop"]),
    ],
)
def test_filters_narrow_the_list_as_the_api_does(shelf, query, expected):
    assert _found(query) == expected


def test_the_partner_filter_keeps_that_partners_loans(shelf):
    lake = FieldPartner.objects.get(name="Lake Partner")

    assert _found(f"?partner={lake.pk}") == ["boat"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["boat", "goats", "shop", "cow"]),
        ("expiring", ["shop", "boat", "cow", "goats"]),
        ("amount_left", ["goats", "shop", "boat", "cow"]),
        ("popularity", ["shop", "goats", "boat", "cow"]),
    ],
)
def test_sorts_order_the_list(shelf, sort, expected):
    assert _found(f"?sort={sort}") == expected


def test_bad_filters_come_back_next_to_their_field_and_are_ignored(shelf):
    response = _client().get("/loans/?country=Kenya&amount_left_min=300&amount_left_max=100&days_left_max=-1")

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_country_error"' in html
    assert "Enter a two-letter country code, such as KE or UG." in html
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*id_country_error', html) or re.search(
        r'<input[^>]*aria-describedby="[^"]*id_country_error[^"]*"[^>]*aria-invalid="true"', html
    )
    assert "Must be at least the lower amount." in html
    assert 'id="id_days_left_max_error"' in html
    assert _found("?amount_left_min=300") == ["boat", "cow"]
    assert len(_card_ids(html)) == 2  # the invalid filters are left out, the valid one (at least $300 left) kept


def test_the_list_pages_through_the_loans_keeping_the_filters(open_loan):
    for n in range(13):
        open_loan(purpose=f"loan {n}")

    first = _client().get("/loans/?sector=agriculture").content.decode()
    second = _client().get("/loans/?sector=agriculture&page=2").content.decode()

    assert len(_card_ids(first)) == 12
    assert "13 loans found" in first
    assert 'href="?sector=agriculture&amp;page=2"' in first
    assert len(_card_ids(second)) == 1
    assert "Page 2 of 2" in second


# --- cards and the loan page -----------------------------------------------------------------------


def test_a_card_shows_the_borrower_placeholder_progress_amount_left_and_days_left(open_loan):
    loan = open_loan(amount_cents=10_000, fundraising_days=12, buys=((_lender(), 2_500),))

    html = _client().get("/loans/").content.decode()

    assert 'role="img" aria-label="Photo placeholder for Grace N."' in html
    assert ">GN</span>" in html
    assert '<progress class="funding" max="10000" value="2500"' in html
    assert 'data-testid="funded">25% funded<' in html
    assert 'data-testid="amount-left">$75.00 to go<' in html
    assert 'data-testid="days-left">12 days left<' in html
    assert "<img" not in html
    assert "http://" not in html.split("<main>")[1]
    assert loan.pk in _card_ids(html)


def test_a_lender_sees_amounts_up_to_what_is_left_and_what_the_wallet_holds(open_loan):
    loan = open_loan(amount_cents=60_000)
    small = _lender(6_000)  # $60: two shares
    rich = _lender(100_000)
    nearly = open_loan(amount_cents=10_000, buys=((rich, 5_000),))  # $50 left

    small_page = _client(small).get("/loans/").content.decode()
    rich_page = _client(rich).get("/loans/").content.decode()

    assert _options(small_page, loan) == ["2500", "5000"]
    assert 'data-testid="wallet-balance" data-wallet-balance data-currency="USD">$60.00<' in small_page
    assert _options(rich_page, nearly) == ["2500", "5000"]
    assert _options(rich_page, loan)[:3] == ["2500", "5000", "7500"]
    assert _options(rich_page, loan)[-1] == "60000"


def test_a_lender_with_less_than_a_share_is_asked_to_add_money(open_loan):
    open_loan()

    html = _client(_lender(1_000)).get("/loans/").content.decode()

    assert 'href="/wallet/deposit/">Add money</a> to your wallet to lend.' in html
    assert 'name="amount_cents"' not in html


def test_the_amounts_offered_are_every_share_up_to_twenty_then_coarser_then_the_most(db):
    amounts = lend_amounts(share_cents=2_500, left_cents=200_000, wallet_cents=123_456)

    assert amounts[:20] == [n * 2_500 for n in range(1, 21)]
    assert amounts[20:] == [40 * 2_500, 49 * 2_500]  # 49 shares: all the wallet's $1,234.56 allows
    assert lend_amounts(share_cents=2_500, left_cents=2_500, wallet_cents=10_000) == [2_500]
    assert lend_amounts(share_cents=2_500, left_cents=10_000, wallet_cents=2_499) == []


@pytest.fixture
def repaying(partner, officer, borrower, open_loan) -> Loan:
    """A partner loan disbursed 45 days ago, monthly: the first installment paid, the second in part."""
    partner.risk_rating = Decimal("4.5")
    partner.save()
    ann = _lender(cents=100_000)
    ann.lender_profile.display_name = "Ann from Oslo"
    ann.lender_profile.save()
    shy = _lender(cents=100_000)
    LenderProfile.objects.filter(user=shy).update(is_public=False)
    start = _today() - timedelta(days=45)
    loan = open_loan(
        published=start - timedelta(days=3), amount_cents=30_000, repayments=3, buys=((ann, 20_000), (shy, 10_000))
    )
    loan_disburse(loan=loan, actor=officer, on=start)
    repayment_record(
        loan=loan, amount_cents=15_000, currency="USD", received_on=_today(), source="staff",
        idempotency_key="r1", actor=None,
    )  # fmt: skip
    return loan


def test_the_loan_page_shows_story_funding_schedule_states_partner_figures_and_lenders(repaying):
    snapshot_portfolio(_today())

    html = _client().get(f"/loans/{repaying.pk}/").content.decode()

    assert '<h1 id="loan-title">Grace N.</h1>' in html
    assert "A loan of $300.00 helps Grace N.: <q>Buy a dairy cow</q>" in html
    assert 'data-testid="funded">100% funded<' in html
    assert 'data-testid="days-left">Paying back<' in html
    states = re.findall(r'<tr data-state="(\w+)">', html)
    assert states == ["repaid", "partial", "future"]
    assert ">Repaid " in html
    assert ">Partly paid<" in html
    assert ">Upcoming<" in html
    assert 'data-testid="partner-rating">4.5 of 5<' in html
    assert re.search(r'data-testid="partner-delinquency">\d+\.\d%<', html)
    assert 'data-testid="partner-default">Not measured yet<' in html  # no loan of the partner has ended
    assert "Rates as of" in html
    lenders = re.search(r'data-testid="lenders">(.*?)</ul>', html).group(1)
    assert lenders == "<li>Ann from Oslo</li><li>Anonymous</li>"


def test_a_late_installment_is_marked_late(partner, officer, open_loan):
    ann = _lender()
    start = _today() - timedelta(days=70)
    loan = open_loan(published=start - timedelta(days=3), amount_cents=5_000, repayments=3, buys=((ann, 5_000),))
    loan_disburse(loan=loan, actor=officer, on=start)

    html = _client().get(f"/loans/{loan.pk}/").content.decode()

    assert re.findall(r'<tr data-state="(\w+)">', html) == ["late", "late", "future"]
    assert ">Late<" in html


def test_a_fundraising_loan_page_explains_the_schedule_and_that_no_one_lent_yet(open_loan):
    loan = open_loan(repayments=12)

    html = _client().get(f"/loans/{loan.pk}/").content.decode()

    assert "The schedule is fixed when the loan is disbursed: 12 repayments, every month" in html
    assert "No one has lent to this loan yet: be the first." in html
    assert "Rates appear after the partner" in html
    assert 'data-testid="partner-rating">Not rated<' in html


# --- lending in one step ----------------------------------------------------------------------------


def test_a_lender_lends_from_the_list_without_javascript_and_is_sent_back_with_a_message(open_loan):
    loan = open_loan(amount_cents=10_000)
    ann = _lender(10_000)
    client = _client(ann)
    page = client.get("/loans/?sort=expiring").content.decode()

    response = client.post(
        f"/loans/{loan.pk}/lend/",
        {"amount_cents": 5_000, "request_key": _key(page, loan), "next": "/loans/?sort=expiring"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/loans/?sort=expiring"
    after = client.get(response["Location"]).content.decode()
    assert "You lent $50.00 to Grace N. Thank you!" in after
    assert 'data-testid="funded">50% funded<' in after
    assert 'data-wallet-balance data-currency="USD">$50.00<' in after
    assert wallet_cents(ann) == 5_000
    assert LenderPosition.objects.get(loan=loan, lender=ann).lent_cents == 5_000
    assert Loan.objects.get(pk=loan.pk).raised_cents == 5_000


def test_a_lender_lends_from_the_loan_page_and_returns_to_it(open_loan):
    loan = open_loan(amount_cents=10_000)
    ann = _lender(10_000)
    client = _client(ann)
    page = client.get(f"/loans/{loan.pk}/").content.decode()

    response = client.post(
        f"/loans/{loan.pk}/lend/",
        {"amount_cents": 2_500, "request_key": _key(page, loan), "next": f"/loans/{loan.pk}/"},
    )

    assert response["Location"] == f"/loans/{loan.pk}/"
    after = client.get(f"/loans/{loan.pk}/").content.decode()
    assert "You lent $25.00 to Grace N." in after
    assert re.search(r'data-testid="lenders"><li>Test User \d+</li></ul>', after)


def test_the_same_form_sent_twice_lends_once(open_loan):
    loan = open_loan(amount_cents=10_000)
    ann = _lender(10_000)
    client = _client(ann)
    key = _key(client.get("/loans/").content.decode(), loan)

    first = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": key}, **JSON)
    second = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": key}, **JSON)
    third = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": key})

    assert first.status_code == second.status_code == 200
    assert third.status_code == 302
    assert Share.objects.filter(loan=loan, lender=ann).count() == 1
    assert wallet_cents(ann) == 7_500
    assert Loan.objects.get(pk=loan.pk).raised_cents == 2_500


def test_two_cards_on_one_page_carry_different_tokens_so_both_lend(open_loan):
    one, two = open_loan(), open_loan()
    ann = _lender()
    client = _client(ann)
    page = client.get("/loans/").content.decode()

    for loan in (one, two):
        response = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": _key(page, loan)})
        assert response.status_code == 302

    assert Share.objects.filter(lender=ann).count() == 2


def test_lending_by_fetch_answers_json_with_the_refreshed_panel_and_wallet(open_loan):
    loan = open_loan(amount_cents=10_000)
    ann = _lender(20_000)
    client = _client(ann)
    key = _key(client.get("/loans/").content.decode(), loan)

    response = client.post(
        f"/loans/{loan.pk}/lend/", {"amount_cents": 7_500, "request_key": key, "next": "/loans/"}, **JSON
    )

    body = response.json()
    assert response.status_code == 200
    assert body["ok"] is True
    assert body["message"] == "You lent $75.00 to Grace N. Thank you!"
    assert body["wallet"] == "$125.00"
    assert body["wallet_cents"] == 12_500
    assert body["currency"] == "USD"
    assert body["raised_cents"] == 7_500
    assert body["status"] == "fundraising"
    html = body["html"]
    assert html.strip().startswith(f'<div class="lend-panel" id="lend-{loan.pk}"')
    assert 'data-testid="funded">75% funded<' in html
    assert 'data-testid="amount-left">$25.00 to go<' in html
    assert 'role="status"' in html
    assert "You lent $75.00" in html
    assert _key(html, loan) != key  # a fresh token: lending again is a new purchase
    assert re.findall(r'<option value="(\d+)"', html) == ["2500"]
    assert 'name="next" value="/loans/"' in html


def test_lending_the_last_share_by_fetch_shows_the_loan_funded(open_loan):
    loan = open_loan(amount_cents=5_000, buys=((_lender(), 2_500),))
    ann = _lender()
    client = _client(ann)

    body = client.post(
        f"/loans/{loan.pk}/lend/",
        {"amount_cents": 2_500, "request_key": _key(client.get("/loans/").content.decode(), loan)},
        **JSON,
    ).json()

    assert body["status"] == "funded"
    assert "Fully funded. Thank you, lenders!" in body["html"]
    assert "<form" not in body["html"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("3000", "Lend a multiple of $25.00."),
        ("0", "Ensure this value is greater than or equal to 1."),
        ("", "This field is required."),
        ("lots", "Enter a whole number."),
    ],
)
def test_a_bad_amount_is_refused_next_to_the_field_and_nothing_is_written(open_loan, amount, message):
    loan = open_loan()
    ann = _lender(10_000)
    client = _client(ann)
    key = _key(client.get("/loans/").content.decode(), loan)

    fetched = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": amount, "request_key": key}, **JSON)
    plain = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": amount, "request_key": key, "next": "/loans/"})

    assert fetched.status_code == 400
    body = fetched.json()
    assert body["ok"] is False
    assert body["message"] == message
    assert f'aria-describedby="lend-error-{loan.pk}"' in body["html"]
    assert f'id="lend-error-{loan.pk}" role="alert"' in body["html"]
    assert plain.status_code == 302
    assert f"Nothing was lent to Grace N.: {message}" in client.get("/loans/").content.decode()
    _nothing_written(loan, ann, 10_000)


def test_lending_more_than_the_wallet_holds_is_refused_and_writes_nothing(open_loan):
    loan = open_loan()
    ann = _lender(2_500)
    client = _client(ann)
    key = _key(client.get("/loans/").content.decode(), loan)

    response = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 5_000, "request_key": key}, **JSON)

    assert response.status_code == 409
    assert response.json()["message"] == "Your wallet holds $25.00, not enough to lend $50.00."
    _nothing_written(loan, ann, 2_500)


def test_a_lender_with_no_wallet_yet_is_refused_and_no_wallet_is_opened(open_loan):
    from lending.ledger.models import LedgerAccount

    loan = open_loan()
    ann = _lender(0)
    accounts = LedgerAccount.objects.count()

    response = _client(ann).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "k"}, **JSON)

    assert response.status_code == 409
    assert response.json()["message"] == "Your wallet holds $0.00, not enough to lend $25.00."
    assert LedgerAccount.objects.count() == accounts
    assert not Share.objects.exists()


def test_lending_more_than_is_left_is_refused_with_what_is_left(open_loan):
    loan = open_loan(amount_cents=5_000, buys=((_lender(), 2_500),))
    ann = _lender()

    response = _client(ann).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 5_000, "request_key": "k"}, **JSON)

    assert response.status_code == 409
    assert response.json()["message"] == "Only $25.00 is still needed for this loan."
    _nothing_written(loan, ann, 100_000)


def test_lending_to_a_loan_past_its_deadline_is_refused(open_loan):
    published = _today() - timedelta(days=40)
    loan = open_loan(published=published, fundraising_days=30)
    ann = _lender()

    response = _client(ann).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "k"}, **JSON)
    page = _client(ann).get(f"/loans/{loan.pk}/").content.decode()

    assert response.status_code == 409
    deadline = published + timedelta(days=30)
    assert response.json()["message"] == f"This loan stopped raising money on {deadline:%d %B %Y}."
    assert "Fundraising has ended." in response.json()["html"]
    assert 'data-testid="days-left">Fundraising ended<' in page
    _nothing_written(loan, ann, 100_000)


def test_lending_to_a_funded_loan_is_refused(open_loan):
    loan = open_loan(amount_cents=2_500, buys=((_lender(), 2_500),))
    ann = _lender()

    response = _client(ann).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "k"}, **JSON)

    assert response.status_code == 409
    assert response.json()["message"] == "This loan is no longer raising money: it is funded."
    _nothing_written(loan, ann, 100_000)


def test_a_lender_cannot_lend_to_their_own_loan(partner, officer):
    own = people.borrower_create(display_name="Lena B.", country="UG", partner=partner, email="lena@example.org")
    User.objects.filter(pk=own.user_id).update(role=Role.LENDER)  # a lender who also borrows
    lena = User.objects.get(pk=own.user_id)
    fund_wallet(lena, 10_000)
    from lending.loans.applications import loan_apply

    loan = loan_apply(actor=officer, borrower=own, amount_cents=10_000, currency="USD", purpose="Looms",
                      sector="arts", repayments=6)  # fmt: skip
    for step in (loan_submit, loan_approve, loan_publish):
        step(loan=loan, actor=officer)

    response = _client(lena).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "k"}, **JSON)

    assert response.status_code == 409
    assert response.json()["message"] == "You cannot lend to your own loan."
    assert "This is your loan." in response.json()["html"]
    _nothing_written(loan, lena, 10_000)


def test_a_token_used_for_another_amount_is_refused(open_loan):
    loan = open_loan()
    ann = _lender()
    client = _client(ann)
    client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "same"})

    response = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 5_000, "request_key": "same"}, **JSON)

    assert response.status_code == 409
    assert "already sent with another amount" in response.json()["message"]
    assert Share.objects.filter(lender=ann).count() == 1


def test_a_form_without_its_token_is_refused(open_loan):
    loan = open_loan()
    ann = _lender()

    response = _client(ann).post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500}, **JSON)

    assert response.status_code == 400
    assert response.json()["message"] == "This form has expired: reload the page and lend again."
    assert not Share.objects.exists()


def test_the_no_javascript_answer_never_redirects_off_the_site(open_loan):
    loan = open_loan()

    response = _client(_lender()).post(
        f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "k", "next": "https://evil.example/"}
    )

    assert response["Location"] == f"/loans/{loan.pk}/"


def test_the_lend_form_posts_with_a_csrf_token(open_loan):
    loan = open_loan()
    ann = _lender()
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    page = client.get("/loans/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    refused = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "a"})
    accepted = client.post(
        f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": "b", "csrfmiddlewaretoken": token}
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert Share.objects.filter(lender=ann).count() == 1


# --- queries do not grow with what is shown ----------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["anonymous", "lender"])
def test_the_list_runs_the_same_queries_for_one_loan_or_five(open_loan, who):
    viewer = _lender() if who == "lender" else None
    funder = _lender()
    open_loan(buys=((funder, 2_500),))
    client = _client(viewer)
    one = _queries(client, "/loans/?sort=popularity")
    for n in range(4):
        open_loan(buys=((funder, 2_500),), purpose=f"more {n}")
    five = _queries(client, "/loans/?sort=popularity")

    assert len(_card_ids(client.get("/loans/").content.decode())) == 5
    assert five == one


@pytest.mark.parametrize("who", ["anonymous", "lender"])
def test_the_loan_page_runs_the_same_queries_for_one_lender_and_installment_or_five(officer, open_loan, who):
    viewer = _lender() if who == "lender" else None
    client = _client(viewer)
    start = _today() - timedelta(days=20)

    def loan_with(n: int) -> Loan:
        lenders = [_lender() for _ in range(n)]
        loan = open_loan(
            published=start - timedelta(days=1), amount_cents=2_500 * n, repayments=n,
            buys=tuple((lender, 2_500) for lender in lenders),
        )  # fmt: skip
        return loan_disburse(loan=loan, actor=officer, on=start)

    small, big = loan_with(1), loan_with(5)
    snapshot_portfolio(_today())

    one = _queries(client, f"/loans/{small.pk}/")
    five = _queries(client, f"/loans/{big.pk}/")

    assert len(re.findall(r"<tr data-state=", client.get(f"/loans/{big.pk}/").content.decode())) == 5
    assert five == one


def test_lending_runs_the_same_queries_whether_a_loan_has_one_lender_or_five(open_loan):
    ann = _lender()
    client = _client(ann)
    small = open_loan(buys=((_lender(), 2_500),))
    big = open_loan(buys=tuple((_lender(), 2_500) for _ in range(5)))
    warm = open_loan(buys=((_lender(), 2_500),))
    client.post(f"/loans/{warm.pk}/lend/", {"amount_cents": 2_500, "request_key": "w"}, **JSON)  # opens the wallet

    counts = []
    for n, loan in enumerate((small, big)):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": f"q{n}"}, **JSON)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))

    assert counts[0] == counts[1]
    assert counts[0] <= 25  # the purchase itself (lock, journal, share, position) is most of them


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_form_sent_six_times_at_once_lends_once(open_loan):
    from tests.concurrency import run_together

    loan = open_loan(amount_cents=10_000)
    ann = _lender(10_000)
    key = _key(_client(ann).get("/loans/").content.decode(), loan)

    def send(i: int) -> int:
        return (
            _client(ann)
            .post(f"/loans/{loan.pk}/lend/", {"amount_cents": 2_500, "request_key": key}, **JSON)
            .status_code
        )

    assert run_together(6, send) == [200] * 6
    assert Share.objects.filter(loan=loan, lender=ann).count() == 1
    assert wallet_cents(ann) == 7_500
    assert Loan.objects.get(pk=loan.pk).raised_cents == 2_500
