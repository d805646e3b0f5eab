"""The console's forms: they read and check what a person typed; the loan services decide and write.

Each form checks what it can without the database's state (a reason is there, a date is not in
the future, an amount is money in the loan's currency); the services check the rest, and the
views put the services' refusals next to the field they name.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import FieldPartner
from lending.loans.models import Loan
from lending.money import MoneyError, to_minor

MAX_CSV_BYTES = 2_000_000  # as the API takes (lending.api.repayments)
MAX_METRICS_DAYS = 730


def _day(on: date) -> str:
    return f"{on.day} {on:%b %Y}"


def _reason(*, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label="Reason",
        required=required,
        max_length=500,
        strip=True,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give a reason: it is kept in the loan's history."},
    )


class ApproveForm(forms.Form):
    reason = _reason(required=False, help_text="Optional; kept in the loan's history.")


class RejectForm(forms.Form):
    reason = _reason(required=True, help_text="The borrower reads this; it is kept in the loan's history.")


class PublishForm(forms.Form):
    """Nothing to type: listing an approved loan starts its fundraising days today."""


class WriteOffForm(forms.Form):
    reason = _reason(required=True, help_text="Why the loan is written off now; kept in the loan's history.")


class RefundForm(forms.Form):
    reason = _reason(required=True, help_text="Why the lenders get their money back; kept in the loan's history.")


class DisburseForm(forms.Form):
    disbursed_on = forms.DateField(
        label="Paid out on",
        required=False,
        help_text="Leave empty for today.",
        widget=forms.DateInput({"type": "date"}),
    )
    first_repayment_date = forms.DateField(
        label="First repayment due",
        required=False,
        help_text="Leave empty for one period after the payout.",
        widget=forms.DateInput({"type": "date"}),
    )

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loan = loan

    def clean_disbursed_on(self) -> date | None:
        value: date | None = self.cleaned_data.get("disbursed_on")
        if value is None:
            return None
        if value > timezone.localdate():
            raise forms.ValidationError("A loan cannot be paid out in the future.")
        if self.loan.funded_on is not None and value < self.loan.funded_on:
            raise forms.ValidationError(
                f"The loan was funded on {_day(self.loan.funded_on)}: pay it out then or later."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        paid, first = data.get("disbursed_on") or timezone.localdate(), data.get("first_repayment_date")
        if first is not None and first <= paid:
            self.add_error("first_repayment_date", "The first repayment must fall after the payout.")
        return data


class RepaymentForm(forms.Form):
    """One repayment received for a loan, in the loan's currency; `request_key` makes a double click post once."""

    amount = forms.CharField(label="Amount received", max_length=20, widget=forms.TextInput({"inputmode": "decimal"}))
    received_on = forms.DateField(label="Received on", widget=forms.DateInput({"type": "date"}))
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loan = loan
        self.fields["amount"].label = f"Amount received ({loan.currency})"
        self.fields["received_on"].initial = timezone.localdate()

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"].strip().replace(",", "")
        try:
            cents = to_minor(text, self.loan.currency)
        except MoneyError:
            raise forms.ValidationError(f"Enter an amount in {self.loan.currency}, such as 12.50.") from None
        if cents <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        if cents > 10**12:
            raise forms.ValidationError("That amount is too large for one repayment.")
        return cents

    def clean_received_on(self) -> date:
        value: date = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("A repayment cannot be received in the future.")
        if self.loan.disbursed_on is not None and value < self.loan.disbursed_on:
            raise forms.ValidationError(
                f"The loan was paid out on {_day(self.loan.disbursed_on)}: a repayment comes after."
            )
        return value


class BatchUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="First line: loan,amount_cents,currency,received_on,reference. At most 1,000 rows.",
        widget=forms.ClearableFileInput({"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose a CSV file to upload.", "empty": "The file is empty."},
    )

    def clean_file(self) -> str:
        """The file's text (UTF-8), which the view reads rows from."""
        upload = self.cleaned_data["file"]
        self.filename = str(upload.name or "")
        if upload.size and upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(f"At most {MAX_CSV_BYTES:,} bytes per file: split it.")
        try:
            return str(upload.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the file as CSV in UTF-8 and upload it again.") from None


class BatchApplyForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class FindLoanForm(forms.Form):
    loan = forms.IntegerField(label="Loan number", min_value=1, widget=forms.NumberInput({"inputmode": "numeric"}))


class AtRiskForm(forms.Form):
    min_days = forms.TypedChoiceField(
        label="Late by at least",
        coerce=int,
        required=False,
        choices=[(1, "1 day"), (31, "31 days"), (61, "61 days"), (91, "91 days"), (181, "181 days")],
    )


class MetricsForm(forms.Form):
    """The period (default: the last year) and, for platform staff, the partner."""

    partner = forms.ModelChoiceField(queryset=FieldPartner.objects.order_by("name"), required=False, label="Partner")
    start = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args: Any, choose_partner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not choose_partner:
            del self.fields["partner"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=365)
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("start", "The start must be on or before the end.")
        elif (end - start).days > MAX_METRICS_DAYS:
            self.add_error("start", f"Show at most {MAX_METRICS_DAYS} days at a time.")
        data["start"], data["end"] = start, end
        return data
