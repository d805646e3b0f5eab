"""A portfolio living through time: loans posted, funded, disbursed and repaid day by day, closed each night.

Every step goes through the services, on the simulated business date. Each day:

1. new loans are posted: their shape (amount, term, sector, country, interval, lenders, partner,
   how fast they funded, whether they funded at all) is a real Kiva loan drawn from
   seeds/data/loans.csv;
2. lenders buy their shares on the days the loan's funding plan says, topping up their wallet by
   card when it is short;
3. loans funded the day before are disbursed;
4. borrowers repay installments on time, late, short or not at all, with the probabilities real
   Kiva borrowers showed (seeds/data/behaviour.json);
5. the close of business runs for the date (expiry, arrears, defaults, snapshots, digests).

Determinism: every draw comes from a random generator seeded by the world's seed and the day's
number in its history (new loans) or the loan's slot (its funding and repayment plan), never from
database ids, the calendar or the clock, so the same seed gives the same world whenever it is
built, and simulating a year in one run or in twelve gives the same result. A day's business is
one transaction that also records the day as lived: a run that stops mid-way carries on where it
stopped, without living a day twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Sum
from django.test.utils import override_settings
from django.utils import timezone

from accounts import services as people
from accounts.models import FieldPartner, User
from lending.jobs.close import close_business_day, last_closed
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Installment, LenderPosition, Loan
from lending.loans.repayments import repayment_record
from lending.money import split_pro_rata
from seeds.models import DemoWorld, SimulatedLoan
from seeds.names import borrower_name, lender_name, partner_name, purpose_for
from seeds.profile import LoanDraw, behaviour, loan_draws, quantile

S = Loan.Status
CURRENCY = "USD"
SHARE_CENTS = 2_500
STAFF_EMAIL = "simulation@demo.lend"
LENDER_EMAIL = "lender{:04d}@sim.demo.lend"
TOP_UPS_USD = (100, 250, 500, 1_000)


class SimulationError(Exception):
    """The simulation cannot run as asked (a sentence saying why)."""


@dataclass
class DayReport:
    day: date
    posted: int = 0
    shares: int = 0
    disbursed: int = 0
    repayments: int = 0
    deposits: int = 0


@dataclass
class SimulationReport:
    first: date | None = None
    last: date | None = None
    days: int = 0
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0


# --- the world --------------------------------------------------------------------------------------


def world_create(*, seed: int, loans_per_day: Decimal, started_on: date, lenders: int) -> DemoWorld:
    """The world once: its seed and pace, the simulation's staff login and the pool of lenders."""
    world = DemoWorld.objects.first()
    if world is not None:
        return world
    people.platform_staff_create(email=STAFF_EMAIL, password=None, full_name="Simulated field desk")
    rng = random.Random(f"{seed}:lenders")
    for n in range(1, lenders + 1):
        people.lender_register(
            email=LENDER_EMAIL.format(n),
            password=None,
            full_name=lender_name(rng),
            country=rng.choice(LENDER_COUNTRIES),
        )
    return DemoWorld.objects.create(seed=seed, loans_per_day=loans_per_day, started_on=started_on)


LENDER_COUNTRIES = ("US", "US", "US", "CA", "GB", "DE", "AU", "NL", "FR", "SE", "JP", "KE")


@dataclass
class Cast:
    """Who acts in the simulation, loaded once per run."""

    world: DemoWorld
    staff: User
    lenders: list[User]  # in a fixed order: the demo's named lenders first, then the pool
    cash: object
    partners: dict[int, FieldPartner] = field(default_factory=dict)


def _cast(world: DemoWorld, named_lenders: list[str]) -> Cast:
    named = [u for email in named_lenders if (u := User.objects.filter(email__iexact=email).first())]
    pool = list(User.objects.filter(email__endswith="@sim.demo.lend", lender_profile__isnull=False).order_by("email"))
    cast = Cast(
        world=world,
        staff=User.objects.get(email=STAFF_EMAIL),
        lenders=named + pool,
        cash=platform_account(AccountType.PROCESSOR_CASH, CURRENCY),
    )
    for partner in FieldPartner.objects.filter(name__startswith="Field partner "):
        cast.partners[int(partner.name.split()[2])] = partner
    return cast


def _partner(cast: Cast, draw: LoanDraw) -> FieldPartner | None:
    if not draw.partner:
        return None  # a direct loan
    if draw.partner not in cast.partners:
        cast.partners[draw.partner] = people.field_partner_create(
            name=partner_name(draw.partner, draw.country), country=draw.country, risk_rating="3.0"
        )
    return cast.partners[draw.partner]


