"""The forms of the account pages: they check the shape of what was typed and hand it to a service.

Rules that need the database (a taken email, Django's password validators, the log-in lockout) live in
the services; their ValidationErrors name a field and come back next to it here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from accounts import lockout, profiles, services
from accounts.countries import country_choices
from accounts.models import User

COUNTRY_CHOICES = [("", "Choose a country"), *country_choices()]


class _Form(forms.Form):
    """No colon after labels; errors as a list the field points at (aria-describedby)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def take(self, exc: ValidationError) -> None:
        """Put a service's refusal next to the field it names (or above the form)."""
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc)


class SignupForm(_Form):
    full_name = forms.CharField(label="Your name", max_length=150, widget=forms.TextInput({"autocomplete": "name"}))
    email = forms.EmailField(label="Email", max_length=254, widget=forms.EmailInput({"autocomplete": "email"}))
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput({"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    country = forms.ChoiceField(label="Country you lend from", choices=COUNTRY_CHOICES)

    def register(self) -> User | None:
        """The new lender, or None with the reasons on the form (nothing written)."""
        data = self.cleaned_data
        try:
            return services.lender_register(
                email=data["email"], password=data["password"], full_name=data["full_name"], country=data["country"]
            )
        except ValidationError as exc:
            self.take(exc)
            return None


class LoginForm(AuthenticationForm):
    """Email and password, behind the lockout (accounts.backends): a locked login says until when."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your email and password didn't match. Please try again.",
        "locked": "Too many failed attempts to log in. For your safety, logging in is paused until %(time)s "
        "(about %(minutes)s). You can also reset your password now.",
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget = forms.EmailInput(
            {"autocomplete": "email", "autofocus": True, "maxlength": 254}
        )
        self.locked_until: datetime | None = None

    def clean(self) -> dict[str, Any]:
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email and password:
            self.user_cache = authenticate(self.request, username=email, password=password)
            if self.user_cache is None:
                self.locked_until = lockout.login_locked_until(attempt=lockout.attempt_of(email, self.request))
                if self.locked_until is not None:
                    raise self.locked_error(self.locked_until)
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def locked_error(self, until: datetime) -> ValidationError:
        minutes = max(1, -(-int((until - timezone.now()).total_seconds()) // 60))  # rounded up
        when = date_format(timezone.localtime(until), "H:i T")
        return ValidationError(
            self.error_messages["locked"],
            code="locked",
            params={"time": when, "minutes": f"{minutes} minute{'s' if minutes != 1 else ''}"},
        )


class EmailResetForm(PasswordResetForm):
    """Django's reset form: the same answer whether or not the email has an account."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "autofocus": True})


class LockClearingSetPasswordForm(SetPasswordForm):
    """A new password through the emailed link proves the mailbox is theirs: the email's lock ends too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        if commit:
            lockout.login_lock_clear(email=user.email)
        return user


class NameForm(_Form):
    """Borrowers and staff: the name others see on their work."""

    full_name = forms.CharField(label="Your name", max_length=150, widget=forms.TextInput({"autocomplete": "name"}))

    def save(self, user: User) -> bool:
        try:
            profiles.user_name_update(user=user, full_name=self.cleaned_data["full_name"])
        except ValidationError as exc:
            self.take(exc)
            return False
        return True


class LenderProfileForm(NameForm):
    display_name = forms.CharField(
        label="Public name",
        max_length=100,
        help_text="Shown on the loans you fund, such as your first name or a nickname.",
    )
    is_public = forms.BooleanField(
        label="Lend publicly: other people see my name on the loans I fund",
        required=False,
        help_text="When unticked, other people see “Anonymous” instead.",
    )
    country = forms.ChoiceField(label="Country you lend from", choices=COUNTRY_CHOICES, required=False)
    town = forms.CharField(label="Town or city", max_length=100, required=False)

    def save(self, user: User) -> bool:
        data = self.cleaned_data
        try:
            profiles.lender_profile_update(
                user=user,
                full_name=data["full_name"],
                display_name=data["display_name"],
                is_public=data["is_public"],
                country=data["country"],
                town=data["town"],
            )
        except ValidationError as exc:
            self.take(exc)
            return False
        return True


class NotificationsForm(_Form):
    """What the daily email tells a lender about (lending.notifications)."""

    repayments = forms.BooleanField(label="Repayments I receive", required=False)
    funded = forms.BooleanField(label="Loans I lent to are fully funded", required=False)
    late = forms.BooleanField(label="Loans I lent to are running late", required=False)
