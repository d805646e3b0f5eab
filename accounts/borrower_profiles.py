"""A borrower changing their own profile: checked by the same rules as `borrower_create`; nothing written on error."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import BorrowerProfile, User
from accounts.services import _country


@transaction.atomic
def borrower_profile_update(
    *, profile: BorrowerProfile, actor: User, display_name: str, country: str, town: str = ""
) -> BorrowerProfile:
    """A borrower's name, country and town, as lenders will read them; the login's name follows the profile."""
    if profile.user_id is None or (profile.user_id != actor.pk and not actor.is_platform_staff):
        raise PermissionDenied("only the borrower or platform staff may change this profile")
    name, town = display_name.strip(), town.strip()
    if not name:
        raise ValidationError({"display_name": "A borrower needs a name."})
    if len(name) > 100:
        raise ValidationError({"display_name": "Use at most 100 characters."})
    if len(town) > 100:
        raise ValidationError({"town": "Use at most 100 characters."})
    profile.display_name, profile.country, profile.town = name, _country(country), town
    profile.save(update_fields=["display_name", "country", "town"])
    User.objects.filter(pk=profile.user_id).update(full_name=name)
    return profile
