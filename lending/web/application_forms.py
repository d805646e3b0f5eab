"""The borrower's application forms: each checks what a person typed and says what is wrong in plain words.

The loan services check the same rules again (they are the authority): `refusal_field` maps the field a
service names (InvalidApplication.field, a ValidationError's key) to the form field that shows it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from accounts.countries import country_choices
from lending.loans.models import Sector
from lending.money import MoneyError, format_money, to_major, to_minor

MAX_REPAYMENTS = 60  # five years of monthly repayments; the engine takes more, a person applying here does not
MAX_WEEKS_APART = 12

# The services' names for what these forms call otherwise.
SERVICE_FIELDS = {
    "amount_cents": "amount",
    "share_size_cents": "amount",
    "repayment_every": "every_weeks",
    "repayment_frequency": "interval",
}


def refusal_field(form: forms.Form, field: str | None) -> str | None:
    """The form field a service's refusal belongs next to, or None for the top of the form."""
    name = SERVICE_FIELDS.get(field or "", field)
    return name if name in form.fields else None


def refusal_text(message: str, field: str | None) -> str:
    """A service's 'field: message' as a sentence a person reads."""
    text = message.split(": ", 1)[1] if field and message.startswith(f"{field}: ") else message
    return text[:1].upper() + text[1:].rstrip(".") + "."


def _country() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Country",
        choices=[("", "Choose your country"), *country_choices()],
        error_messages={"required": "Choose your country.", "invalid_choice": "Choose a country from the list."},
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )


class AboutForm(forms.Form):
    """Step 1: who the borrower is, as lenders will see it."""

    display_name = forms.CharField(
        label="Your name",
        max_length=100,
        help_text="Lenders see this name on your loan page.",
        error_messages={"required": "Enter your name."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    country = _country()
    town = forms.CharField(
        label="Town or village",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )


class BorrowerSignupForm(AboutForm):
    """Step 1 for a new visitor: a borrower's login and who they are, created together."""

    email = forms.EmailField(
        label="Email",
        error_messages={"required": "Enter your email address.", "invalid": "Enter a valid email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 8 characters, not only numbers, and not like your email or name.",
        error_messages={"required": "Choose a password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = ["email", "password", "display_name", "country", "town"]


class BusinessForm(forms.Form):
    """Step 2: what the loan is for."""

    sector = forms.ChoiceField(
        label="Sector",
        choices=[("", "Choose a sector"), *Sector.choices],
        error_messages={"required": "Choose the sector of your business.", "invalid_choice": "Choose a sector."},
    )
    purpose = forms.CharField(
        label="What is the loan for?",
        max_length=200,
        help_text="One or two sentences lenders will read, such as “To buy a second sewing machine”. "
        "Up to 200 characters.",
        error_messages={
            "required": "Say what the loan is for.",
            "max_length": "Use at most 200 characters (you used %(show_value)d).",
        },
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 200}),
    )


INTERVALS = [("months", "Every month"), ("weeks", "Every few weeks")]


class LoanTermsForm(forms.Form):
    """Step 3: how much, and how it is paid back; `terms()` is what the loan services take."""

    amount = forms.CharField(
        label="Amount",
        error_messages={"required": "Enter the amount you need."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(label="Currency")
    repayments = forms.IntegerField(
        label="Number of repayments",
        min_value=1,
        max_value=MAX_REPAYMENTS,
        help_text=f"How many repayments you will make, from 1 to {MAX_REPAYMENTS}.",
        error_messages={
            "required": "Enter the number of repayments.",
            "invalid": "Enter a whole number, such as 12.",
            "min_value": "Make at least one repayment.",
            "max_value": f"Choose at most {MAX_REPAYMENTS} repayments.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    interval = forms.ChoiceField(
        label="How often you repay",
        choices=INTERVALS,
        initial="months",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how often you repay.", "invalid_choice": "Choose how often you repay."},
    )
    every_weeks = forms.IntegerField(
        label="Weeks between repayments",
        min_value=1,
        max_value=MAX_WEEKS_APART,
        required=False,
        initial=2,
        help_text=f"Only when you repay every few weeks: 1 to {MAX_WEEKS_APART}.",
        error_messages={
            "invalid": "Enter a whole number of weeks, such as 2.",
            "min_value": "Enter at least 1 week.",
            "max_value": f"Enter at most {MAX_WEEKS_APART} weeks.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currencies = list(settings.LENDING_CURRENCIES)
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = [(code, code) for code in currencies]
        currency.initial = settings.PLATFORM_CURRENCY
        if len(currencies) == 1:  # nothing to choose: the amount's label names it
            currency.widget = forms.HiddenInput()
            self.fields["amount"].label = f"Amount ({currencies[0]})"
        share = format_money(settings.LOAN_SHARE_CENTS, settings.PLATFORM_CURRENCY)
        most = format_money(settings.LOAN_MAX_CENTS, settings.PLATFORM_CURRENCY)
        self.fields["amount"].help_text = f"A multiple of {share} (lenders fund {share} shares), up to {most}."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency, text = data.get("currency"), data.get("amount")
        if currency and text is not None:
            self._clean_amount(str(text), currency, data)
        if data.get("interval") == "weeks" and data.get("every_weeks") is None and "every_weeks" not in self.errors:
            self.add_error("every_weeks", "Enter the number of weeks between repayments.")
        return data

    def _clean_amount(self, text: str, currency: str, data: dict[str, Any]) -> None:
        share, most = settings.LOAN_SHARE_CENTS, settings.LOAN_MAX_CENTS
        try:
            cents = to_minor(text.strip().replace(",", "").lstrip("$"), currency)
        except MoneyError:
            self.add_error("amount", f"Enter an amount in {currency}, such as 500 or 500.00.")
            return
        if cents <= 0:
            self.add_error("amount", "Enter an amount above zero.")
        elif cents > most:
            self.add_error("amount", f"The most you can ask for is {format_money(most, currency)}.")
        elif cents % share:
            self.add_error(
                "amount",
                f"Ask for a multiple of {format_money(share, currency)}, "
                f"such as {format_money(max(cents // share, 1) * share, currency)}.",
            )
        else:
            data["amount_cents"] = cents

    def terms(self) -> dict[str, Any]:
        """The cleaned terms in the loan services' names."""
        data = self.cleaned_data
        weeks = data["interval"] == "weeks"
        return {
            "amount_cents": data["amount_cents"],
            "currency": data["currency"],
            "repayments": data["repayments"],
            "repayment_every": data["every_weeks"] if weeks else 1,
            "repayment_frequency": "weeks" if weeks else "months",
        }

    @staticmethod
    def initial_from(loan: Any) -> dict[str, Any]:
        """The form's values for a saved draft."""
        weeks = loan.repayment_frequency == "weeks"
        return {
            "amount": str(to_major(loan.amount_cents, loan.currency)),
            "currency": loan.currency,
            "repayments": loan.repayments,
            "interval": "weeks" if weeks else "months",
            "every_weeks": loan.repayment_every if weeks else 2,
        }


class SubmitForm(forms.Form):
    """Step 4: the borrower confirms before reviewers see the application."""

    confirm = forms.BooleanField(
        label="What I wrote is true, and I will repay the loan on schedule",
        error_messages={"required": "Tick the box to confirm before you submit."},
    )
