"""Changing what people say about themselves: their name, and a lender's public profile.

Every function validates its input and writes nothing on error (a ValidationError naming the field).
The email is not changed here: it is the log-in, and changing it safely needs a confirmation by email.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.countries import COUNTRIES
from accounts.models import LenderProfile, User


def _name(full_name: str) -> str:
    name = (full_name or "").strip()
    if not name:
        raise ValidationError({"full_name": "Enter your name."})
    if len(name) > 150:
        raise ValidationError({"full_name": "Use at most 150 characters."})
    return name


def user_name_update(*, user: User, full_name: str) -> User:
    """Anyone's own name, as staff and field partners see it."""
    user.full_name = _name(full_name)
    user.save(update_fields=["full_name"])
    return user


def lender_profile_of(user: User) -> LenderProfile:
    """The lender's profile, or an unsaved one with the defaults when they never had one."""
    profile = LenderProfile.objects.filter(user=user).first()
    return profile or LenderProfile(user=user, display_name=user.full_name or user.email.split("@")[0])


@transaction.atomic
def lender_profile_update(
    *, user: User, full_name: str, display_name: str, is_public: bool, country: str, town: str = ""
) -> LenderProfile:
    """A lender's name, the name other lenders see (when public) and where they lend from."""
    name = _name(full_name)
    shown = (display_name or "").strip()
    if not shown:
        raise ValidationError({"display_name": "Enter the name other lenders see, or your first name."})
    if len(shown) > 100:
        raise ValidationError({"display_name": "Use at most 100 characters."})
    code = (country or "").strip().upper()
    if code and code not in COUNTRIES:
        raise ValidationError({"country": "Choose a country from the list."})
    if len(town.strip()) > 100:
        raise ValidationError({"town": "Use at most 100 characters."})
    user_name_update(user=user, full_name=name)
    profile, _ = LenderProfile.objects.update_or_create(
        user=user, defaults={"display_name": shown, "is_public": is_public, "country": code, "town": town.strip()}
    )
    return profile
