"""Money as integer minor units of an ISO 4217 currency; the one place that rounds and splits.

Pure Python, no Django. Amounts are `int` minor units (cents for USD, whole units for UGX or JPY).
`Decimal` appears only for rates and intermediate maths, and `round_to_minor` is the single place
where a Decimal becomes an integer amount. A pro-rata split returns parts that sum exactly to the
total (largest remainder; ties go to the earliest weight).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

# ISO 4217 minor-unit exponents for the currencies a microlending platform meets (Kiva lends in
# about 70 local currencies); anything not listed is refused rather than guessed.
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    # zero-decimal
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # two-decimal
    "AFN": 2, "ALL": 2, "AMD": 2, "AZN": 2, "BAM": 2, "BDT": 2, "BOB": 2, "BRL": 2, "BZD": 2,
    "CAD": 2, "CDF": 2, "CHF": 2, "CNY": 2, "COP": 2, "CRC": 2, "DOP": 2, "EGP": 2, "ETB": 2,
    "EUR": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GTQ": 2, "HNL": 2, "HTG": 2, "IDR": 2, "ILS": 2,
    "INR": 2, "JMD": 2, "KES": 2, "KGS": 2, "KHR": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2,
    "LSL": 2, "MDL": 2, "MGA": 2, "MMK": 2, "MNT": 2, "MWK": 2, "MXN": 2, "MZN": 2, "NGN": 2,
    "NIO": 2, "NPR": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "SBD": 2, "SLE": 2,
    "SLL": 2, "SRD": 2, "SSP": 2, "THB": 2, "TJS": 2, "TOP": 2, "TRY": 2, "TZS": 2, "UAH": 2,
    "USD": 2, "UYU": 2, "WST": 2, "XCD": 2, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWL": 2,
}  # fmt: skip

ROUNDING_MODES: Final = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP}


class MoneyError(ValueError):
    """Bad money input: an unknown currency, a malformed amount, or a precision the currency lacks."""


class CurrencyMismatch(MoneyError):
    """Two amounts in different currencies were combined."""


def check_currency(code: object) -> str:
    """Return `code` if it is a supported ISO 4217 code (upper case, three letters), else raise."""
    if not isinstance(code, str) or code not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unsupported currency {code!r}: expected an ISO 4217 code such as 'USD'")
    return code


def minor_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 for USD, 0 for UGX, 3 for JOD)."""
    return CURRENCY_EXPONENTS[check_currency(currency)]