# --- plans: pure functions of the seed and the loan ---------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    day: int  # days after posting
    lender: int  # index into Cast.lenders
    shares: int


def funding_plan(*, seed: int, key: str, draw: LoanDraw, shares: int, lenders: int, window: int) -> list[Purchase]:
    """Who buys how many shares on which day. A loan that really did not fund raises what it raised."""
    rng = random.Random(f"{seed}:fund:{key}")
    raised = shares if draw.fully_funded else min(shares - 1, draw.funded_usd * 100 // SHARE_CENTS)
    if raised <= 0:
        return []
    buyers = max(1, min(draw.lenders, raised, lenders))
    chosen = rng.sample(range(lenders), buyers)
    counts = [1 + extra for extra in split_pro_rata(raised - buyers, [rng.randint(1, 4) for _ in chosen])]
    last_day = min(draw.days_to_fund if draw.days_to_fund is not None else window - 1, window - 1)
    if not draw.fully_funded:
        last_day = window - 1
    days = sorted(rng.randint(0, last_day) for _ in chosen)
    days[-1] = last_day  # the last share is bought on the day the real loan funded
    return [Purchase(day, lender, n) for day, lender, n in zip(days, chosen, counts, strict=True)]


@dataclass(frozen=True)
class RepaymentPlan:
    days_late: tuple[int, ...]  # per installment number - 1
    # Shares as whole basis points (1/10,000), so amounts are worked out in integers, never floats.
    short: tuple[int | None, ...]  # the share of what is due paid, or None for all of it
    stops_after: int | None  # the share of principal repaid after which the borrower stops paying


def repayment_plan(*, seed: int, key: str, installments: int) -> RepaymentPlan:
    rng = random.Random(f"{seed}:repay:{key}")
    facts = behaviour()
    late = tuple(round(quantile(facts.days_late_cuts, rng.random())) for _ in range(installments))
    short = tuple(
        _basis_points(quantile(facts.short_payment_fraction_cuts, rng.random()))
        if rng.random() < facts.short_payment_share
        else None
        for _ in range(installments)
    )
    stops = rng.random() < facts.stop_paying_share
    stop_share = facts.repaid_share_when_stopped[int(rng.random() * len(facts.repaid_share_when_stopped))]
    return RepaymentPlan(days_late=late, short=short, stops_after=_basis_points(stop_share) if stops else None)


def _basis_points(share: float) -> int:
    return round(share * 10_000)


def loans_posted_on(world: DemoWorld, day: date) -> list[int]:
    """Rows of seeds/data/loans.csv posted on `day`: a Poisson-like count around the world's pace."""
    rng = random.Random(f"{world.seed}:post:{(day - world.started_on).days}")
    rate = float(world.loans_per_day)
    count = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
    return [rng.randrange(len(loan_draws())) for _ in range(count)]


# --- one day -------------------------------------------------------------------------------------------


def _terms(draw: LoanDraw, rng: random.Random) -> dict[str, object]:
    term = max(1, min(draw.term_months, 60))
    if draw.interval == "bullet":
        return {"repayments": 1, "repayment_every": term, "bullet": True}
    if draw.interval == "weekly":
        return {"repayments": min(term * 4, 200), "repayment_frequency": "weeks"}
    if draw.interval == "irregular" and term >= 3:
        # Irregular, as field partners post them: payments in some months only (after a harvest, a season).
        months = sorted(rng.sample(range(1, term + 1), max(2, term // 2)))
        if months[-1] != term:
            months[-1] = term
        weights = [rng.randint(1, 3) for _ in months]
        parts = split_pro_rata(draw.amount_usd * 100, weights)
        return {
            "repayments": len(months),
            "irregular_schedule": [
                {"due_in_days": 30 * m, "principal_cents": p} for m, p in zip(months, parts, strict=True)
            ],
        }
    return {"repayments": term}


def _post(cast: Cast, day: date, report: DayReport) -> None:
    for n, row in enumerate(loans_posted_on(cast.world, day)):
        draw = loan_draws()[row]
        rng = random.Random(f"{cast.world.seed}:loan:{(day - cast.world.started_on).days}:{n}")
        partner = _partner(cast, draw)
        borrower = people.borrower_create(
            display_name=borrower_name(rng, draw.gender), country=draw.country, partner=partner
        )
        loan = loan_apply(
            actor=cast.staff,
            borrower=borrower,
            amount_cents=draw.amount_usd * 100,
            currency=CURRENCY,
            purpose=purpose_for(draw.sector, rng),
            sector=draw.sector,
            country=draw.country,
            borrower_count=min(draw.borrowers, 50),
            borrower_gender=draw.gender or Loan.Gender.UNSPECIFIED,
            **_terms(draw, rng),  # type: ignore[arg-type]
        )
        loan_submit(loan=loan, actor=cast.staff, on=day)
        loan_approve(loan=loan, actor=cast.staff, on=day)
        loan_publish(loan=loan, actor=cast.staff, on=day)
        SimulatedLoan.objects.create(
            loan=loan, draw=row, posted_on=day, day=(day - cast.world.started_on).days, number=n
        )
        report.posted += 1


def _wallets(cast: Cast) -> dict[int, int]:
    """Every cast lender's wallet balance now (lenders without a wallet yet have 0)."""
    wallets = LedgerAccount.objects.filter(
        type=AccountType.LENDER_WALLET, currency=CURRENCY, holder_id__in=[u.pk for u in cast.lenders]
    )
    return {w.holder_id: w.balance_cents for w in wallets if w.holder_id is not None}


def _top_up(cast: Cast, lender: User, needed: int, day: date, key: str, balances: dict[int, int]) -> bool:
    """A card deposit when the wallet is short: the amount a real lender would choose, or what is missing."""
    balance = balances.get(lender.pk, 0)
    if balance >= needed:
        return False
    rng = random.Random(f"{cast.world.seed}:topup:{key}")
    amount = max(needed - balance, rng.choice(TOP_UPS_USD) * 100)
    journal_post(
        idempotency_key=f"sim:deposit:{key}",
        kind="deposit",
        lines=[Line(debit=cast.cash, credit=lender_wallet(user=lender, currency=CURRENCY), amount_cents=amount)],  # type: ignore[arg-type]
        effective_at=timezone.make_aware(datetime.combine(day, clock(9))),
        description="Card deposit (simulated)",
    )
    balances[lender.pk] = balance + amount
    return True


def _fund(cast: Cast, day: date, report: DayReport) -> None:
    fundraising = (
        SimulatedLoan.objects.filter(loan__status=S.FUNDRAISING, posted_on__lte=day)
        .select_related("loan", "loan__borrower")
        .order_by("loan_id")
    )
    balances = _wallets(cast)  # kept in step below: purchases are the only wallet movements before repayments
    for sim in fundraising:
        loan = sim.loan
        draw = loan_draws()[sim.draw]
        plan = funding_plan(
            seed=cast.world.seed, key=sim.key, draw=draw, shares=loan.amount_cents // loan.share_size_cents,
            lenders=len(cast.lenders), window=loan.fundraising_days,
        )  # fmt: skip
        offset = (day - sim.posted_on).days
        for i, purchase in enumerate(plan):
            if purchase.day != offset:
                continue
            lender = cast.lenders[purchase.lender]
            cents = purchase.shares * loan.share_size_cents
            report.deposits += _top_up(cast, lender, cents, day, f"{sim.key}:{i}", balances)
            share_purchase(loan=loan, lender=lender, amount_cents=cents, idempotency_key=f"sim:{loan.pk}:{i}", on=day)
            balances[lender.pk] -= cents
            report.shares += 1


def _disburse(cast: Cast, day: date, report: DayReport) -> None:
    funded = Loan.objects.filter(status=S.FUNDED, funded_on__lt=day, pk__in=SimulatedLoan.objects.values("loan_id"))
    for loan in funded.order_by("pk"):
        loan_disburse(loan=loan, actor=cast.staff, on=day)
        report.disbursed += 1


def _repay(cast: Cast, day: date, report: DayReport) -> None:
    """Each paying-back loan pays what its plan says falls on `day`: all it owes so far, or part of it."""
    window_start = day - timedelta(days=behaviour().most_days_late)
    unpaid = list(
        Installment.objects.filter(
            loan__status=S.PAYING_BACK, paid_on__isnull=True, due_date__range=(window_start, day),
            loan__in=SimulatedLoan.objects.values("loan_id"),
        )
        .order_by("loan_id", "number")
        .values_list("loan_id", "number", "due_date")
    )  # fmt: skip
    counts = dict(
        Installment.objects.filter(loan_id__in={loan_id for loan_id, _, _ in unpaid})
        .values_list("loan_id")
        .annotate(n=Count("id"))
    )
    keys = {sim.loan_id: sim.key for sim in SimulatedLoan.objects.filter(loan_id__in=counts)}
    plans: dict[int, RepaymentPlan] = {}
    falling_due: dict[int, int] = {}
    for loan_id, number, due in unpaid:
        if loan_id not in plans:
            plans[loan_id] = repayment_plan(seed=cast.world.seed, key=keys[loan_id], installments=counts[loan_id])
        plan = plans[loan_id]
        if due + timedelta(days=plan.days_late[number - 1]) == day:
            falling_due[loan_id] = number  # the latest installment whose payment falls today
    for loan_id, number in sorted(falling_due.items()):
        _repay_one(cast, day, loan_id, number, plans[loan_id], report)


def _repay_one(cast: Cast, day: date, loan_id: int, number: int, plan: RepaymentPlan, report: DayReport) -> None:
    loan = Loan.objects.get(pk=loan_id)
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    owed = sum(
        r.principal_cents + r.interest_cents + r.fees_cents - r.paid_principal_cents - r.paid_interest_cents
        - r.paid_fees_cents
        for r in rows if r.number <= number
    )  # fmt: skip
    short = plan.short[number - 1]
    if short is not None and number < len(rows):  # the last installment is paid in full, or late
        owed = max(1, owed * short // 10_000)
    if plan.stops_after is not None:
        repaid = sum(r.paid_principal_cents for r in rows)
        owed = min(owed, loan.amount_cents * plan.stops_after // 10_000 - repaid)
    if owed <= 0:
        return
    repayment_record(
        loan=loan, amount_cents=owed, currency=loan.currency, received_on=day,
        source="partner" if loan.partner_id else "borrower_card", idempotency_key=f"sim:{number}:{day.isoformat()}",
        actor=None,
    )  # fmt: skip
    report.repayments += 1


@transaction.atomic
def _business(cast: Cast, day: date) -> DayReport:
    """`day`'s business, once: the world records the last day lived in the same transaction."""
    report = DayReport(day)
    world = DemoWorld.objects.select_for_update().get(pk=cast.world.pk)
    if world.lived_until is not None and world.lived_until >= day:
        return report  # a run that stopped between a day's business and its close
    _post(cast, day, report)
    _fund(cast, day, report)
    _disburse(cast, day, report)
    _repay(cast, day, report)
    DemoWorld.objects.filter(pk=world.pk).update(lived_until=day)
    return report


def simulate(*, until: date, named_lenders: list[str], out: Callable[[str], None] | None = None) -> SimulationReport:
    """Live every day from the world's next day up to `until`, closing each night."""
    world = DemoWorld.objects.first()
    if world is None:
        raise SimulationError("there is no simulated world yet: run `manage.py seed_demo` first")
    latest = last_closed()
    first = world.started_on if latest is None else latest + timedelta(days=1)
    if latest is not None and latest < world.started_on - timedelta(days=1):
        first = world.started_on
    cast = _cast(world, named_lenders)
    report = SimulationReport(first=first)
    started = time.perf_counter()
    # History is not e-mailed: the digests are recorded, as the close does, but go nowhere; and a
    # year of closes is summed up once a month, not logged step by step.
    jobs_log = logging.getLogger("lending.jobs")
    level = jobs_log.level
    jobs_log.setLevel(max(level, logging.WARNING))
    try:
        _live(cast, first, until, report, out)
    finally:
        jobs_log.setLevel(level)
    report.seconds = time.perf_counter() - started
    return report


def _live(cast: Cast, first: date, until: date, report: SimulationReport, out: Callable[[str], None] | None) -> None:
    started = time.perf_counter()
    day = first
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        while day <= until:
            today = _business(cast, day)
            close_business_day(on=day)
            for name in ("posted", "shares", "disbursed", "repayments", "deposits"):
                report.totals[name] += getattr(today, name)
            report.days += 1
            report.last = day
            if out and (day.day == 1 or day == until):
                out(
                    f"  {day}: {report.totals['posted']} loans posted, {report.totals['repayments']} repayments "
                    f"so far ({time.perf_counter() - started:.0f}s)"
                )
            day += timedelta(days=1)


def portfolio_summary() -> dict[str, object]:
    """What the world looks like: loans by status, money lent and repaid (for the command's output)."""
    sims = Loan.objects.filter(pk__in=SimulatedLoan.objects.values("loan_id"))
    by_status = dict(sorted((s, sims.filter(status=s).count()) for s in S.values if sims.filter(status=s).exists()))
    positions = LenderPosition.objects.filter(loan__in=sims).aggregate(
        lent=Sum("lent_cents"), repaid=Sum("principal_repaid_cents"), lost=Sum(F("written_off_cents"))
    )
    return {"loans": sims.count(), "by_status": by_status, **{k: v or 0 for k, v in positions.items()}}
