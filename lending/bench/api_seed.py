"""The data the API load benchmark (benchmarks/locustfile.py) drives: lenders with money and keys, field
partners with keys and loans paying back, and many loans fundraising. Built through the services, so the
rows are the product's own; returns what locust needs (keys and loan ids) as a plain dict.

Sized so that a run never runs out of anything: each fundraising loan takes 400 shares of $25, each
lender holds $100,000, and each paying-back loan owes far more than a run repays in $1 rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts import services as people
from accounts.models import BorrowerProfile, LenderProfile, PartnerStaff, Role, User
from lending.api.keys import api_key_create
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Loan, Sector

PARTNERS = [("Bench Kenya MFI", "KE"), ("Bench Uganda MFI", "UG"), ("Bench Peru MFI", "PE"),
            ("Bench Philippines MFI", "PH"), ("Bench Cambodia MFI", "KH")]  # fmt: skip
LENDER_SCOPES = ["loans:read", "lending:write", "wallet:read"]
PARTNER_SCOPES = ["loans:read", "repayments:write"]
WALLET_CENTS = 10_000_000  # $100,000 per lender
FUNDRAISING_CENTS = 1_000_000  # $10,000: 400 shares of $25
PAYING_LENDERS = 20  # each paying-back loan is split 20 ways, as a repayment to Kiva lenders is


@dataclass(frozen=True)
class Sizes:
    lenders: int = 200  # locust uses the first ones' keys; all of them fund the loans paying back
    partners: int = 5
    fundraising: int = 300
    paying: int = 50  # spread over the partners


def build(sizes: Sizes, out: Callable[[str], None]) -> dict[str, Any]:
    """Create everything on an empty database; returns {"lenders": [key, ...], "partners": [{key, loans}], ...}."""
    if User.objects.filter(email__endswith="@bench-api.example").exists():
        raise RuntimeError("this database already holds the API benchmark's data: seed a fresh one")
    today, currency = timezone.localdate(), settings.PLATFORM_CURRENCY
    lenders, lender_keys = _lenders(sizes.lenders, currency)
    out(f"  {len(lenders)} lenders with ${WALLET_CENTS // 100:,} each and a key ({', '.join(LENDER_SCOPES)})")
    sectors = list(Sector.values)
    partners: list[dict[str, Any]] = []
    fundraising: list[int] = []
    for p, (name, country) in enumerate(PARTNERS[: sizes.partners]):
        partner = people.field_partner_create(name=name, country=country, risk_rating="3.0")
        officer = User.objects.create_user(
            email=f"officer-{p}@bench-api.example", password=None, full_name=f"Officer {p}", role=Role.PARTNER_STAFF
        )
        PartnerStaff.objects.create(user=officer, partner=partner, title="Bench")
        borrowers = [
            people.borrower_create(display_name=f"Borrower {p}-{b}", country=country, partner=partner) for b in range(5)
        ]
        paying = []
        for n in range(sizes.paying // sizes.partners):
            start = (p * sizes.paying // sizes.partners + n) * PAYING_LENDERS  # each lender funds a few of them
            funders = [lenders[(start + j) % len(lenders)] for j in range(PAYING_LENDERS)]
            paying.append(_paying(officer, borrowers[n % 5], funders, sectors[n % len(sectors)], today).pk)
        for n in range(sizes.fundraising // sizes.partners):
            loan = _listed(officer, borrowers[n % 5], FUNDRAISING_CENTS, sectors[(n + p) % len(sectors)], today)
            fundraising.append(loan.pk)
        _, key = api_key_create(user=officer, name="bench: partner MIS", scopes=PARTNER_SCOPES)
        partners.append({"key": key, "id": partner.pk, "country": country, "paying": paying})
    out(f"  {len(partners)} field partners, each with a key ({', '.join(PARTNER_SCOPES)}) and "
        f"{sizes.paying // sizes.partners} loans paying back ({PAYING_LENDERS} lenders each)")  # fmt: skip
    out(f"  {len(fundraising)} loans fundraising (${FUNDRAISING_CENTS // 100:,} each)")
    return {"currency": currency, "lenders": lender_keys, "partners": partners, "fundraising": fundraising,
            "sectors": sectors, "countries": [c for _, c in PARTNERS[: sizes.partners]]}  # fmt: skip


def _lenders(count: int, currency: str) -> tuple[list[User], list[str]]:
    cash = platform_account(AccountType.PROCESSOR_CASH, currency)
    users, keys = [], []
    for n in range(count):
        # No password (keys only), which also spares 60 slow password hashes
        user = User.objects.create_user(email=f"lender-{n}@bench-api.example", password=None, full_name=f"Lender {n}")
        LenderProfile.objects.create(user=user, display_name=f"Lender {n}")
        journal_post(
            idempotency_key=f"bench-api:deposit:{n}", kind="deposit",
            lines=[Line(debit=cash, credit=lender_wallet(user=user, currency=currency), amount_cents=WALLET_CENTS)],
        )  # fmt: skip
        users.append(user)
        keys.append(api_key_create(user=user, name="bench: lender app", scopes=LENDER_SCOPES)[1])
    return users, keys


def _listed(officer: User, borrower: BorrowerProfile, cents: int, sector: str, on: Any) -> Loan:
    loan = loan_apply(
        actor=officer, borrower=borrower, amount_cents=cents, currency=settings.PLATFORM_CURRENCY,
        purpose=f"Bench: {sector}", sector=sector, repayments=12,
    )  # fmt: skip
    loan_submit(loan=loan, actor=officer, on=on)
    loan_approve(loan=loan, actor=officer, on=on)
    return loan_publish(loan=loan, actor=officer, on=on)


def _paying(officer: User, borrower: BorrowerProfile, funders: list[User], sector: str, today: Any) -> Loan:
    """Listed 65 days ago, funded by `funders` ($25 each), disbursed 60 days ago: paying back, none repaid yet."""
    listed_on = today - timedelta(days=65)
    loan = _listed(officer, borrower, 2_500 * len(funders), sector, listed_on)
    for lender in funders:
        share_purchase(loan=loan, lender=lender, amount_cents=2_500, idempotency_key=f"bench-api-{loan.pk}",
                       on=listed_on)  # fmt: skip
    return loan_disburse(loan=loan, actor=officer, on=today - timedelta(days=60))
