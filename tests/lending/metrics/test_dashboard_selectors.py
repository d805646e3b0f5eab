"""The dashboard's selectors: wallet accounts, portfolio groups, receipts and expected repayments per month,
positions with their next expected repayment, and the wallet's latest events, each in one query."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lending.ledger.chart import AccountType
from lending.ledger.services import Line, account_open, journal_post, lender_wallet, platform_account
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from lending.metrics import dashboard as figures
from tests.loans import buy, fund_wallet

pytestmark = pytest.mark.django_db

TODAY = date(2026, 4, 20)  # a fixed "today": three installments of the START loans have fallen due


def pay(loan: Loan, cents: int, on: date, key: str) -> None:
    repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=on, source="staff", idempotency_key=key, actor=None
    )


@pytest.fixture
def book(make_lenders, disbursed, listed):
    """Ann holds: a $75 stake of a $150 loan (12 x $12.50), all $100 of a second loan, and $25 fundraising."""
    ann, bob = make_lenders(2, 100_000)
    cow = disbursed([(ann, 7_500), (bob, 7_500)], purpose="cow", repayments=12, sector="agriculture")
    shop = disbursed([(ann, 10_000)], purpose="shop", repayments=4, sector="retail")
    pay(cow, 1_250, date(2026, 2, 5), "cow-1")  # Ann gets $6.25
    pay(cow, 1_250, date(2026, 3, 5), "cow-2")
    pay(shop, 2_500, date(2026, 3, 6), "shop-1")  # Ann gets all of it
    fundraising = listed(purpose="bike", amount_cents=10_000, sector="transportation")
    buy(fundraising, [(ann, 2_500)])
    return {"ann": ann, "bob": bob, "cow": cow, "shop": shop, "bike": fundraising}


def test_wallet_figures_read_the_four_accounts_in_one_query(lender):
    fund_wallet(lender, 10_000)
    ref = f"lender:{lender.pk}"
    pending = account_open(account_type=AccountType.PENDING_WITHDRAWAL, currency="USD", ref=ref, holder_id=lender.pk)
    held = account_open(account_type=AccountType.DISPUTE_HELD, currency="USD", ref=ref, holder_id=lender.pk)
    wallet = lender_wallet(user=lender, currency="USD")
    journal_post(idempotency_key="w-1", kind="withdrawal_hold", lines=[Line(wallet, pending, 3_000)])
    journal_post(idempotency_key="d-1", kind="dispute_hold", lines=[Line(wallet, held, 1_000)])

    with CaptureQueriesContext(connection) as queries:
        found = figures.lender_wallet_figures(lender_id=lender.pk, currency="USD")

    assert len(queries) == 1
    assert (found.available_cents, found.pending_withdrawal_cents, found.dispute_held_cents, found.owed_cents) == (
        6_000,
        3_000,
        1_000,
        0,
    )
    assert found.wallet_id == wallet.pk


def test_wallet_figures_of_a_lender_without_a_wallet_are_zero_and_open_nothing(lender):
    found = figures.lender_wallet_figures(lender_id=lender.pk, currency="USD")

    assert found.wallet_id is None
    assert found.available_cents == 0
    assert not lender.ledger_accounts.exists()


def test_breakdown_groups_the_stakes_by_status_sector_and_country(book):
    with CaptureQueriesContext(connection) as queries:
        found = figures.portfolio_breakdown(lender_id=book["ann"].pk, currency="USD")

    assert len(queries) == 1
    assert [(s.key, s.count, s.lent_cents, s.outstanding_cents) for s in found.by_status] == [
        ("paying_back", 2, 17_500, 17_500 - 625 - 625 - 2_500),
        ("fundraising", 1, 2_500, 2_500),
    ]
    assert [s.key for s in found.by_sector] == ["retail", "agriculture", "transportation"]
    assert [(s.key, s.count) for s in found.by_country] == [("UG", 3)]


def test_repayments_by_month_sum_the_lenders_receipts_and_fill_empty_months(book):
    with CaptureQueriesContext(connection) as queries:
        months = figures.repayments_by_month(lender_id=book["ann"].pk, currency="USD", today=TODAY)

    assert len(queries) == 1
    assert len(months) == 12
    assert months[0].month == date(2025, 5, 1)
    assert months[-1].month == date(2026, 4, 1)
    got = {m.month: m.cents for m in months if m.cents}
    assert got == {date(2026, 2, 1): 625, date(2026, 3, 1): 625 + 2_500}


def test_repayments_by_month_leave_out_other_lenders_and_older_months(book):
    bob = figures.repayments_by_month(lender_id=book["bob"].pk, currency="USD", today=TODAY)
    later = figures.repayments_by_month(lender_id=book["ann"].pk, currency="USD", today=date(2027, 2, 10))

    assert sum(m.cents for m in bob) == 1_250
    assert {m.month: m.cents for m in later if m.cents} == {date(2026, 3, 1): 3_125}  # February 2026 is out


def test_expected_repayments_are_the_pro_rata_share_of_unpaid_principal_by_month(book):
    with CaptureQueriesContext(connection) as queries:
        expected = figures.expected_repayments(lender_id=book["ann"].pk, currency="USD", today=TODAY)

    assert len(queries) == 1
    assert [m.month for m in expected.months][:2] == [date(2026, 4, 1), date(2026, 5, 1)]
    assert len(expected.months) == 12
    by_month = {m.month: m.cents for m in expected.months}
    # cow: 1,250 a month, Ann lent half; shop: 2,500 a month for four months (Feb to May), one paid.
    assert by_month[date(2026, 4, 1)] == 625 + 2_500
    assert by_month[date(2026, 5, 1)] == 625 + 2_500
    assert by_month[date(2026, 6, 1)] == 625
    assert by_month[date(2027, 1, 1)] == 625  # the cow's last installment
    assert by_month[date(2027, 2, 1)] == 0
    # The shop's payment of 6 March paid its oldest installment (5 February): the one due 5 March is overdue.
    assert expected.overdue_cents == 2_500


def test_expected_repayments_ignore_loans_not_paying_back_and_other_lenders(book):
    bob = figures.expected_repayments(lender_id=book["bob"].pk, currency="USD", today=TODAY)

    assert sum(m.cents for m in bob.months) == 625 * 10  # cow only, April 2026 to January 2027
    assert bob.overdue_cents == 0


def test_positions_carry_the_next_installment_and_the_lenders_share_of_it(book):
    rows = list(figures.portfolio_positions(lender_id=book["ann"].pk, currency="USD"))

    assert [p.loan.purpose for p in rows] == ["bike", "shop", "cow"]  # newest loan first
    cow = rows[2]
    assert cow.next_due_date == date(2026, 4, 5)
    assert cow.next_expected_cents == 625
    assert cow.outstanding == 7_500 - 1_250
    assert rows[0].next_due_date is None
    assert rows[0].next_expected_cents == 0


def test_positions_filter_by_status_sector_and_country(book):
    ann = book["ann"].pk

    def purposes(**filters):
        return [p.loan.purpose for p in figures.portfolio_positions(lender_id=ann, currency="USD", **filters)]

    assert purposes(status="fundraising") == ["bike"]
    assert purposes(sector="agriculture") == ["cow"]
    assert purposes(country="UG", status="paying_back") == ["shop", "cow"]
    assert purposes(country="KE") == []


def test_positions_read_one_page_in_one_query(book):
    with CaptureQueriesContext(connection) as queries:
        rows = list(figures.portfolio_positions(lender_id=book["ann"].pk, currency="USD")[:20])
        [(p.loan.borrower.display_name, p.next_due_date) for p in rows]

    assert len(queries) == 1


def test_activity_is_one_line_per_journal_newest_first_with_the_net_movement(book):
    ann = book["ann"]
    wallet = lender_wallet(user=ann, currency="USD")
    cash = platform_account(AccountType.PROCESSOR_CASH, "USD")
    journal_post(idempotency_key="two-lines", kind="deposit", lines=[Line(cash, wallet, 100), Line(cash, wallet, 50)])

    with CaptureQueriesContext(connection) as queries:
        lines = figures.wallet_activity(wallet_id=wallet.pk, limit=3)

    assert len(queries) == 1
    # Repayments are dated when received (February, March): the purchases made since come first.
    assert [(a.kind, a.amount_cents) for a in lines] == [
        ("deposit", 150),
        ("share_purchase", -2_500),
        ("share_purchase", -10_000),
    ]


def test_activity_of_a_lender_without_a_wallet_is_empty_without_a_query():
    with CaptureQueriesContext(connection) as queries:
        assert figures.wallet_activity(wallet_id=None) == []
    assert len(queries) == 0


def test_month_starts_cross_the_year():
    assert figures.month_starts(date(2026, 11, 17), 3) == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
