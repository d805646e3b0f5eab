"""What to build for one imported loan, worked out from the source record before anything is written.

Pure Python (no Django): a reader turns a Kiva record into a `LoanPlan` or raises `Malformed`
naming the field and the reason, so a bad record is refused before a single row exists, and the
rules below (share size, dates, names) can be tested and run over a whole file without a database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lending.money import MoneyError, to_minor

CURRENCY = "USD"  # every Kiva amount in both sources is in US dollars
MAX_FUNDRAISING_DAYS = 90  # the longest window an application may ask for (lending.loans.applications)
# Kiva let lenders lend in $5 steps on some loans (2014-2016). Where $25 shares cannot hold a loan's
# amounts or its lenders, the loan's own share size is $5; no share size divides an amount with cents.
SMALL_SHARE_CENTS = 500

# Kiva's sector names, as both sources spell them, and ours (lending.loans.models.Sector's values).
SECTORS = {
    "agriculture": "agriculture", "arts": "arts", "clothing": "clothing", "construction": "construction",
    "education": "education", "entertainment": "entertainment", "food": "food", "health": "health",
    "housing": "housing", "manufacturing": "manufacturing", "personal use": "personal_use", "retail": "retail",
    "services": "services", "transportation": "transportation", "wholesale": "wholesale",
}  # fmt: skip
# Kiva's own country codes that are not ISO 3166-1: Kiva files Gaza under "GZ"; ISO's code is PS.
COUNTRY_CODES = {"GZ": "PS"}

GIVEN_NAMES = {
    "female": ("Amina", "Beatriz", "Chanthy", "Dalia", "Esi", "Fatou", "Gloria", "Hana", "Imani", "Juana", "Kemi",
               "Lucia", "Mariam", "Nadia", "Olga", "Paz", "Rosa", "Sokha", "Tatiana", "Wanjiru"),
    "male": ("Abdi", "Bruno", "Carlos", "Dara", "Emeka", "Farid", "Gustavo", "Hakim", "Ivan", "Jomo", "Kofi",
             "Luis", "Mateo", "Nuno", "Omar", "Pedro", "Rashid", "Samnang", "Tomas", "Yusuf"),
}  # fmt: skip


class Malformed(ValueError):
    """A record we cannot import as it is; the message names the field and why."""


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    key: str  # the source's payment id: the repayment's idempotency key is built from it
    amount_cents: int
    on: date  # the day we record it (never before disbursement)
    processed_on: date  # the source's processed date


@dataclass(frozen=True, slots=True)
class LoanPlan:
    """One loan's life as we will replay it through the services, every date already in order."""

    external_id: str
    source_status: str
    target: str  # a lending.loans.models.Loan.Status value
    amount_cents: int
    funded_cents: int  # what lenders put in before the loan's end (shares bought)
    share_size_cents: int
    lender_count: int  # lenders the shares are spread over: at least 1 when funded, at most one per share
    sector: str
    country: str
    partner_id: str | None  # None: a direct loan
    borrower_count: int
    borrower_gender: str
    purpose: str
    repayments: int
    bullet: bool = False
    schedule: tuple[tuple[date, int], ...] = ()  # irregular: (due date, principal)
    posted_on: date | None = None  # None: never listed
    fundraising_days: int = 30
    funded_on: date | None = None
    disbursed_on: date | None = None
    ended_on: date | None = None  # expiry, cancellation or refund
    payments: tuple[PaymentPlan, ...] = ()
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)  # the source's figures, kept for the comparison

    @property
    def shares(self) -> int:
        return self.funded_cents // self.share_size_cents