def check_minor(amount: object, *, positive: bool = False) -> int:
    """Return `amount` if it is an integer number of minor units (never a bool, float or Decimal)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyError(f"amount must be an integer number of minor units, not {type(amount).__name__}")
    if positive and amount <= 0:
        raise MoneyError(f"amount must be positive, got {amount}")
    return amount


def to_minor(value: str | int | Decimal, currency: str) -> int:
    """Parse a major-unit amount ("25", "25.50", Decimal) exactly; more decimals than the currency has are refused."""
    if isinstance(value, (bool, float)):
        raise MoneyError("amounts are decimal strings or Decimals, never floats")
    try:
        dec = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{value!r} is not a decimal amount") from None
    if not dec.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    scaled = dec.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} has more decimal places than {currency} allows ({minor_exponent(currency)})")
    return int(scaled)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """The exact major-unit Decimal of an integer amount: 2550 USD -> Decimal('25.50')."""
    exp = minor_exponent(currency)
    return Decimal(check_minor(amount_minor)).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def round_to_minor(value: Decimal, *, mode: str = "half_even") -> int:
    """Round a Decimal number of minor units to an integer: the only rounding of money in the code base."""
    if not isinstance(value, Decimal):
        raise MoneyError("round_to_minor takes a Decimal number of minor units")
    try:
        rounding = ROUNDING_MODES[mode]
    except KeyError:
        raise MoneyError(f"unknown rounding mode {mode!r}; expected one of {sorted(ROUNDING_MODES)}") from None
    return int(value.to_integral_value(rounding=rounding))


def format_money(amount_minor: int, currency: str, *, decimal_mark: str = ".", group_mark: str = ",") -> str:
    """Human form with thousands separators: 123456 USD -> '$1,234.56'; 5000 UGX -> 'UGX 5,000'.

    The marks follow the reader's locale: `decimal_mark=",", group_mark="."` gives '$1.234,56'.
    """
    major = to_major(amount_minor, currency)
    text = f"{abs(major):,.{minor_exponent(currency)}f}"
    text = text.replace(",", "\0").replace(".", decimal_mark).replace("\0", group_mark)
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}${text}" if currency == "USD" else f"{sign}{currency} {text}"


def split_pro_rata(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split: the parts sum to `total` exactly; ties go to the earliest weight.

    Each part is floor(total * w / W); the cents left over go one each to the parts with the
    largest remainders. A zero weight always gets zero. `total` may be negative (a reversal):
    the split of -x is the negation of the split of x, so reversing a split returns every cent.
    """
    check_minor(total)
    if not weights:
        raise MoneyError("cannot split among no weights")
    for weight in weights:
        check_minor(weight)
        if weight < 0:
            raise MoneyError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("cannot split when every weight is zero")
    if total < 0:
        return [-part for part in split_pro_rata(-total, weights)]
    parts = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    leftover = total - sum(parts)
    by_largest_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_largest_remainder[:leftover]:
        parts[i] += 1
    return parts


def split_cumulative(amount: int, weights: list[int], received: list[int]) -> list[int]:
    """Split `amount` so that each party's running total stays the largest-remainder split of the running total.

    Used for repayments: with weights = what each lender lent and received = what each has had back,
    after every payment each lender holds their exact pro-rata share of everything repaid so far
    (within a cent), and once the whole principal is repaid each holds exactly their weight. Where the
    largest-remainder method would take a cent back from someone (its "Alabama paradox"), that
    party gets nothing this time and the cents they would have given back are taken, one each, from
    those furthest ahead of their exact share: never negative, never past a weight, and every running
    total stays within two cents of exact.
    """
    check_minor(amount)
    if (
        amount < 0
        or len(received) != len(weights)
        or any(r < 0 or r > w for r, w in zip(received, weights, strict=True))
    ):
        raise MoneyError("received amounts must be between zero and their weights, one per weight")
    owed = [w - r for w, r in zip(weights, received, strict=True)]
    if amount > sum(owed):
        raise MoneyError(f"cannot pay {amount}: only {sum(owed)} is owed")
    if amount == 0:
        return [0] * len(weights)
    total_after, weight_sum = sum(received) + amount, sum(weights)
    target = split_pro_rata(total_after, weights)
    parts = [t - r for t, r in zip(target, received, strict=True)]  # never past a weight: target <= weight
    if all(part >= 0 for part in parts):
        return parts
    parts = [max(part, 0) for part in parts]
    for _ in range(sum(parts) - amount):
        # How far ahead of its exact share each running total would be, scaled by the weight sum to stay whole.
        ahead = [
            ((r + part) * weight_sum - total_after * w, -i)
            for i, (r, part, w) in enumerate(zip(received, parts, weights, strict=True))
            if part > 0
        ]
        parts[-max(ahead)[1]] -= 1  # the furthest ahead gives a cent; on a tie, the latest (the earliest keep)
    return parts


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency; arithmetic refuses to mix currencies."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_minor(self.amount)
        check_currency(self.currency)

    @classmethod
    def parse(cls, value: str | int | Decimal, currency: str) -> Money:
        return cls(to_minor(value, currency), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def split(self, weights: list[int]) -> list[Money]:
        return [Money(part, self.currency) for part in split_pro_rata(self.amount, weights)]

    @property
    def major(self) -> Decimal:
        return to_major(self.amount, self.currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)
