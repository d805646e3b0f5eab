"""Lend idle credit automatically, for lenders who opted in, within their criteria and caps.

For each lender with auto-lending on whose wallet has sat unused for `idle_days`, matching
fundraising loans are taken closest-to-expiring first and lent to in share-size steps, never
more than `max_per_loan_cents` per loan nor past a per-partner, -country or -sector cap (counted
on what the lender still has outstanding). Purchases go through share_purchase, so a wallet is
never overdrawn and a loan never over-funded; each is logged with why that loan was chosen. A
dry run decides the same way and buys nothing. Re-running a date lends nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Max, Sum
from django.utils import timezone

from accounts.models import User
from lending.autolending.models import AutoLendingLog, AutoLendingSettings
from lending.ledger.errors import InsufficientFunds
from lending.ledger.models import Transfer
from lending.ledger.selectors import lender_wallet_find
from lending.loans.errors import ShareRefused
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderPosition, Loan
from lending.metrics.formulas import rates
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import FIGURES


@dataclass(frozen=True)
class Decision:
    lender_id: int
    loan_id: int
    amount_cents: int
    reason: str


def partner_default_rates(on: date) -> dict[str, Decimal | None]:
    """Each partner's default rate by amount from the latest snapshot on or before `on`."""
    latest = PortfolioSnapshot.objects.filter(dimension="partner", as_of__lte=on).aggregate(d=Max("as_of"))["d"]
    rows = PortfolioSnapshot.objects.filter(dimension="partner", as_of=latest) if latest else []
    return {row.key: rates({n: getattr(row, n) for n in FIGURES})["default_rate_by_amount"] for row in rows}


def _idle(wallet_id: int, on: date, idle_days: int) -> bool:
    """True once the last money into the wallet (a deposit, a repayment) has sat `idle_days`."""
    last = Transfer.objects.filter(credit_account_id=wallet_id).aggregate(at=Max("journal__effective_at"))["at"]
    return last is None or timezone.localdate(last) <= on - timedelta(days=idle_days)


def _reasons(s: AutoLendingSettings, loan: Loan, rate: Decimal | None, on: date) -> list[str] | None:
    """Why `loan` matches the lender's criteria, or None if it does not."""
    checks = [
        (not s.sectors or loan.sector in s.sectors, f"sector {loan.sector}"),
        (not s.countries or loan.country in s.countries, f"country {loan.country}"),
        (not s.genders or loan.borrower_gender in s.genders, f"borrower {loan.borrower_gender}"),
        (s.allow_group_loans or loan.borrower_count == 1, "an individual loan"),
        (s.max_term_months is None or loan.repayments <= s.max_term_months, f"{loan.repayments} repayments"),
        (s.min_partner_rating is None or (loan.partner is not None and loan.partner.risk_rating is not None
                                          and loan.partner.risk_rating >= s.min_partner_rating),
         f"partner rating {loan.partner.risk_rating if loan.partner else None}"),
        (s.max_partner_default_rate is None or (rate is not None and rate <= s.max_partner_default_rate),
         f"partner default rate {rate}"),
    ]  # fmt: skip
    if not all(ok for ok, _ in checks):
        return None
    days_left = (loan.fundraising_deadline - on).days if loan.fundraising_deadline else 0
    return [why for _, why in checks] + [f"{loan.remaining_cents} still needed, {days_left} days left"]


def _outstanding_by_group(lender_id: int) -> dict[tuple[str, str], int]:
    """What the lender still has out, per partner, country and sector (the caps count this)."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    rows = (
        LenderPosition.objects.filter(lender_id=lender_id)
        .values("loan__partner_id", "loan__country", "loan__sector")
        .annotate(out=Sum(F("lent_cents") - F("principal_repaid_cents") - F("written_off_cents") - F("refunded_cents")))
    )
    for row in rows:
        totals[("partner", str(row["loan__partner_id"]))] += row["out"]
        totals[("country", row["loan__country"])] += row["out"]
        totals[("sector", row["loan__sector"])] += row["out"]
    return totals


def _room(s: AutoLendingSettings, loan: Loan, out: dict[tuple[str, str], int], already: int) -> int:
    caps = [s.max_per_loan_cents - already, loan.remaining_cents]
    for dim, key, cap in (("partner", str(loan.partner_id), s.max_per_partner_cents),
                          ("country", loan.country, s.max_per_country_cents),
                          ("sector", loan.sector, s.max_per_sector_cents)):  # fmt: skip
        if cap is not None:
            caps.append(cap - out[(dim, key)])
    room = min(caps)
    return room - room % loan.share_size_cents if room > 0 else 0


def autolend_for(
    s: AutoLendingSettings, *, on: date, dry_run: bool, partner_rates: dict[str, Decimal | None]
) -> list[Decision]:
    wallet = lender_wallet_find(user_id=s.lender_id, currency=settings.PLATFORM_CURRENCY)
    if wallet is None or not _idle(wallet.pk, on, s.idle_days):
        return []
    available = wallet.balance_cents
    out = _outstanding_by_group(s.lender_id)
    mine = dict(LenderPosition.objects.filter(lender_id=s.lender_id).values_list("loan_id", "lent_cents"))
    decisions = []
    loans = (
        Loan.objects.filter(
            status=Loan.Status.FUNDRAISING, fundraising_deadline__gte=on, raised_cents__lt=F("amount_cents")
        )
        .exclude(borrower__user_id=s.lender_id)
        .select_related("partner")
        .order_by("fundraising_deadline", "pk")
    )
    for loan in loans:
        reasons = _reasons(s, loan, partner_rates.get(str(loan.partner_id or "")), on)
        amount = min(_room(s, loan, out, mine.get(loan.pk, 0)), available - available % loan.share_size_cents)
        if reasons is None or amount < loan.share_size_cents:
            continue
        decision = Decision(s.lender_id, loan.pk, amount, "; ".join(reasons))
        if not dry_run and not _buy(decision, on):
            continue
        decisions.append(decision)
        available -= amount
        for dim, key in (("partner", str(loan.partner_id)), ("country", loan.country), ("sector", loan.sector)):
            out[(dim, key)] += amount
    return decisions


def _buy(decision: Decision, on: date) -> bool:
    key = f"autolend:{on}:{decision.loan_id}"
    loan = Loan(pk=decision.loan_id)
    try:
        share = share_purchase(
            loan=loan, lender=User.objects.get(pk=decision.lender_id), amount_cents=decision.amount_cents,
            idempotency_key=key, on=on,
        )  # fmt: skip
    except (ShareRefused, InsufficientFunds):
        return False  # taken by others since we looked, or the lender spent the credit: skip it
    AutoLendingLog.objects.get_or_create(
        share=share,
        defaults={"lender_id": decision.lender_id, "loan_id": decision.loan_id, "amount_cents": share.amount_cents,
                  "reason": decision.reason, "business_date": on},
    )  # fmt: skip
    return True


def autolend(*, on: date, dry_run: bool = False) -> list[Decision]:
    """Run auto-lending for every lender who turned it on; returns what was (or would be) lent."""
    partner_rates = partner_default_rates(on)
    decisions: list[Decision] = []
    for s in AutoLendingSettings.objects.filter(enabled=True).order_by("lender_id"):
        decisions += autolend_for(s, on=on, dry_run=dry_run, partner_rates=partner_rates)
    return decisions
