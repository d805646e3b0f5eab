"""Auto-lending: opt-in only, within every criterion and cap, closest-to-expiring first, never overdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from accounts import services as people
from lending.autolending.models import AutoLendingLog, AutoLendingSettings
from lending.autolending.services import autolend
from lending.ledger.chart import AccountType
from lending.ledger.reconcile import reconcile
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.models import Share
from lending.metrics.models import PortfolioSnapshot
from tests.factories import LenderFactory
from tests.loans import START, wallet_cents

pytestmark = pytest.mark.django_db

ON = START + timedelta(days=2)


def deposit(lender, cents, when=datetime(2025, 12, 1, tzinfo=UTC)):
    journal_post(
        idempotency_key=f"dep:{lender.pk}:{cents}:{when}",
        kind="deposit",
        lines=[
            Line(platform_account(AccountType.PROCESSOR_CASH, "USD"), lender_wallet(user=lender, currency="USD"), cents)
        ],
        effective_at=when,
    )


@pytest.fixture
def lender(db):
    lender = LenderFactory()
    deposit(lender, 10_000)
    return lender


def turn_on(lender, **criteria):
    return AutoLendingSettings.objects.create(lender=lender, enabled=True, idle_days=0, **criteria)


@pytest.fixture
def loan(listed):
    return listed(purpose="dairy", amount_cents=20_000, borrower_gender="female", fundraising_days=10)


def lent(lender):
    return {s.loan_id: s.amount_cents for s in Share.objects.filter(lender=lender)}


def test_nothing_is_lent_for_a_lender_who_did_not_opt_in(lender, loan):
    AutoLendingSettings.objects.create(lender=lender)  # the default: off
    assert autolend(on=ON) == []
    assert lent(lender) == {}


def test_idle_credit_goes_in_share_steps_to_the_loan_closest_to_expiring_first(lender, listed):
    later = listed(purpose="later", amount_cents=20_000, fundraising_days=20)
    sooner = listed(purpose="sooner", amount_cents=20_000, fundraising_days=10)
    turn_on(lender, max_per_loan_cents=5_000)
    decisions = autolend(on=ON)
    assert [(d.loan_id, d.amount_cents) for d in decisions] == [(sooner.pk, 5_000), (later.pk, 5_000)]
    assert lent(lender) == {sooner.pk: 5_000, later.pk: 5_000}
    assert wallet_cents(lender) == 0
    log = AutoLendingLog.objects.get(loan=sooner)
    assert "sector agriculture" in log.reason
    assert "days left" in log.reason
    assert reconcile().ok


def test_a_wallet_is_never_overdrawn_and_leftover_below_a_share_stays(lender, loan):
    deposit(lender, 1_000, datetime(2025, 12, 2, tzinfo=UTC))  # 11,000 in all
    turn_on(lender, max_per_loan_cents=20_000)
    autolend(on=ON)
    assert lent(lender) == {loan.pk: 10_000}
    assert wallet_cents(lender) == 1_000


@pytest.mark.parametrize(
    ("criteria", "loan_fields", "lends"),
    [
        ({"sectors": ["agriculture"]}, {}, True),
        ({"sectors": ["retail"]}, {}, False),
        ({"countries": ["UG"]}, {}, True),
        ({"countries": ["KE"]}, {}, False),
        ({"genders": ["female"]}, {"borrower_gender": "female"}, True),
        ({"genders": ["male"]}, {"borrower_gender": "female"}, False),
        ({"allow_group_loans": False}, {"borrower_count": 1}, True),
        ({"allow_group_loans": False}, {"borrower_count": 4}, False),
        ({"max_term_months": 12}, {"repayments": 12}, True),
        ({"max_term_months": 6}, {"repayments": 12}, False),
        # the term counts months, not repayments: 26 fortnightly repayments are a year; 12 weekly, under 3 months
        ({"max_term_months": 12}, {"repayments": 26, "repayment_every": 2, "repayment_frequency": "weeks"}, True),
        ({"max_term_months": 11}, {"repayments": 26, "repayment_every": 2, "repayment_frequency": "weeks"}, False),
        ({"max_term_months": 3}, {"repayments": 12, "repayment_frequency": "weeks"}, True),
        ({"min_partner_rating": "3.0"}, {}, True),
        ({"min_partner_rating": "4.0"}, {}, False),
    ],
)
def test_each_criterion_decides(lender, listed, partner, criteria, loan_fields, lends):
    partner.risk_rating = "3.5"
    partner.save()
    loan = listed(purpose="candidate", amount_cents=20_000, **loan_fields)
    turn_on(lender, **criteria)
    autolend(on=ON)
    assert lent(lender) == ({loan.pk: 2_500} if lends else {})


def snapshot_partner(partner, defaulted_balance, ended_amount):
    PortfolioSnapshot.objects.create(
        as_of=START, dimension="partner", key=str(partner.pk), currency="USD", formula_version=1,
        defaulted_balance=defaulted_balance, ended_amount=ended_amount,
    )  # fmt: skip


@pytest.mark.parametrize(("balance", "lends"), [(100, True), (500, False)])
def test_the_partners_default_rate_from_the_latest_snapshot_decides(lender, loan, partner, balance, lends):
    snapshot_partner(partner, balance, 10_000)  # 1% or 5%
    turn_on(lender, max_partner_default_rate="0.02")
    autolend(on=ON)
    assert bool(lent(lender)) is lends


def test_a_partner_without_a_default_record_is_not_lent_to_under_a_rate_limit(lender, loan):
    turn_on(lender, max_partner_default_rate="0.02")
    assert autolend(on=ON) == []


def test_caps_per_sector_partner_and_country_count_what_is_already_out(lender, listed, make_lenders):
    first = listed(purpose="a", amount_cents=20_000, fundraising_days=10)
    second = listed(purpose="b", amount_cents=20_000, fundraising_days=20)
    turn_on(lender, max_per_loan_cents=5_000, max_per_sector_cents=7_500)
    autolend(on=ON)
    assert lent(lender) == {first.pk: 5_000, second.pk: 2_500}
    AutoLendingSettings.objects.filter(lender=lender).update(max_per_sector_cents=None, max_per_partner_cents=5_000)
    deposit(lender, 5_000, datetime(2025, 12, 3, tzinfo=UTC))
    autolend(on=ON + timedelta(days=1))
    assert sum(lent(lender).values()) == 7_500  # the partner already has 7,500 of this lender's: over its cap


def test_a_dry_run_decides_the_same_and_lends_nothing(lender, loan):
    turn_on(lender, max_per_loan_cents=5_000)
    planned = autolend(on=ON, dry_run=True)
    assert [(d.loan_id, d.amount_cents) for d in planned] == [(loan.pk, 5_000)]
    assert lent(lender) == {}
    assert wallet_cents(lender) == 10_000
    assert autolend(on=ON) == planned


def test_running_a_date_twice_lends_nothing_twice(lender, loan):
    turn_on(lender, max_per_loan_cents=5_000)
    autolend(on=ON)
    autolend(on=ON)
    assert lent(lender) == {loan.pk: 5_000}
    assert AutoLendingLog.objects.count() == 1


def test_credit_is_lent_only_after_sitting_idle_for_the_lenders_days(loan):
    lender = LenderFactory()
    deposit(lender, 5_000, datetime(2026, 1, 1, 12, tzinfo=UTC))  # six days before ON
    turn_on(lender)
    AutoLendingSettings.objects.filter(lender=lender).update(idle_days=10)
    assert autolend(on=ON) == []
    AutoLendingSettings.objects.filter(lender=lender).update(idle_days=5)
    assert [d.amount_cents for d in autolend(on=ON)] == [2_500]


def test_the_autolend_command_prints_a_dry_run(lender, loan, capsys):
    turn_on(lender)
    call_command("autolend", "--date", ON.isoformat(), "--dry-run")
    out = capsys.readouterr().out
    assert f"would lend $25.00 to loan {loan.pk}" in out
    assert "1 share purchase(s) planned" in out
    assert lent(lender) == {}


def test_a_borrower_who_lends_is_never_auto_lent_to_themself(listed, borrower):
    person = people.lender_register(email="both@example.org", password="tea-garden-ledger-44", full_name="Bo Th")
    borrower.user = person
    borrower.save()
    listed(purpose="own", amount_cents=10_000)
    deposit(person, 5_000)
    turn_on(person)
    assert autolend(on=ON) == []
