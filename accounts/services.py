"""Creating people and organisations; every function validates its input and writes nothing on error."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import BorrowerProfile, FieldPartner, LenderProfile, PartnerStaff, Role, User


def _country(code: str) -> str:
    """A two-letter ISO 3166-1 code, upper-cased, or a ValidationError naming `country`."""
    code = (code or "").strip()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValidationError({"country": "Use a two-letter ISO 3166 country code, such as KE."})
    return code.upper()


def _new_user(*, email: str, password: str | None, full_name: str, role: Role) -> User:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists."})
    if password is not None:
        # A throwaway user carrying every attribute the similarity validator compares against.
        first, _, last = full_name.strip().partition(" ")
        probe = User(email=email, full_name=full_name)
        probe.first_name, probe.last_name = first, last  # type: ignore[attr-defined]
        try:
            validate_password(password, probe)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
    return User.objects.create_user(email=email, password=password, full_name=full_name.strip(), role=role)


@transaction.atomic
def lender_register(*, email: str, password: str | None, full_name: str, country: str = "", town: str = "") -> User:
    """A lender with a public profile; their wallet is opened by the ledger on first deposit.

    `password=None` makes a lender who cannot log in (imported or simulated lenders).
    """
    country = _country(country) if country else ""
    user = _new_user(email=email, password=password, full_name=full_name, role=Role.LENDER)
    LenderProfile.objects.create(
        user=user, display_name=full_name.strip() or email.split("@")[0], country=country, town=town.strip()
    )
    return user


@transaction.atomic
def field_partner_create(*, name: str, country: str, risk_rating: str | None = None) -> FieldPartner:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A field partner needs a name."})
    country = _country(country)
    rating = None
    if risk_rating not in (None, ""):
        try:
            rating = Decimal(str(risk_rating))
        except InvalidOperation:
            rating = Decimal("NaN")
        if not rating.is_finite() or not 0 <= rating <= 5 or rating != rating.quantize(Decimal("0.1")):
            raise ValidationError({"risk_rating": "A risk rating is a number from 0 to 5 in steps of 0.1."})
    if FieldPartner.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A field partner with this name already exists."})
    return FieldPartner.objects.create(name=name, country=country, risk_rating=rating)


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
    country = _country(country)
    user = None
    if email:
        user = _new_user(email=email, password=password, full_name=display_name, role=Role.BORROWER)
    return BorrowerProfile.objects.create(
        user=user, display_name=display_name.strip(), country=country, town=town.strip(), partner=partner
    )


def platform_staff_create(*, email: str, password: str | None, full_name: str) -> User:
    """Platform staff: review loans, disburse, see the admin."""
    user = _new_user(email=email, password=password, full_name=full_name, role=Role.PLATFORM_STAFF)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user