def cents(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """A dollar amount (int, Decimal or text such as '575.0') in cents; never a float."""
    if value is None or value == "":
        raise Malformed(f"{name}: missing")
    if isinstance(value, float):  # the readers parse numbers as Decimal, so a float is a bug upstream
        value = Decimal(repr(value))
    try:
        amount = to_minor(value if isinstance(value, (int, Decimal)) else str(value), CURRENCY)
    except MoneyError as exc:
        raise Malformed(f"{name}: {exc}") from None
    if amount < 0 or (amount == 0 and not allow_zero):
        raise Malformed(f"{name}: {value} is not a positive amount")
    return amount


def loan_amount(value: Any, max_cents: int) -> int:
    """The loan's amount in cents, within the platform's largest loan (LOAN_MAX_CENTS)."""
    amount = cents(value, "loan_amount")
    if amount > max_cents:
        largest = f"{max_cents / 100:,.2f}"
        raise Malformed(f"loan_amount: {amount / 100:,.2f} is over the platform's largest loan ({largest})")
    return amount


def whole(value: Any, name: str, *, low: int = 0, high: int | None = None) -> int:
    """A whole number such as 8, '8' or '8.0' (Kaggle writes integers as floats)."""
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError
    except (ArithmeticError, ValueError):
        raise Malformed(f"{name}: {value!r} is not a whole number") from None
    result = int(number)
    if result < low or (high is not None and result > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise Malformed(f"{name}: {result} is not {bounds}")
    return result


def day(value: Any, name: str, zone: ZoneInfo, *, required: bool = True) -> date | None:
    """The platform's calendar day of a Kiva timestamp: '2005-04-15T17:00:00Z', with '+00:00', or naive (UTC)."""
    if value is None or value == "":
        if required:
            raise Malformed(f"{name}: missing")
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise Malformed(f"{name}: {value!r} is not a date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone).date()


def sector(value: Any) -> str:
    ours = SECTORS.get(str(value or "").strip().lower())
    if ours is None:
        raise Malformed(f"sector: {value!r} is not one of Kiva's sectors")
    return ours


def country(value: Any) -> str:
    code = str(value or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise Malformed(f"country_code: {value!r} is not a two-letter country code")
    return COUNTRY_CODES.get(code, code)


def gender(genders: list[str]) -> str:
    """Kiva's borrowers' genders ('F', 'M', 'female', 'male') as one of Loan.Gender's values."""
    seen = {g.strip().lower()[:1] for g in genders if g and g.strip()}
    if seen == {"f"}:
        return "female"
    if seen == {"m"}:
        return "male"
    return "mixed" if seen >= {"f", "m"} else "unspecified"


def share_size(*, amount_cents: int, funded_cents: int, lender_count: int, platform_share_cents: int) -> int:
    """The loan's share size: the platform's, else $5 where only that holds the amounts and the lenders.

    The money must stay whole: every share is the same size, the shares sum to what lenders put in,
    and the loan's amount is a whole number of shares. Kiva's $5 loans (a $125 loan with 12 lenders,
    a $35 part-funding) are kept as they were rather than rounded or dropped; an amount no share
    size of $5 or more divides (cents, or $12) is refused as malformed.
    """
    for size in (platform_share_cents, SMALL_SHARE_CENTS):
        if amount_cents % size == 0 and funded_cents % size == 0 and funded_cents // size >= lender_count:
            return size
    for size in (platform_share_cents, SMALL_SHARE_CENTS):
        if amount_cents % size == 0 and funded_cents % size == 0:
            return size  # more lenders than shares: fewer lenders hold them (see lenders_for)
    raise Malformed(
        f"loan_amount: {amount_cents / 100:.2f} and funded_amount {funded_cents / 100:.2f} are not whole "
        f"numbers of ${platform_share_cents / 100:.2f} or ${SMALL_SHARE_CENTS / 100:.2f} shares"
    )


def lenders_for(*, funded_cents: int, share_size_cents: int, lender_count: int) -> tuple[int, list[str]]:
    """How many lenders hold the shares: Kiva's count, but at least one and at most one per share."""
    shares = funded_cents // share_size_cents
    if shares == 0:
        return 0, []
    if lender_count < 1:
        return 1, ["lender_count 0 on a funded loan: one lender holds the shares"]
    if lender_count > shares:
        return shares, [f"lender_count {lender_count} exceeds the {shares} shares: {shares} lenders"]
    return lender_count, []


def listing_dates(
    *, posted: date | None, funded: date | None, disbursed: date | None, window_days: int, expires: date | None
) -> tuple[date, int, date | None, list[str]]:
    """(listed on, fundraising days, funded on, notes): Kiva's dates, put in the order our loans live.

    The disbursal date is kept as it is, because the schedule and every payment hang on it. Kiva's
    beta loans (2005-06) were funded and paid out before they were posted, and field partners often
    pay out before a loan is listed; a loan here is listed, then funded, then paid out, so a later
    step's date pulls an earlier one back to it, and the fundraising window stretches (up to 90
    days) to reach the funding date. Every such change is noted on the loan's import record.
    """
    notes = []
    funded_on = funded
    if disbursed is not None and funded_on is not None and funded_on > disbursed:
        notes.append("funded after disbursal: funded on the disbursal date")
        funded_on = disbursed
    listed = posted or funded_on or disbursed
    if listed is None:
        raise Malformed("posted_date: missing, and no funded or disbursal date to list the loan on")
    if funded_on is None and disbursed is not None and listed > disbursed:
        listed = disbursed
        notes.append("posted after disbursal: listed on the disbursal date")
    if funded_on is not None and listed > funded_on:
        notes.append("posted after funding: listed on the funding date")
        listed = funded_on
    days = (expires - listed).days if expires is not None and expires > listed else window_days
    if funded_on is not None and (funded_on - listed).days > days:
        days = (funded_on - listed).days
    if days > MAX_FUNDRAISING_DAYS:
        if funded_on is not None and (funded_on - listed).days > MAX_FUNDRAISING_DAYS:
            listed = funded_on - timedelta(days=MAX_FUNDRAISING_DAYS)
            notes.append(f"funded more than {MAX_FUNDRAISING_DAYS} days after posting: listed {listed}")
        days = MAX_FUNDRAISING_DAYS
    return listed, max(days, 1), funded_on, notes


def borrower_name(external_id: str, borrower_gender: str, borrower_count: int) -> str:
    """A made-up name, the same for the same Kiva id on every run; never the borrower's own."""
    digest = hashlib.sha256(f"kiva-borrower:{external_id}".encode()).digest()
    names = GIVEN_NAMES.get(borrower_gender) or GIVEN_NAMES["female" if digest[2] % 2 else "male"]
    name = f"{names[digest[0] % len(names)]} {chr(ord('A') + digest[1] % 26)}."
    return f"{name} and {borrower_count - 1} others" if borrower_count > 1 else name


def pool_start(external_id: str, pool_size: int) -> int:
    """Where a loan's lenders start in the synthetic pool: spread by id, the same on every run."""
    return int.from_bytes(hashlib.sha256(f"kiva-lenders:{external_id}".encode()).digest()[:8], "big") % pool_size
