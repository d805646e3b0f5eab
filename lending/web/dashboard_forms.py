"""The lender dashboard's forms: portfolio filters, the statement's dates, auto-lending settings.

Forms only read and check what a person typed; the auto-lending form hands its cleaned values to
`lending.autolending.services` (which checks them again, the same way for the API and the page).
Amounts are typed in the currency's major unit ("50" or "50.00") and become integer minor units here.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from lending.autolending.models import AutoLendingSettings
from lending.autolending.services import MAX_CENTS, MAX_IDLE_DAYS, MAX_TERM_MONTHS, auto_lending_settings_check
from lending.loans.models import Loan, Sector
from lending.money import MoneyError, format_money, to_major, to_minor

S = Loan.Status
# The statuses a lender's stake can be in (a loan is lent to from fundraising on).
HELD_STATUSES = (S.FUNDRAISING, S.FUNDED, S.PAYING_BACK, S.REPAID, S.DEFAULTED, S.EXPIRED, S.REFUNDED, S.CANCELLED)
STATEMENT_MAX_DAYS = 366  # as the API's statement (lending/api/statement.py)
STATEMENT_DEFAULT_DAYS = 90
# What a person filters a statement by, and the journal kinds each covers.
STATEMENT_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "deposits": ("Deposits", ("deposit",)),
    "lending": ("Lending", ("share_purchase",)),
    "repayments": ("Repayments", ("repayment", "recovery")),
    "refunds": ("Refunded shares", ("expiry_refund", "cancel_refund", "refund")),
    "withdrawals": ("Withdrawals", ("withdrawal_hold", "withdrawal_paid", "withdrawal_returned")),
    "disputes": ("Card disputes", ("dispute_hold", "dispute_lost")),
}


class PortfolioFilterForm(forms.Form):
    sector = forms.ChoiceField(required=False, label="Sector", choices=[("", "Any sector"), *Sector.choices])

    def __init__(self, *args: Any, countries: list[tuple[str, str]], **kwargs: Any) -> None:
        """`countries`: (code, name) of the countries the lender has lent to: the only ones worth offering."""
        super().__init__(*args, **kwargs)
        self.fields["status"] = forms.ChoiceField(
            required=False, label="Status", choices=[("", "Any status"), *((s.value, s.label) for s in HELD_STATUSES)]
        )
        self.fields["country"] = forms.ChoiceField(
            required=False, label="Country", choices=[("", "Any country"), *countries]
        )
        self.order_fields(["status", "sector", "country"])


class StatementForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        required=False, label="Show", choices=[("", "Everything"), *((k, v[0]) for k, v in STATEMENT_KINDS.items())]
    )

    def clean(self) -> dict[str, Any]:
        """Fill the defaults (the last 90 days) and refuse a backwards or over-long range, on the start field."""
        data = super().clean() or {}
        if self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=STATEMENT_DEFAULT_DAYS)
        if start > end:
            self.add_error("start", "The start date must be on or before the end date.")
        elif (end - start).days >= STATEMENT_MAX_DAYS:
            self.add_error("start", f"A statement covers at most {STATEMENT_MAX_DAYS} days; choose a later start.")
        kinds = STATEMENT_KINDS[data["kind"]][1] if data.get("kind") else ()
        return {**data, "start": start, "end": end, "kinds": list(kinds)}


class MoneyField(forms.CharField):
    """An amount typed in major units ("50", "1,000.00") that cleans to integer minor units, or None if blank."""

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        self.currency = currency
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = (super().to_python(value) or "").replace(",", "").strip()
        if not text:
            return None
        try:
            cents = to_minor(text, self.currency)
        except MoneyError:
            raise ValidationError(f"Enter an amount in {self.currency}, such as 50 or 50.00.") from None
        if cents <= 0:
            raise ValidationError("Enter an amount above zero.")
        if cents > MAX_CENTS:
            raise ValidationError(f"Enter at most {format_money(MAX_CENTS, self.currency)}.")
        return cents


def _major(cents: int | None, currency: str) -> str:
    return "" if cents is None else str(to_major(cents, currency))


# Service field names to form field names, where they differ (money is typed in major units, rates in percent).
_FORM_NAME = {
    "max_per_loan_cents": "max_per_loan",
    "max_per_partner_cents": "max_per_partner",
    "max_per_country_cents": "max_per_country",
    "max_per_sector_cents": "max_per_sector",
    "max_partner_default_rate": "max_partner_default_percent",
}


class AutoLendingForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Lend my idle credit automatically")
    sectors = forms.MultipleChoiceField(
        required=False, choices=Sector.choices, widget=forms.CheckboxSelectMultiple, label="Sectors",
        help_text="Tick none to accept any sector.",
    )  # fmt: skip
    countries = forms.CharField(
        required=False, label="Countries", max_length=400,
        help_text="Two-letter codes separated by commas, such as KE, UG, PE. Leave empty for any country.",
    )  # fmt: skip
    genders = forms.MultipleChoiceField(
        required=False, choices=Loan.Gender.choices, widget=forms.CheckboxSelectMultiple, label="Borrowers",
        help_text="Tick none to accept any borrower.",
    )  # fmt: skip
    allow_group_loans = forms.BooleanField(required=False, label="Include group loans")
    max_partner_default_percent = forms.DecimalField(
        required=False, min_value=0, max_value=100, decimal_places=4, label="Highest field-partner default rate (%)",
        help_text="Only partners whose default rate is at most this. Empty: no limit.",
    )  # fmt: skip
    min_partner_rating = forms.DecimalField(
        required=False, min_value=0, max_value=5, decimal_places=1, label="Lowest field-partner rating (0 to 5)",
        help_text="Empty: any rating, and loans without a partner.",
    )  # fmt: skip
    max_term_months = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_TERM_MONTHS, label="Longest term (months)", help_text="Empty: any."
    )
    idle_days = forms.IntegerField(
        min_value=0, max_value=MAX_IDLE_DAYS, label="Wait before lending (days)",
        help_text="Credit is lent only after it has sat unused in your wallet this long.",
    )  # fmt: skip

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        share = format_money(settings.LOAN_SHARE_CENTS, currency)
        self.fields["max_per_loan"] = MoneyField(
            currency=currency, label=f"Most per loan ({currency})", help_text=f"In steps of {share}."
        )
        for name, what in (("partner", "field partner"), ("country", "country"), ("sector", "sector")):
            self.fields[f"max_per_{name}"] = MoneyField(
                currency=currency, required=False, label=f"Most outstanding per {what} ({currency})",
                help_text="Empty: no cap.",
            )  # fmt: skip

    @classmethod
    def initial_from(cls, row: AutoLendingSettings, currency: str) -> dict[str, Any]:
        """The form's starting values from the lender's settings (saved or the defaults)."""
        rate = row.max_partner_default_rate
        return {
            "enabled": row.enabled,
            "sectors": row.sectors,
            "countries": ", ".join(row.countries),
            "genders": row.genders,
            "allow_group_loans": row.allow_group_loans,
            "max_partner_default_percent": None if rate is None else (Decimal(rate) * 100).normalize(),
            "min_partner_rating": row.min_partner_rating,
            "max_term_months": row.max_term_months,
            "idle_days": row.idle_days,
            **{name: _major(getattr(row, f"{name}_cents"), currency) for name in
               ("max_per_loan", "max_per_partner", "max_per_country", "max_per_sector")},
        }  # fmt: skip

    def clean_countries(self) -> list[str]:
        codes = [c.strip().upper() for c in self.cleaned_data["countries"].replace(";", ",").split(",") if c.strip()]
        bad = [c for c in codes if len(c) != 2 or not c.isascii() or not c.isalpha()]
        if bad:
            raise ValidationError(f"Use two-letter country codes such as KE; not: {', '.join(bad)}.")
        return codes

    def clean_max_per_loan(self) -> int | None:
        cents = self.cleaned_data.get("max_per_loan")
        share = settings.LOAN_SHARE_CENTS
        if cents is not None and cents % share:
            raise ValidationError(f"Choose a multiple of {format_money(share, self.currency)}.")
        return cents

    def clean(self) -> dict[str, Any]:
        """The settings as the service names them, checked by the service too; its complaints go on the fields."""
        data = super().clean() or {}
        if self.errors:
            return data
        percent = data.get("max_partner_default_percent")
        fields: dict[str, Any] = {
            name: data.get(name) for name in (
                "enabled", "sectors", "countries", "genders", "allow_group_loans", "min_partner_rating",
                "max_term_months", "idle_days")
        }  # fmt: skip
        fields["max_partner_default_rate"] = None if percent is None else percent / 100
        for service_name, form_name in _FORM_NAME.items():
            if service_name.endswith("_cents"):
                fields[service_name] = data.get(form_name)
        try:
            self.settings_fields = auto_lending_settings_check(fields)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(_FORM_NAME.get(name, name) if _FORM_NAME.get(name, name) in self.fields else None,
                               [m.replace("must be", "Must be", 1) for m in messages])  # fmt: skip
        return data
