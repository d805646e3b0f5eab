"""People: email logins are case-insensitive, and every service refuses bad input and writes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import BorrowerProfile, FieldPartner, LenderProfile, PartnerStaff, Role, User
from tests.factories import FieldPartnerFactory, LenderFactory, UserFactory

GOOD_PASSWORD = "correct-horse-battery"


def _rows() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "lender_profiles": LenderProfile.objects.count(),
        "borrower_profiles": BorrowerProfile.objects.count(),
        "partners": FieldPartner.objects.count(),
        "partner_staff": PartnerStaff.objects.count(),
    }


# --- email logins -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_with_upper_cased_email_authenticates():
    user = LenderFactory(email="ann@example.org")

    assert authenticate(username="ANN@EXAMPLE.ORG", password=GOOD_PASSWORD) == user
    assert authenticate(username="Ann@Example.org", password=GOOD_PASSWORD) == user
    assert authenticate(username="ANN@EXAMPLE.ORG", password="wrong-horse-battery") is None


@pytest.mark.django_db
def test_create_user_stores_the_email_lower_cased():
    user = User.objects.create_user(email="Ben.Smith@Example.ORG", password=GOOD_PASSWORD)

    user.refresh_from_db()
    assert user.email == "ben.smith@example.org"


@pytest.mark.django_db
def test_register_refuses_an_email_differing_only_by_case():
    services.lender_register(email="ann@example.org", password=GOOD_PASSWORD, full_name="Ann Lee")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="ANN@Example.org", password=GOOD_PASSWORD, full_name="Ann Other")

    assert exc_info.value.message_dict == {"email": ["A user with this email already exists."]}
    assert _rows() == before


@pytest.mark.django_db
def test_database_refuses_a_second_user_differing_only_by_case():
    User.objects.create_user(email="ann@example.org", password=GOOD_PASSWORD)

    # Bypass the manager's lower-casing: only the Lower(email) unique constraint stands in the way.
    with pytest.raises(IntegrityError), transaction.atomic():
        User(email="Ann@Example.org", full_name="Ann Twin").save()

    assert User.objects.filter(email__iexact="ann@example.org").count() == 1


# --- superusers and roles -----------------------------------------------------------------------


@pytest.mark.django_db
def test_create_superuser_makes_platform_staff():
    admin = User.objects.create_superuser(email="Root@Example.org", password=GOOD_PASSWORD, full_name="Dana Admin")

    admin.refresh_from_db()
    assert admin.email == "root@example.org"
    assert admin.role == Role.PLATFORM_STAFF
    assert admin.is_staff is True
    assert admin.is_superuser is True
    assert admin.is_platform_staff is True
    assert admin.is_lender is False
    assert admin.check_password(GOOD_PASSWORD) is True


@pytest.mark.django_db
def test_create_superuser_ignores_a_role_passed_in():
    admin = User.objects.create_superuser(email="root@example.org", password=GOOD_PASSWORD, role=Role.LENDER)

    assert admin.role == Role.PLATFORM_STAFF


@pytest.mark.django_db
def test_create_user_is_neither_staff_nor_superuser():
    user = User.objects.create_user(email="plain@example.org", password=GOOD_PASSWORD)

    assert user.role == Role.LENDER
    assert user.is_staff is False
    assert user.is_superuser is False


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.LENDER, (True, False, False, False)),
        (Role.BORROWER, (False, True, False, False)),
        (Role.PARTNER_STAFF, (False, False, True, False)),
        (Role.PLATFORM_STAFF, (False, False, False, True)),
    ],
)
def test_role_properties_answer_true_for_exactly_the_users_role(role, expected):
    user = User(email="someone@example.org", role=role)

    assert (user.is_lender, user.is_borrower, user.is_partner_staff, user.is_platform_staff) == expected


def test_user_names_fall_back_to_the_email():
    named = User(email="ann@example.org", full_name="Ann Marie Lee")
    unnamed = User(email="bob@example.org", full_name="")

    assert named.get_full_name() == "Ann Marie Lee"
    assert named.get_short_name() == "Ann"
    assert unnamed.get_full_name() == "bob@example.org"
    assert unnamed.get_short_name() == "bob@example.org"
    assert str(named) == "ann@example.org"


# --- lender_register ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_lender_register_creates_a_lender_with_a_profile():
    user = services.lender_register(
        email="  Amara@Example.org ", password=GOOD_PASSWORD, full_name=" Amara Okafor ", country="gb", town="Leeds"
    )

    user.refresh_from_db()
    assert user.email == "amara@example.org"
    assert user.full_name == "Amara Okafor"
    assert user.role == Role.LENDER
    assert user.is_staff is False
    assert user.check_password(GOOD_PASSWORD) is True
    profile = user.lender_profile
    assert (profile.display_name, profile.country, profile.town) == ("Amara Okafor", "GB", "Leeds")


@pytest.mark.django_db
def test_lender_register_without_a_name_shows_the_email_name():
    user = services.lender_register(email="quiet@example.org", password=GOOD_PASSWORD, full_name="")

    assert user.lender_profile.display_name == "quiet"


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["not-an-email", "ann@", "", "ann example@example.org"])
def test_lender_register_refuses_a_bad_email_and_writes_nothing(email):
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email=email, password=GOOD_PASSWORD, full_name="Ann Lee")

    assert exc_info.value.messages == ["Enter a valid email address."]
    assert _rows() == before


@pytest.mark.django_db
def test_lender_register_names_the_email_field_when_the_email_is_bad():
    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="not-an-email", password=GOOD_PASSWORD, full_name="Ann Lee")

    assert list(exc_info.value.message_dict) == ["email"]


@pytest.mark.django_db
def test_lender_register_refuses_a_duplicate_email_and_writes_nothing():
    LenderFactory(email="ann@example.org")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="ann@example.org", password=GOOD_PASSWORD, full_name="Ann Again")

    assert exc_info.value.message_dict == {"email": ["A user with this email already exists."]}
    assert _rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8204751936", "This password is entirely numeric."),
        ("amara@example.org", "The password is too similar to the email."),
    ],
)
def test_lender_register_refuses_a_weak_password_and_writes_nothing(password, message):
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="amara@example.org", password=password, full_name="Amara Okafor")

    assert message in exc_info.value.messages
    assert _rows() == before


@pytest.mark.django_db
def test_lender_register_names_the_password_field_when_the_password_is_weak():
    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="amara@example.org", password="short1", full_name="Amara Okafor")

    assert list(exc_info.value.message_dict) == ["password"]


@pytest.mark.django_db
def test_lender_register_refuses_a_password_similar_to_the_full_name():
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="amara@example.org", password="amara.okafor", full_name="Amara Okafor")

    assert "The password is too similar to the full name." in exc_info.value.messages
    assert _rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize("country", ["GBR", "1X"])
def test_lender_register_refuses_a_bad_country_code_and_writes_nothing(country):
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.lender_register(email="amara@example.org", password=GOOD_PASSWORD, full_name="Amara", country=country)

    assert list(exc_info.value.message_dict) == ["country"]
    assert _rows() == before


# --- field_partner_create -----------------------------------------------------------------------


@pytest.mark.django_db
def test_field_partner_create_stores_a_trimmed_name_and_upper_cased_country():
    partner = services.field_partner_create(name="  Lake Microfinance ", country="ug", risk_rating="3.5")

    partner.refresh_from_db()
    assert partner.name == "Lake Microfinance"
    assert partner.country == "UG"
    assert str(partner.risk_rating) == "3.5"
    assert partner.status == FieldPartner.Status.ACTIVE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"name": "   ", "country": "UG"}, {"name": ["A field partner needs a name."]}),
        ({"name": "Lake MF", "country": "UGA"}, {"country": ["Use a two-letter ISO 3166 country code, such as KE."]}),
        ({"name": "Lake MF", "country": "U1"}, {"country": ["Use a two-letter ISO 3166 country code, such as KE."]}),
        ({"name": "Lake MF", "country": ""}, {"country": ["Use a two-letter ISO 3166 country code, such as KE."]}),
    ],
)
def test_field_partner_create_refuses_bad_input_and_writes_nothing(kwargs, expected):
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.field_partner_create(**kwargs)

    assert exc_info.value.message_dict == expected
    assert _rows() == before


@pytest.mark.django_db
def test_field_partner_create_refuses_a_name_differing_only_by_case():
    services.field_partner_create(name="Lake MF", country="UG")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.field_partner_create(name="LAKE mf", country="KE")

    assert exc_info.value.message_dict == {"name": ["A field partner with this name already exists."]}
    assert _rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize("rating", ["7.5", "-1", "2.55", "abc", "NaN"])
def test_field_partner_create_refuses_a_risk_rating_outside_0_to_5_and_writes_nothing(rating):
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.field_partner_create(name="Lake MF", country="UG", risk_rating=rating)

    assert list(exc_info.value.message_dict) == ["risk_rating"]
    assert _rows() == before


@pytest.mark.django_db
def test_field_partner_create_keeps_a_valid_risk_rating():
    partner = services.field_partner_create(name="Lake MF", country="ug", risk_rating="3.5")
    partner.refresh_from_db()
    assert (str(partner.risk_rating), partner.country) == ("3.5", "UG")


# --- partner_staff_add --------------------------------------------------------------------------


@pytest.mark.django_db
def test_partner_staff_add_links_the_user_to_the_partner():
    partner = FieldPartnerFactory(name="Lake MF", country="UG")

    staff = services.partner_staff_add(
        partner=partner, email="Esther@Example.org", password=GOOD_PASSWORD, full_name="Esther Nakato", title="Officer"
    )

    staff.refresh_from_db()
    assert staff.partner == partner
    assert staff.title == "Officer"
    assert staff.user.email == "esther@example.org"
    assert staff.user.role == Role.PARTNER_STAFF
    assert staff.user.is_partner_staff is True
    assert staff.user.is_staff is False
    assert list(partner.staff.values_list("user__email", flat=True)) == ["esther@example.org"]


@pytest.mark.django_db
def test_partner_staff_add_refuses_a_duplicate_email_and_writes_nothing():
    partner = FieldPartnerFactory(name="Lake MF", country="UG")
    UserFactory(email="esther@example.org")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.partner_staff_add(
            partner=partner, email="ESTHER@example.org", password=GOOD_PASSWORD, full_name="Esther Nakato"
        )

    assert exc_info.value.message_dict == {"email": ["A user with this email already exists."]}
    assert _rows() == before


@pytest.mark.django_db
def test_partner_staff_add_refuses_a_weak_password_and_writes_nothing():
    partner = FieldPartnerFactory(name="Lake MF", country="UG")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.partner_staff_add(partner=partner, email="esther@example.org", password="123", full_name="Esther")

    assert "This password is entirely numeric." in exc_info.value.messages
    assert _rows() == before


# --- borrower_create ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_borrower_create_without_an_email_has_no_login():
    partner = FieldPartnerFactory(name="Lake MF", country="UG")
    users_before = User.objects.count()

    borrower = services.borrower_create(display_name=" Farida N ", country="ug", town="Jinja", partner=partner)

    borrower.refresh_from_db()
    assert borrower.user is None
    assert (borrower.display_name, borrower.country, borrower.town) == ("Farida N", "UG", "Jinja")
    assert borrower.partner == partner
    assert User.objects.count() == users_before


@pytest.mark.django_db
def test_borrower_create_with_an_email_gets_a_borrower_login():
    borrower = services.borrower_create(
        display_name="Farida Namusoke", country="UG", email="Farida@Example.org", password=GOOD_PASSWORD
    )

    borrower.refresh_from_db()
    user = borrower.user
    assert user is not None
    assert user.email == "farida@example.org"
    assert user.full_name == "Farida Namusoke"
    assert user.role == Role.BORROWER
    assert user.is_borrower is True
    assert borrower.partner is None
    assert authenticate(username="FARIDA@example.org", password=GOOD_PASSWORD) == user


@pytest.mark.django_db
def test_borrower_create_with_an_email_and_no_password_cannot_log_in_yet():
    borrower = services.borrower_create(display_name="Farida Namusoke", country="UG", email="farida@example.org")

    assert borrower.user is not None
    assert borrower.user.has_usable_password() is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"display_name": "  ", "country": "UG"}, {"display_name": ["A borrower needs a name."]}),
        (
            {"display_name": "", "country": "UG", "email": "farida@example.org", "password": GOOD_PASSWORD},
            {"display_name": ["A borrower needs a name."]},
        ),
        (
            {"display_name": "Farida", "country": "UGA"},
            {"country": ["Use a two-letter ISO 3166 country code, such as KE."]},
        ),
        (
            {"display_name": "Farida", "country": "9G", "email": "farida@example.org", "password": GOOD_PASSWORD},
            {"country": ["Use a two-letter ISO 3166 country code, such as KE."]},
        ),
    ],
)
def test_borrower_create_refuses_bad_input_and_writes_nothing(kwargs, expected):
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.borrower_create(**kwargs)

    assert exc_info.value.message_dict == expected
    assert _rows() == before


@pytest.mark.django_db
def test_borrower_create_refuses_a_duplicate_email_and_writes_nothing():
    LenderFactory(email="farida@example.org")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.borrower_create(
            display_name="Farida", country="UG", email="Farida@example.org", password=GOOD_PASSWORD
        )

    assert exc_info.value.message_dict == {"email": ["A user with this email already exists."]}
    assert _rows() == before


@pytest.mark.django_db
def test_borrower_create_refuses_a_bad_email_and_writes_nothing():
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.borrower_create(display_name="Farida", country="UG", email="farida@", password=GOOD_PASSWORD)

    assert exc_info.value.messages == ["Enter a valid email address."]
    assert _rows() == before


@pytest.mark.django_db
def test_borrower_create_refuses_a_weak_password_and_writes_nothing():
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.borrower_create(display_name="Farida", country="UG", email="farida@example.org", password="abc")

    assert "This password is too short. It must contain at least 8 characters." in exc_info.value.messages
    assert _rows() == before


# --- platform_staff_create ----------------------------------------------------------------------


@pytest.mark.django_db
def test_platform_staff_create_makes_admin_site_staff_without_superuser():
    user = services.platform_staff_create(email="Dana@Example.org", password=GOOD_PASSWORD, full_name="Dana Admin")

    user.refresh_from_db()
    assert user.email == "dana@example.org"
    assert user.role == Role.PLATFORM_STAFF
    assert user.is_platform_staff is True
    assert user.is_staff is True
    assert user.is_superuser is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("dana@", GOOD_PASSWORD, "Enter a valid email address."),
        ("taken@example.org", GOOD_PASSWORD, "A user with this email already exists."),
        ("dana@example.org", "qwerty", "This password is too short. It must contain at least 8 characters."),
    ],
)
def test_platform_staff_create_refuses_bad_input_and_writes_nothing(email, password, message):
    UserFactory(email="taken@example.org")
    before = _rows()

    with pytest.raises(ValidationError) as exc_info:
        services.platform_staff_create(email=email, password=password, full_name="Dana Admin")

    assert message in exc_info.value.messages
    assert _rows() == before
