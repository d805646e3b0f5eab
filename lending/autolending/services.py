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
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from accounts.models import User
from lending.autolending.models import AutoLendingLog, AutoLendingSettings
from lending.ledger.errors import InsufficientFunds
from lending.ledger.models import Transfer
from lending.ledger.selectors import lender_wallet_find
from lending.loans.errors import NotAllowed, ShareRefused
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderPosition, Loan, Sector
from lending.metrics.formulas import rates
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import FIGURES

DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12


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


def _term_months(loan: Loan) -> Decimal:
    """The loan's term in months, to one decimal: 26 fortnightly repayments are 12 months, not 26."""
    periods = loan.repayments * loan.repayment_every
    days_per_period = {"days": Decimal(1), "weeks": Decimal(7)}.get(loan.repayment_frequency)
    months = Decimal(periods) if days_per_period is None else periods * days_per_period / DAYS_PER_MONTH
    return months.quantize(Decimal("0.1"))


def _reasons(s: AutoLendingSettings, loan: Loan, rate: Decimal | None, on: date) -> list[str] | None:
    """Why `loan` matches the lender's criteria, or None if it does not."""
    term = _term_months(loan)
    checks = [
        (not s.sectors or loan.sector in s.sectors, f"sector {loan.sector}"),
        (not s.countries or loan.country in s.countries, f"country {loan.country}"),
        (not s.genders or loan.borrower_gender in s.genders, f"borrower {loan.borrower_gender}"),
        (s.allow_group_loans or loan.borrower_count == 1, "an individual loan"),
        (s.max_term_months is None or term <= s.max_term_months, f"a term of {term} months"),
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


# --- a lender's settings: changed with every field checked, and previewed without saving -------------

MAX_CENTS = 10**12  # far beyond any real cap; keeps a typo from overflowing arithmetic
MAX_TERM_MONTHS = 600
MAX_IDLE_DAYS = 365
_LISTS = {"sectors": Sector.values, "genders": Loan.Gender.values}
_CAPS = ("max_per_partner_cents", "max_per_country_cents", "max_per_sector_cents")
EDITABLE = (
    "enabled", "sectors", "countries", "genders", "allow_group_loans", "max_partner_default_rate",
    "min_partner_rating", "max_term_months", "max_per_loan_cents", *_CAPS, "idle_days",
)  # fmt: skip


def _choices(name: str, value: Any) -> list[str]:
    allowed = _LISTS[name]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v in allowed for v in value):
        raise ValueError(f"a list of: {', '.join(allowed)}")
    return list(dict.fromkeys(value))


def _countries(value: Any) -> list[str]:
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(v, str) and len(v) == 2 and v.isascii() and v.isalpha() for v in value
    )
    if not ok:
        raise ValueError("a list of two-letter ISO 3166 country codes, such as KE")
    return list(dict.fromkeys(v.upper() for v in value))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _whole(value: Any, low: int, high: int, *, step: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high or value % step:
        steps = f" in steps of {step}" if step > 1 else ""
        raise ValueError(f"a whole number from {low} to {high}{steps}")
    return value


def _decimal(value: Any, high: int, decimals: int) -> Decimal:
    places = Decimal(1).scaleb(-decimals)
    try:
        number = Decimal("NaN") if isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not 0 <= number <= high or number != number.quantize(places):
        raise ValueError(f"a number from 0 to {high} with at most {decimals} decimal place(s)")
    return number.quantize(places)


def _clean(name: str, value: Any) -> Any:
    """One setting's value checked and normalised, or a ValueError saying what it should be."""
    share = settings.LOAN_SHARE_CENTS
    nullable = name in (*_CAPS, "max_partner_default_rate", "min_partner_rating", "max_term_months")
    if value is None and nullable:
        return None
    if name in ("enabled", "allow_group_loans"):
        return _flag(value)
    if name in _LISTS:
        return _choices(name, value)
    if name == "countries":
        return _countries(value)
    if name == "max_partner_default_rate":
        return _decimal(value, 1, 6)
    if name == "min_partner_rating":
        return _decimal(value, 5, 1)
    if name == "max_term_months":
        return _whole(value, 1, MAX_TERM_MONTHS)
    if name == "max_per_loan_cents":
        return _whole(value, share, MAX_CENTS - MAX_CENTS % share, step=share)
    if name == "idle_days":
        return _whole(value, 0, MAX_IDLE_DAYS)
    return _whole(value, share, MAX_CENTS)  # a cap: at least one share, or none (null)


def auto_lending_settings_check(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` checked and normalised; a ValidationError names every bad or unknown field at once."""
    cleaned, errors = {}, {}
    for name, value in fields.items():
        if name not in EDITABLE:
            errors[name] = [f"not an auto-lending setting; the settings are {', '.join(EDITABLE)}"]
            continue
        try:
            cleaned[name] = _clean(name, value)
        except ValueError as exc:
            errors[name] = [f"must be {exc}"]
    if errors:
        raise ValidationError(errors)
    return cleaned


def auto_lending_settings_get(*, lender: User) -> AutoLendingSettings:
    """The lender's saved settings, or the defaults (off) unsaved: reading never creates a row."""
    return AutoLendingSettings.objects.filter(lender=lender).first() or AutoLendingSettings(lender=lender)


@transaction.atomic
def auto_lending_settings_update(*, lender: User, **fields: Any) -> AutoLendingSettings:
    """Change the given settings (the others stay as they are), creating the row on the first change."""
    if not lender.is_lender:
        raise NotAllowed("only lenders lend, automatically or not")
    cleaned = auto_lending_settings_check(fields)
    row, _ = AutoLendingSettings.objects.select_for_update().get_or_create(lender=lender)
    for name, value in cleaned.items():
        setattr(row, name, value)
    row.updated_at = timezone.now()
    row.save()
    return row


@dataclass(frozen=True)
class Preview:
    trial: AutoLendingSettings  # the lender's settings with the fields tried on; not saved
    on: date
    available_cents: int
    lends_from: date | None  # when the wallet's latest credit will have sat idle_days; None: no credit yet
    decisions: list[Decision]


def auto_lending_preview(*, lender: User, on: date | None = None, **fields: Any) -> Preview:
    """What auto-lending would lend `lender` on `on` (today) under their settings with `fields` tried on.

    Decides exactly as the nightly run does (autolend_for, dry run), whether or not auto-lending is
    on, and writes nothing: no share, no journal, no log row, no settings row.
    """
    if not lender.is_lender:
        raise NotAllowed("only lenders lend, automatically or not")
    on = on or timezone.localdate()
    trial = auto_lending_settings_get(lender=lender)
    for name, value in auto_lending_settings_check(fields).items():
        setattr(trial, name, value)
    wallet = lender_wallet_find(user_id=lender.pk, currency=settings.PLATFORM_CURRENCY)
    last = None
    if wallet is not None:
        last = Transfer.objects.filter(credit_account_id=wallet.pk).aggregate(at=Max("journal__effective_at"))["at"]
    decisions = autolend_for(trial, on=on, dry_run=True, partner_rates=partner_default_rates(on))
    return Preview(
        trial=trial,
        on=on,
        available_cents=wallet.balance_cents if wallet else 0,
        lends_from=timezone.localdate(last) + timedelta(days=trial.idle_days) if last else None,
        decisions=decisions,
    )
