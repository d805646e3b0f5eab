"""The living demo: real-shaped loans through time, deterministic for a seed, ledger clean at the end."""

from __future__ import annotations

import random
import statistics
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from lending.jobs.close import last_closed
from lending.ledger.models import Journal, LedgerAccount
from lending.ledger.reconcile import reconcile
from lending.loans.models import LenderPosition, Loan, Repayment, Share
from lending.metrics.models import PortfolioSnapshot
from seeds.demo import build_demo, build_portfolio
from seeds.models import DemoWorld, SimulatedLoan
from seeds.names import FEMALE, MALE, borrower_name
from seeds.profile import behaviour, loan_draws, quantile
from seeds.simulation import funding_plan, loans_posted_on, repayment_plan, simulate

UNTIL = date(2026, 3, 31)
S = Loan.Status


def fingerprint() -> dict[str, object]:
    """The world, described without database ids: loans by their simulation slot, wallets by email."""
    loans = [
        (str(sim.key), sim.draw, sim.loan.status, sim.loan.raised_cents, sim.loan.lender_count,
         sim.loan.written_off_cents, sim.loan.days_past_due)
        for sim in SimulatedLoan.objects.select_related("loan").order_by("posted_on", "number")
    ]  # fmt: skip
    wallets = sorted(
        (a.holder.email, a.balance_cents)
        for a in LedgerAccount.objects.filter(type="lender_wallet").select_related("holder")
    )
    repaid = list(Repayment.objects.order_by("received_on", "amount_cents").values_list("received_on", "amount_cents"))
    return {"loans": loans, "wallets": wallets, "repayments": repaid, "journals": Journal.objects.count()}


def live(*, seed: int, loans: int = 40, days: int = 90, until: date = UNTIL) -> None:
    build_demo()
    build_portfolio(loans=loans, seed=seed, days=days, until=until)


@pytest.mark.django_db
def test_a_simulated_history_has_every_stage_of_a_loans_life_and_a_clean_ledger():
    live(seed=3, loans=60, days=365)

    statuses = set(Loan.objects.filter(pk__in=SimulatedLoan.objects.values("loan_id")).values_list("status", flat=True))
    assert {S.FUNDRAISING, S.PAYING_BACK, S.REPAID, S.EXPIRED} <= statuses
    assert Repayment.objects.filter(received_on__gt=UNTIL - timedelta(days=30)).exists()
    assert last_closed() == UNTIL
    # The close ran every night: a snapshot for every day since the first loan, so the charts have a year of points.
    first = SimulatedLoan.objects.order_by("posted_on").first().posted_on
    snapshots = PortfolioSnapshot.objects.filter(dimension="platform", as_of__gte=first).values("as_of").distinct()
    assert snapshots.count() == (UNTIL - first).days + 1 >= 360
    # Lenders were repaid and relent: the named demo lenders hold shares in simulated loans.
    assert Share.objects.filter(lender__email="amara@demo.lend", loan__in=SimulatedLoan.objects.values("loan")).exists()
    positions = LenderPosition.objects.aggregate(lent=Sum("lent_cents"), repaid=Sum("principal_repaid_cents"))
    assert 0 < positions["repaid"] < positions["lent"]
    report = reconcile()
    assert report.ok, report.violations[:3]


@pytest.mark.django_db
def test_the_same_seed_builds_the_same_world():
    live(seed=11)
    first = fingerprint()
    assert first["loans"]
    assert first["repayments"]
    assert fingerprint() == first  # (the fingerprint itself is stable)
    other = fingerprint_of_fresh_world(seed=11)
    assert other == first
    assert fingerprint_of_fresh_world(seed=12) != first


def fingerprint_of_fresh_world(*, seed: int) -> dict[str, object]:
    """Build a world from nothing inside this test's transaction, fingerprint it, and put things back."""
    from django.db import transaction

    class Rollback(Exception):
        pass

    result: dict[str, object] = {}
    try:
        with transaction.atomic():
            for model in (SimulatedLoan, DemoWorld):
                model.objects.all().delete()
            _wipe()
            live(seed=seed)
            result = fingerprint()
            raise Rollback
    except Rollback:
        pass
    return result


def _wipe() -> None:
    """Everything the demo wrote, gone, so the next build starts from an empty database."""
    from django.apps import apps
    from django.db import connection

    tables = [m._meta.db_table for m in apps.get_models() if m._meta.app_label not in ("contenttypes", "auth")]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire pending checks: TRUNCATE refuses to wait
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            cursor.execute("PRAGMA defer_foreign_keys = ON")
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}"')


@pytest.mark.django_db
def test_living_a_history_in_two_runs_equals_living_it_in_one():
    live(seed=5, loans=45, days=90)
    whole = fingerprint()
    halves = fingerprint_in_two_runs(seed=5)
    assert halves == whole


