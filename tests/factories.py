"""factory_boy factories: people with fixed, readable data."""

from __future__ import annotations

import factory

from accounts.models import FieldPartner, LenderProfile, Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    role = Role.LENDER
    password = factory.django.Password("correct-horse-battery")


class LenderFactory(UserFactory):
    role = Role.LENDER
    profile = factory.RelatedFactory(
        "tests.factories.LenderProfileFactory",
        factory_related_name="user",
        display_name=factory.SelfAttribute("..full_name"),
    )


class LenderProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LenderProfile

    display_name = "A lender"
    country = "US"


class FieldPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldPartner

    name = factory.Sequence(lambda n: f"Partner {n}")
    country = "KE"
