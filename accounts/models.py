"""Users log in by email and have one role; profiles and field partners hang off them.

The user model is custom from the first migration (Django cannot swap it later). A user knows
no loan: lending code points at users, never the other way round.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    LENDER = "lender", "Lender"
    BORROWER = "borrower", "Borrower"
    PARTNER_STAFF = "partner_staff", "Field-partner staff"
    PLATFORM_STAFF = "platform_staff", "Platform staff"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True, role=Role.PLATFORM_STAFF)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.LENDER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email])[0]

    @property
    def is_lender(self) -> bool:
        return self.role == Role.LENDER

    @property
    def is_borrower(self) -> bool:
        return self.role == Role.BORROWER

    @property
    def is_partner_staff(self) -> bool:
        return self.role == Role.PARTNER_STAFF

    @property
    def is_platform_staff(self) -> bool:
        return self.role == Role.PLATFORM_STAFF


class LenderProfile(models.Model):
    """What a lender shows others (Kiva's lender page) and where they lend from."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="lender_profile")
    display_name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    town = models.CharField(max_length=100, blank=True)
    is_public = models.BooleanField(default=True, help_text="Shown by name on the loans they fund; else 'Anonymous'.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display_name


class FieldPartner(models.Model):
    """A local organisation (microfinance institution, NGO) that finds borrowers and services their loans."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=150, unique=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    risk_rating = models.DecimalField(max_digits=2, decimal_places=1, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(risk_rating__isnull=True) | models.Q(risk_rating__gte=0, risk_rating__lte=5),
                name="accounts_partner_risk_rating_0_5",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PartnerStaff(models.Model):
    """A user who works for a field partner: posts loans and repayments on borrowers' behalf."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="partner_staff")
    partner = models.ForeignKey(FieldPartner, on_delete=models.PROTECT, related_name="staff")
    title = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.user} at {self.partner}"


class BorrowerProfile(models.Model):
    """A borrower: with a login when they apply directly, without one when a field partner acts for them."""

    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.PROTECT, related_name="borrower_profile")
    display_name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code")
    town = models.CharField(max_length=100, blank=True)
    partner = models.ForeignKey(FieldPartner, null=True, blank=True, on_delete=models.PROTECT, related_name="borrowers")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display_name


class LoginFailure(models.Model):
    """One failed log-in, counted against the email tried and the client's address (accounts.lockout).

    Rows live only as long as the counting window: a lock, a success or time clears them.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        ADDRESS = "address", "Client address"

    kind = models.CharField(max_length=7, choices=Kind.choices)
    key = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "created_at"])]

    def __str__(self) -> str:
        return f"failed log-in for {self.kind} {self.key} at {self.created_at:%Y-%m-%d %H:%M}"


class LoginLock(models.Model):
    """An email or a client address refused log-in until `locked_until`, even with the right password."""

    kind = models.CharField(max_length=7, choices=LoginFailure.Kind.choices)
    key = models.CharField(max_length=254)
    locked_until = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="accounts_login_lock_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} locked until {self.locked_until:%Y-%m-%d %H:%M}"