def fingerprint_in_two_runs(*, seed: int) -> dict[str, object]:
    from django.db import transaction

    class Rollback(Exception):
        pass

    result: dict[str, object] = {}
    try:
        with transaction.atomic():
            _wipe()
            live(seed=seed, loans=30, days=60, until=UNTIL - timedelta(days=30))  # same start, same pace
            simulate(until=UNTIL, named_lenders=["amara@demo.lend", "bruno@demo.lend", "chen@demo.lend"])
            result = fingerprint()
            raise Rollback
    except Rollback:
        pass
    return result


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing_and_says_what_it_built():
    out = StringIO()
    call_command("seed_demo", "--loans", "40", "--days", "60", "--seed", "2", stdout=out)
    text = out.getvalue()
    assert "Simulated" in text
    assert "Portfolio: " in text
    journals = Journal.objects.count()
    world = DemoWorld.objects.get()
    assert (world.seed, world.started_on) == (2, last_closed() - timedelta(days=59))

    again = StringIO()
    call_command("seed_demo", "--loans", "40", "--days", "60", "--seed", "2", stdout=again)
    assert Journal.objects.count() == journals
    assert "Simulated" not in again.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--loans", "-3"], "between 0 and 1000000"),
        (["--loans", "many"], "not a whole number"),
        (["--days", "0"], "between 1 and 3650"),
    ],
)
def test_seed_demo_refuses_bad_options_and_writes_nothing(argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *argv)
    assert Journal.objects.count() == 0


@pytest.mark.django_db
def test_simulate_refuses_a_missing_world_a_future_date_and_a_bad_date():
    with pytest.raises(CommandError, match="no simulated world yet"):
        call_command("simulate", "--until", "2026-01-01")
    with pytest.raises(CommandError, match="must be before today"):
        call_command("simulate", "--until", "2999-01-01")
    with pytest.raises(CommandError, match="not a date"):
        call_command("simulate", "--until", "31/01/2026")
    assert Journal.objects.count() == 0


@pytest.mark.django_db
def test_simulate_carries_the_world_on_and_then_has_nothing_to_do():
    live(seed=4, loans=30, days=30, until=UNTIL - timedelta(days=10))
    out = StringIO()
    call_command("simulate", "--until", UNTIL.isoformat(), stdout=out)
    assert f"to {UNTIL}" in out.getvalue()
    assert last_closed() == UNTIL
    out = StringIO()
    call_command("simulate", "--until", UNTIL.isoformat(), stdout=out)
    assert "nothing to do" in out.getvalue()


# --- the calibration: pure functions of the seed, checked against the real figures ---------------------


def test_repayment_plans_reproduce_how_real_borrowers_repaid():
    facts = behaviour()
    plans = [repayment_plan(seed=1, key=f"2026-01-01:{n}", installments=12) for n in range(4_000)]
    stopping = sum(1 for p in plans if p.stops_after is not None) / len(plans)
    on_time = sum(1 for p in plans for d in p.days_late if d == 0) / (12 * len(plans))
    short = sum(1 for p in plans for s in p.short if s is not None) / (12 * len(plans))
    assert stopping == pytest.approx(facts.stop_paying_share, abs=0.01)  # Kiva's 17 of 452 ended loans
    assert on_time == pytest.approx(facts.on_time_share, abs=0.03)  # 71% of installments on time
    assert short == pytest.approx(facts.short_payment_share, abs=0.02)
    assert repayment_plan(seed=1, key="2026-01-01:7", installments=12) == plans[7]


def test_the_same_seed_posts_the_same_loans_whichever_day_the_world_starts():
    january, june = (
        DemoWorld(seed=9, loans_per_day=3, started_on=date(2026, 1, 1)),
        DemoWorld(seed=9, loans_per_day=3, started_on=date(2026, 6, 1)),
    )
    for k in range(50):
        assert loans_posted_on(january, date(2026, 1, 1) + timedelta(days=k)) == loans_posted_on(
            june, date(2026, 6, 1) + timedelta(days=k)
        )
    assert loans_posted_on(january, date(2026, 1, 2)) != loans_posted_on(january, date(2026, 1, 3))


def test_funding_plans_raise_what_the_real_loan_raised_from_as_many_lenders():
    draws = loan_draws()
    for row in random.Random(0).sample(range(len(draws)), 300):
        draw = draws[row]
        shares = draw.amount_usd * 100 // 2_500
        plan = funding_plan(seed=1, key=f"k{row}", draw=draw, shares=shares, lenders=500, window=30)
        raised = sum(p.shares for p in plan)
        if draw.fully_funded:
            assert raised == shares
            assert max(p.day for p in plan) == min(draw.days_to_fund if draw.days_to_fund is not None else 29, 29)
        else:
            assert raised < shares
        assert len(plan) == len({p.lender for p in plan}) <= max(1, draw.lenders)
        assert all(p.shares >= 1 and 0 <= p.day < 30 for p in plan)


def test_the_committed_profile_keeps_the_real_distributions():
    draws = loan_draws()
    assert len(draws) == 3_000
    assert statistics.median(d.amount_usd for d in draws) == pytest.approx(500, rel=0.2)  # Kaggle's median loan
    assert {"monthly", "irregular", "bullet"} <= {d.interval for d in draws}
    assert all(d.amount_usd % 25 == 0 for d in draws)
    cuts = behaviour().days_late_cuts
    assert quantile(cuts, 0.0) == cuts[0]
    assert quantile(cuts, 0.999999) <= cuts[-1]


def test_generated_names_match_the_real_borrowers_gender_and_copy_no_one():
    rng = random.Random(0)
    for _ in range(200):
        assert borrower_name(rng, "female").split()[0] in FEMALE
        assert borrower_name(rng, "male").split()[0] in MALE
    assert borrower_name(rng, "").split()[0] in FEMALE + MALE
