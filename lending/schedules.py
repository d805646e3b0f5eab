"""The repayment-schedule engine: loan terms in, installments out, every amount an integer of minor units.

Invariant: the principal parts of a schedule sum exactly to the principal, the balance after the last
installment is 0, balances never rise, and no part is negative. The last installment absorbs every
rounding residual, as Apache Fineract, Frappe Lending and Zidisha do.

Pure Python, no Django. Rates are kept as exact fractions (a percent Decimal converts to a `Fraction`
without loss), because day counts such as 30/360 and 1/12-year periods do not terminate in decimal:
a Decimal rate of 12% x 30/360 would be 0.00999...96 and tip a half-even tie (123.50 -> 123, not 124).
An amount therefore stays exact until the one moment it becomes an integer, and that conversion goes
through `lending.money.round_to_minor`. The annuity factor, which has no exact form, is Decimal maths.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from typing import Final, TypeVar

from lending.money import ROUNDING_MODES, round_to_minor

# Enough digits that a quotient of exact amounts is itself exact whenever it terminates.
_MATH: Final = Context(prec=60)


class ScheduleError(ValueError):
    """Terms that cannot make a schedule; the message starts with the offending field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Frequency(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class InterestMethod(StrEnum):
    NONE = "none"
    FLAT = "flat"
    DECLINING_BALANCE = "declining_balance"


class Amortization(StrEnum):
    EQUAL_INSTALLMENTS = "equal_installments"
    EQUAL_PRINCIPAL = "equal_principal"


class DayCount(StrEnum):
    SAME_AS_REPAYMENT_PERIOD = "same_as_repayment_period"
    THIRTY_360 = "30/360"
    ACTUAL_365 = "actual/365"
    ACTUAL_ACTUAL = "actual/actual"


class InstallmentRounding(StrEnum):
    NEAREST = "nearest"
    UP = "up"
    DOWN = "down"


# A nominal rate per year becomes a rate per period by these (Fineract: 12 months, 52 weeks, 365 days).
PERIODS_PER_YEAR: Final = {Frequency.DAYS: 365, Frequency.WEEKS: 52, Frequency.MONTHS: 12}
# Zidisha counts grace days against a period of this many days (a week of 7, a month of 30).
DAYS_PER_PERIOD: Final = {Frequency.DAYS: 1, Frequency.WEEKS: 7, Frequency.MONTHS: 30}


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    """What a schedule is built from; amounts in minor units, rates in percent (see the module docstring)."""

    principal: int
    minor_exponent: int
    repayments: int
    disbursement_date: date
    repayment_every: int = 1
    repayment_frequency: Frequency = Frequency.MONTHS
    bullet: bool = False
    interest_method: InterestMethod = InterestMethod.NONE
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS
    annual_interest_rate: Decimal = Decimal(0)
    interest_rate_per_period: Decimal | None = None
    day_count: DayCount = DayCount.SAME_AS_REPAYMENT_PERIOD
    first_repayment_date: date | None = None
    grace_on_principal_periods: int = 0
    grace_on_interest_periods: int = 0
    installment_multiple_of: int | None = None
    installment_rounding: InstallmentRounding = InstallmentRounding.NEAREST
    annual_fee_rate: Decimal = Decimal(0)
    grace_days: int = 0
    explicit: tuple[tuple[date, int], ...] = ()
    rounding_mode: str = "half_even"


@dataclass(frozen=True, slots=True)
class Installment:
    """One row of a schedule; `balance` is the principal still outstanding after it is paid."""

    number: int
    due_date: date
    principal: int
    interest: int
    fees: int
    balance: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fees


# --- dates ------------------------------------------------------------------------------------------


def add_periods(start: date, *, every: int, frequency: Frequency, count: int) -> date:
    """`start` moved by `count` x `every` periods; a month end clamps from the ORIGINAL day each time.

    Computed in one step, never iteratively, so Jan 31 gives Feb 28 (or 29), then Mar 31, Apr 30.
    """
    frequency = _enum(Frequency, frequency, "frequency")
    _check_int(every, "every", minimum=1)
    _check_int(count, "count", minimum=0)
    if frequency == Frequency.DAYS:
        return start + timedelta(days=every * count)
    if frequency == Frequency.WEEKS:
        return start + timedelta(weeks=every * count)
    months = start.month - 1 + every * count
    year, month = start.year + months // 12, months % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _installment_count(terms: ScheduleTerms) -> int:
    if terms.explicit:
        return len(terms.explicit)
    return 1 if terms.bullet else terms.repayments


def _due_dates(terms: ScheduleTerms) -> list[date]:
    """Due dates; without a first repayment date they count from the disbursement, so clamping stays right."""
    if terms.explicit:
        return [due for due, _ in terms.explicit]

    def step(anchor: date, count: int) -> date:
        return add_periods(anchor, every=terms.repayment_every, frequency=terms.repayment_frequency, count=count)

    try:
        if terms.bullet:
            return [terms.first_repayment_date or step(terms.disbursement_date, terms.repayments)]
        if terms.first_repayment_date is None:
            return [step(terms.disbursement_date, i + 1) for i in range(terms.repayments)]
        return [step(terms.first_repayment_date, i) for i in range(terms.repayments)]
    except ScheduleError:
        raise
    except (OverflowError, ValueError):  # timedelta or date past the year 9999
        raise ScheduleError("repayments", "the schedule would run past the year 9999") from None


# --- rates: exact fractions per installment -------------------------------------------------------


def _days_30_360(start: date, end: date) -> int:
    """30/360 bond basis (ISDA 2006 4.16(f)): a 31st counts as the 30th, the end's only if the start's did."""
    d1 = min(start.day, 30)
    d2 = 30 if end.day == 31 and d1 == 30 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1


def _year_fraction(start: date, end: date, day_count: DayCount) -> Fraction:
    if day_count == DayCount.THIRTY_360:
        return Fraction(_days_30_360(start, end), 360)
    if day_count == DayCount.ACTUAL_365:
        return Fraction((end - start).days, 365)
    # actual/actual (ISDA): the days falling in each calendar year over that year's length.
    fraction = Fraction(0)
    for year in range(start.year, end.year + 1):
        days = (min(end, date(year + 1, 1, 1)) - max(start, date(year, 1, 1))).days
        fraction += Fraction(days, 366 if calendar.isleap(year) else 365)
    return fraction


def _yearly_rate(terms: ScheduleTerms, annual: Decimal, per_period: Decimal | None) -> Fraction:
    """A percent rate as a fraction per year; a rate per period is scaled by the periods in a year."""
    if per_period is None:
        return Fraction(annual) / 100
    periods = Fraction(PERIODS_PER_YEAR[terms.repayment_frequency], terms.repayment_every)
    return Fraction(per_period) / 100 * periods


def _period_years(terms: ScheduleTerms) -> Fraction:
    """The nominal length of one installment's period in years; a bullet's period is the whole term."""
    span = terms.repayments if terms.bullet else 1
    return Fraction(terms.repayment_every * span, PERIODS_PER_YEAR[terms.repayment_frequency])


def _rates(terms: ScheduleTerms, dates: list[date], annual: Decimal, per_period: Decimal | None) -> list[Fraction]:
    """The rate charged for each installment's period, the first one running from the disbursement."""
    yearly = _yearly_rate(terms, annual, per_period)
    if terms.day_count == DayCount.SAME_AS_REPAYMENT_PERIOD:
        return [yearly * _period_years(terms)] * len(dates)
    starts = [terms.disbursement_date, *dates[:-1]]
    return [yearly * _year_fraction(start, end, terms.day_count) for start, end in zip(starts, dates, strict=True)]


def _grace_days_rate(terms: ScheduleTerms, annual: Decimal, per_period: Decimal | None) -> Fraction:
    """What Zidisha's grace days add to a flat charge: the yearly rate over those days."""
    if terms.day_count == DayCount.SAME_AS_REPAYMENT_PERIOD:
        days_in_year = DAYS_PER_PERIOD[terms.repayment_frequency] * PERIODS_PER_YEAR[terms.repayment_frequency]
    else:
        days_in_year = 360 if terms.day_count == DayCount.THIRTY_360 else 365
    return _yearly_rate(terms, annual, per_period) * Fraction(terms.grace_days, days_in_year)


# --- rounding ---------------------------------------------------------------------------------------


def _to_int(value: Fraction, mode: str) -> int:
    """An exact amount of minor units to an integer, through money's one rounding function."""
    return round_to_minor(_MATH.divide(Decimal(value.numerator), Decimal(value.denominator)), mode=mode)


def _round_installment(value: Fraction, terms: ScheduleTerms) -> int:
    """An installment total rounded to minor units, or to a multiple of `installment_multiple_of`."""
    multiple = terms.installment_multiple_of
    if multiple is None:
        return _to_int(value, terms.rounding_mode)
    count = value / multiple
    if terms.installment_rounding == InstallmentRounding.NEAREST:
        return _to_int(count, terms.rounding_mode) * multiple
    # money.round_to_minor rounds half-way only; up and down are exact integer division of the fraction.
    whole, rest = divmod(count.numerator, count.denominator)
    if terms.installment_rounding == InstallmentRounding.UP and rest:
        whole += 1
    return whole * multiple


def _spread(total: int, weights: list[Fraction], mode: str) -> list[int]:
    """`total` over the rows in proportion to `weights`: each row rounded, the last takes what is left."""
    weight_sum = sum(weights, Fraction(0))
    if total == 0 or weight_sum == 0:
        weights, weight_sum = [Fraction(1)] * len(weights), Fraction(len(weights))
    parts, left = [], total
    for weight in weights[:-1]:
        part = min(_to_int(total * weight / weight_sum, mode), left)  # never past the total: no negative last row
        parts.append(part)
        left -= part
    return [*parts, left]


# --- the schedule -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every row needs: dates, the interest rate of each period, the flat shares and the level payment."""

    dates: list[date]
    rates: list[Fraction]
    flat_interest: list[int] | None
    fees: list[int]
    level_payment: Fraction | None


def _flat_charge(terms: ScheduleTerms, rates: list[Fraction], grace_rate: Fraction) -> int:
    """A charge on the original principal over the whole term (plus grace days), rounded once."""
    return _to_int(terms.principal * (sum(rates, Fraction(0)) + grace_rate), terms.rounding_mode)


def _flat_interest(terms: ScheduleTerms, rates: list[Fraction]) -> list[int]:
    """Flat interest per row: equal shares for equal installments, else each period's own share."""
    grace = _grace_days_rate(terms, terms.annual_interest_rate, terms.interest_rate_per_period)
    total = _flat_charge(terms, rates, grace)
    by_period = bool(terms.explicit) or terms.amortization == Amortization.EQUAL_PRINCIPAL
    return _spread(total, rates if by_period else [Fraction(1)] * len(rates), terms.rounding_mode)


def _fees(terms: ScheduleTerms, dates: list[date]) -> list[int]:
    rates = _rates(terms, dates, terms.annual_fee_rate, None)
    total = _flat_charge(terms, rates, _grace_days_rate(terms, terms.annual_fee_rate, None))
    return _spread(total, [Fraction(1)] * len(dates), terms.rounding_mode)


def _level_payment(principal: int, rates: list[Fraction]) -> Fraction:
    """The annuity (EMI) that retires `principal` over periods with these rates: P / sum_k prod_j<=k 1/(1+r_j).

    With equal rates this is the textbook P r (1+r)^n / ((1+r)^n - 1); unequal ones come from day counts.
    """
    if not any(rates):
        return Fraction(principal, len(rates))
    with localcontext(_MATH):
        discount, factor = Decimal(1), Decimal(0)
        for rate in rates:
            discount /= 1 + Decimal(rate.numerator) / Decimal(rate.denominator)
            factor += discount
        return Fraction(Decimal(principal) / factor)


def _plan(terms: ScheduleTerms) -> _Plan:
    dates = _due_dates(terms)
    if terms.interest_method == InterestMethod.NONE:
        rates = [Fraction(0)] * len(dates)
    else:
        rates = _rates(terms, dates, terms.annual_interest_rate, terms.interest_rate_per_period)
    flat = _flat_interest(terms, rates) if terms.interest_method == InterestMethod.FLAT else None
    annuity = (
        terms.interest_method == InterestMethod.DECLINING_BALANCE
        and terms.amortization == Amortization.EQUAL_INSTALLMENTS
        and not terms.explicit
    )
    level = _level_payment(terms.principal, rates[terms.grace_on_principal_periods :]) if annuity else None
    return _Plan(dates, rates, flat, _fees(terms, dates), level)


def _principal(terms: ScheduleTerms, plan: _Plan, index: int, balance: int, interest: int) -> int:
    """This row's principal: the rest on the last row, given ones for explicit terms, else what levels it."""
    if index == len(plan.dates) - 1:
        return balance
    if terms.explicit:
        return terms.explicit[index][1]
    if index < terms.grace_on_principal_periods:
        return 0
    fee = plan.fees[index]
    if plan.level_payment is not None:
        target = plan.level_payment + fee
    else:
        amortizing = len(plan.dates) - terms.grace_on_principal_periods
        target = Fraction(terms.principal, amortizing) + interest + fee
    # The total is what gets rounded (to a cent or to a multiple); the principal is what remains of it.
    return max(0, min(balance, _round_installment(target, terms) - interest - fee))


def _defer(terms: ScheduleTerms, index: int, interest: int, deferred: int) -> tuple[int, int]:
    """(interest due now, interest still deferred): grace periods owe theirs with the first row after."""
    if index < terms.grace_on_interest_periods:
        return 0, deferred + interest
    return interest + deferred, 0


def build_schedule(terms: ScheduleTerms) -> list[Installment]:
    """The installments of a loan; see the module docstring for the invariant they keep."""
    _validate(terms)
    plan = _plan(terms)
    rows: list[Installment] = []
    balance, deferred = terms.principal, 0
    for index, due in enumerate(plan.dates):
        if plan.flat_interest is not None:
            interest = plan.flat_interest[index]
        else:
            interest = _to_int(balance * plan.rates[index], terms.rounding_mode)
        principal = _principal(terms, plan, index, balance, interest)
        due_interest, deferred = _defer(terms, index, interest, deferred)
        balance -= principal
        rows.append(Installment(index + 1, due, principal, due_interest, plan.fees[index], balance))
    return rows


# --- validation -------------------------------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: object, field: str) -> _E:
    """`value` as a member of `kind`; a plain string of a member's value is accepted too."""
    if isinstance(value, str) and value in {member.value for member in kind}:
        return kind(value)
    choices = ", ".join(member.value for member in kind)
    raise ScheduleError(field, f"must be one of {choices}, not {value!r}")


def _require(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ScheduleError(field, message)


def _check_int(value: object, field: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleError(field, "must be an integer")
    _require(value >= minimum, field, f"must be at least {minimum}")


def _check_date(value: object, field: str) -> None:
    # A datetime is a date to isinstance, but a schedule has no time of day.
    _require(isinstance(value, date) and not isinstance(value, datetime), field, "must be a date")


def _check_rate(value: object, field: str) -> None:
    if not isinstance(value, Decimal):
        raise ScheduleError(field, "must be a Decimal percent (never a float)")
    _require(value.is_finite() and value >= 0, field, "must be a finite percent, not negative")


def _check_numbers(terms: ScheduleTerms) -> None:
    _check_int(terms.principal, "principal", minimum=1)
    _check_int(terms.minor_exponent, "minor_exponent", minimum=0)
    _require(terms.minor_exponent <= 6, "minor_exponent", "must be at most 6")
    if not terms.explicit:  # explicit rows replace the count
        _check_int(terms.repayments, "repayments", minimum=1)
    _check_int(terms.repayment_every, "repayment_every", minimum=1)
    _check_int(terms.grace_on_principal_periods, "grace_on_principal_periods", minimum=0)
    _check_int(terms.grace_on_interest_periods, "grace_on_interest_periods", minimum=0)
    _check_int(terms.grace_days, "grace_days", minimum=0)
    if terms.installment_multiple_of is not None:
        _check_int(terms.installment_multiple_of, "installment_multiple_of", minimum=1)
    _require(isinstance(terms.bullet, bool), "bullet", "must be true or false")
    _require(terms.rounding_mode in ROUNDING_MODES, "rounding_mode", f"must be one of {sorted(ROUNDING_MODES)}")


def _check_choices(terms: ScheduleTerms) -> None:
    _enum(Frequency, terms.repayment_frequency, "repayment_frequency")
    _enum(InterestMethod, terms.interest_method, "interest_method")
    _enum(Amortization, terms.amortization, "amortization")
    _enum(DayCount, terms.day_count, "day_count")
    _enum(InstallmentRounding, terms.installment_rounding, "installment_rounding")


def _check_rates(terms: ScheduleTerms) -> None:
    _check_rate(terms.annual_interest_rate, "annual_interest_rate")
    _check_rate(terms.annual_fee_rate, "annual_fee_rate")
    if terms.interest_rate_per_period is not None:
        _check_rate(terms.interest_rate_per_period, "interest_rate_per_period")
    if terms.interest_method == InterestMethod.NONE:
        # A rate with no method to charge it would silently lend at 0%: refuse the contradiction.
        _require(terms.annual_interest_rate == 0, "annual_interest_rate", "must be 0 when interest_method is none")
        rate = terms.interest_rate_per_period
        _require(not rate, "interest_rate_per_period", "must be 0 or absent when interest_method is none")


def _check_dates_and_grace(terms: ScheduleTerms) -> None:
    _check_date(terms.disbursement_date, "disbursement_date")
    if terms.first_repayment_date is not None:
        _check_date(terms.first_repayment_date, "first_repayment_date")
        after = terms.first_repayment_date > terms.disbursement_date
        _require(after, "first_repayment_date", "must be after the disbursement date")
    count = _installment_count(terms)
    for field in ("grace_on_principal_periods", "grace_on_interest_periods"):
        grace = getattr(terms, field)
        _require(grace < count, field, f"must be less than the number of installments ({count})")


def _check_explicit_rows(terms: ScheduleTerms) -> None:
    previous = terms.disbursement_date
    for row in terms.explicit:
        _require(isinstance(row, tuple) and len(row) == 2, "explicit", "each row must be a (due date, principal) pair")
        due, principal = row
        _check_date(due, "explicit")
        _require(due > previous, "explicit", f"due dates must increase and follow the disbursement ({due})")
        _require(isinstance(principal, int) and not isinstance(principal, bool), "explicit", "principals are integers")
        _require(principal >= 0, "explicit", f"principals must not be negative ({principal})")
        previous = due
    total = sum(principal for _, principal in terms.explicit)
    _require(total == terms.principal, "explicit", f"principals sum to {total}, not the principal {terms.principal}")


def _check_explicit(terms: ScheduleTerms) -> None:
    if not terms.explicit:
        return
    _require(isinstance(terms.explicit, tuple), "explicit", "must be a tuple of (due date, principal) pairs")
    _check_explicit_rows(terms)
    # The given rows already fix dates and principal; these would contradict them.
    _require(not terms.bullet, "bullet", "cannot be combined with explicit rows")
    _require(terms.first_repayment_date is None, "first_repayment_date", "cannot be combined with explicit rows")
    _require(terms.grace_on_principal_periods == 0, "grace_on_principal_periods", "explicit rows set the principal")
    _require(terms.installment_multiple_of is None, "installment_multiple_of", "explicit rows set the principal")
    charges = terms.interest_method != InterestMethod.NONE or terms.annual_fee_rate > 0
    same_as = terms.day_count == DayCount.SAME_AS_REPAYMENT_PERIOD
    _require(not (charges and same_as), "day_count", "irregular periods need a day count to charge interest or fees")


def _validate(terms: ScheduleTerms) -> None:
    """Every field checked, in the order a person reads them; the first fault is raised."""
    for check in _CHECKS:
        check(terms)


_CHECKS: Final = (_check_numbers, _check_choices, _check_rates, _check_dates_and_grace, _check_explicit)
