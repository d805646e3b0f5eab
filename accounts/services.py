"""Creating people and organisations; every function validates its input and writes nothing on error."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import BorrowerProfile, FieldPartner, LenderProfile, PartnerStaff, Role, User


def _new_user(*, email: str, password: str | None, full_name: str, role: Role) -> User:
    email = (email or "").strip().lower()
    validate_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists."})
    if password is not None:
        validate_password(password, User(email=email, full_name=full_name))
    return User.objects.create_user(email=email, password=password, full_name=full_name.strip(), role=role)


@transaction.atomic
def lender_register(*, email: str, password: str, full_name: str, country: str = "", town: str = "") -> User:
    """A lender with a public profile; their wallet is opened by the ledger on first deposit."""
    user = _new_user(email=email, password=password, full_name=full_name, role=Role.LENDER)
    LenderProfile.objects.create(
        user=user, display_name=full_name.strip() or email.split("@")[0], country=country.upper(), town=town
    )
    return user


@transaction.atomic
def field_partner_create(*, name: str, country: str, risk_rating: str | None = None) -> FieldPartner:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A field partner needs a name."})
    if len(country) != 2 or not country.isalpha():
        raise ValidationError({"country": "Use a two-letter ISO 3166 country code."})
    if FieldPartner.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A field partner with this name already exists."})
    return FieldPartner.objects.create(name=name, country=country.upper(), risk_rating=risk_rating)


@transaction.atomic
def partner_staff_add(
    *, partner: FieldPartner, email: str, password: str, full_name: str, title: str = ""
) -> PartnerStaff:
    user = _new_user(email=email, password=password, full_name=full_name, role=Role.PARTNER_STAFF)
    return PartnerStaff.objects.create(user=user, partner=partner, title=title)


@transaction.atomic
def borrower_create(
    *,
    display_name: str,
    country: str,
    town: str = "",
    partner: FieldPartner | None = None,
    email: str | None = None,
    password: str | None = None,
) -> BorrowerProfile:
    """A borrower; with `email` they get a login to apply and follow their loan themselves."""
    if not display_name.strip():
        raise ValidationError({"display_name": "A borrower needs a name."})
    if len(country) != 2 or not country.isalpha():
        raise ValidationError({"country": "Use a two-letter ISO 3166 country code."})
    user = None
    if email:
        user = _new_user(email=email, password=password, full_name=display_name, role=Role.BORROWER)
    return BorrowerProfile.objects.create(
        user=user, display_name=display_name.strip(), country=country.upper(), town=town, partner=partner
    )


def platform_staff_create(*, email: str, password: str, full_name: str) -> User:
    """Platform staff: review loans, disburse, see the admin."""
    user = _new_user(email=email, password=password, full_name=full_name, role=Role.PLATFORM_STAFF)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user
