"""Build a small demo through the services: staff, funded lenders, a field partner, a borrower and two loans.

Running it again changes nothing: people are found by email and every journal has a fixed key.
The names are invented; no real borrower or lender appears here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import services as people
from accounts.models import BorrowerProfile, FieldPartner, User
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Loan
from lending.loans.repayments import repayment_record
from seeds.simulation import SimulationReport, simulate, world_create

DEMO_PASSWORD = "lend-a-hand-demo"  # demo logins only; printed by `make run`

LENDERS = [
    # email, full name, country, demo deposit in minor units
    ("amara@demo.lend", "Amara Okafor", "GB", 50_000),
    ("bruno@demo.lend", "Bruno Esteves", "PT", 25_000),
    ("chen@demo.lend", "Chen Wei", "CA", 100_000),
]
ADMIN = ("admin@demo.lend", "Dana Admin")
PARTNER = ("Lake Victoria Microfinance (demo)", "UG")
PARTNER_STAFF = ("officer@demo.lend", "Esther Nakato", "Loan officer")
BORROWER = ("farida@demo.lend", "Farida Namusoke", "UG", "Jinja")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    note: str


def _user(email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first()


@transaction.atomic
def build_demo() -> list[DemoLogin]:
    """Create (or find) the demo people and fund the lenders' wallets once; return the logins."""
    currency = settings.PLATFORM_CURRENCY
    logins = []

    admin = _user(ADMIN[0]) or User.objects.create_superuser(email=ADMIN[0], password=DEMO_PASSWORD, full_name=ADMIN[1])
    logins.append(DemoLogin(admin.email, "platform staff", "admin site at /admin/"))

    cash = platform_account(AccountType.PROCESSOR_CASH, currency)
    for email, name, country, deposit_cents in LENDERS:
        lender = _user(email) or people.lender_register(
            email=email, password=DEMO_PASSWORD, full_name=name, country=country
        )
        wallet = lender_wallet(user=lender, currency=currency)
        journal_post(
            idempotency_key=f"demo:deposit:{email}",
            kind="deposit",
            lines=[Line(debit=cash, credit=wallet, amount_cents=deposit_cents)],
            description="Demo card deposit",
        )
        logins.append(DemoLogin(email, "lender", f"wallet funded with {deposit_cents // 100} {currency}"))

    partner = FieldPartner.objects.filter(name=PARTNER[0]).first() or people.field_partner_create(
        name=PARTNER[0], country=PARTNER[1], risk_rating="3.5"
    )
    if not _user(PARTNER_STAFF[0]):
        people.partner_staff_add(
            partner=partner,
            email=PARTNER_STAFF[0],
            password=DEMO_PASSWORD,
            full_name=PARTNER_STAFF[1],
            title=PARTNER_STAFF[2],
        )
    logins.append(DemoLogin(PARTNER_STAFF[0], "field-partner staff", partner.name))

    email, name, country, town = BORROWER
    borrower = BorrowerProfile.objects.filter(user__email__iexact=email).first() or people.borrower_create(
        display_name=name, country=country, town=town, partner=partner, email=email, password=DEMO_PASSWORD
    )
    logins.append(DemoLogin(email, "borrower", f"through {partner.name}"))
    if not Loan.objects.filter(borrower=borrower).exists():
        officer = User.objects.get(email__iexact=PARTNER_STAFF[0])
        lenders = [User.objects.get(email__iexact=e) for e, *_ in LENDERS]
        _demo_loans(borrower=borrower, officer=officer, lenders=lenders)
    return logins


def _listed(*, borrower: BorrowerProfile, officer: User, on: date, **fields: object) -> Loan:
    loan = loan_apply(actor=officer, borrower=borrower, currency=settings.PLATFORM_CURRENCY, **fields)  # type: ignore[arg-type]
    loan_submit(loan=loan, actor=officer, on=on)
    loan_approve(loan=loan, actor=officer, on=on)
    return loan_publish(loan=loan, actor=officer, on=on)


def _demo_loans(*, borrower: BorrowerProfile, officer: User, lenders: list[User]) -> None:
    """A loan paying back (funded three months ago, two repayments in) and one still fundraising."""
    today = timezone.localdate()
    started = today - timedelta(days=95)
    paying = _listed(
        borrower=borrower, officer=officer, on=started, amount_cents=30_000, purpose="Seedlings and a drip line",
        sector="agriculture", repayments=6,
    )  # fmt: skip
    for lender, cents in zip(lenders, [15_000, 10_000, 5_000], strict=True):
        share_purchase(loan=paying, lender=lender, amount_cents=cents, idempotency_key="demo-paying", on=started)
    paying = loan_disburse(loan=paying, actor=officer, on=started)
    for row in paying.installments.order_by("number")[:2]:
        repayment_record(
            loan=paying, amount_cents=row.total_cents, currency=paying.currency, received_on=row.due_date,
            source="partner", idempotency_key=f"demo-{row.number}", actor=officer,
        )  # fmt: skip
    fundraising = _listed(
        borrower=borrower, officer=officer, on=today - timedelta(days=3), amount_cents=50_000,
        purpose="A second sewing machine", sector="clothing", repayments=10,
    )  # fmt: skip
    for lender, cents in zip(lenders, [5_000, 2_500], strict=False):
        share_purchase(loan=fundraising, lender=lender, amount_cents=cents, idempotency_key="demo-fundraising")


def build_portfolio(
    *, loans: int, seed: int, days: int, until: date, out: Callable[[str], None] | None = None
) -> SimulationReport:
    """The demo's living portfolio: about `loans` real-shaped loans posted over `days` days up to `until`.

    The first run creates the world and lives through its history; a later run only carries the
    world on from its last closed day to `until` (nothing, when it is up to date).
    """
    world_create(
        seed=seed,
        loans_per_day=(Decimal(loans) / Decimal(days)).quantize(Decimal("0.001")),
        started_on=until - timedelta(days=days - 1),
        lenders=max(20, loans // 8),
    )
    return simulate(until=until, named_lenders=[email for email, *_ in LENDERS], out=out)
