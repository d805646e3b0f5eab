"""Log-in lockout: too many failed passwords for one email, or from one client address, lock it for a while.

Counted in the database (not the cache, which is per process by default), over a sliding window:
LOGIN_LOCKOUT_ATTEMPTS failures for an email (LOGIN_LOCKOUT_ADDRESS_ATTEMPTS for an address) within
LOGIN_LOCKOUT_MINUTES lock it for LOGIN_LOCKOUT_MINUTES from the failure that reached the limit. While
locked, no password is checked at all, so even the right one is refused. Attempts made while locked are
not counted, so the lock ends on time. A success clears the email's count (not the address's: one's own
account must not reset a guesser's count); a password reset clears the email's lock. Every function
takes `now` so that tests (and a reader) can follow the clock.

Two requests in flight at the same instant may each be checked before the other is counted, so a
burst can overshoot the limit by the number of parallel requests, never by more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import LoginFailure, LoginLock

Kind = LoginFailure.Kind


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is trying: the email typed (normalised) and the client's address ('' when unknown)."""

    email: str
    address: str = ""

    def counted(self) -> list[tuple[str, str, int]]:
        """(kind, key, limit) for each thing counted."""
        keys = [(Kind.EMAIL.value, self.email, settings.LOGIN_LOCKOUT_ATTEMPTS)]
        if self.address:
            keys.append((Kind.ADDRESS.value, self.address, settings.LOGIN_LOCKOUT_ADDRESS_ATTEMPTS))
        return keys


def attempt_of(email: str, request: HttpRequest | None) -> Attempt:
    return Attempt(email=(email or "").strip().lower()[:254], address=client_address(request))


def client_address(request: HttpRequest | None) -> str:
    """The caller's address: the connection's, or the one the trusted proxies (NUM_PROXIES) saw.

    Never simply X-Forwarded-For, which anyone can invent to escape the address count.
    """
    if request is None:
        return ""
    proxies = int(settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(proxies, len(hops))][:254]
    return str(request.META.get("REMOTE_ADDR") or "")[:254]


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _matching(attempt: Attempt) -> Q:
    match = Q()
    for kind, key, _limit in attempt.counted():
        match |= Q(kind=kind, key=key)
    return match


def login_locked_until(*, attempt: Attempt, now: datetime | None = None) -> datetime | None:
    """When the lock on this email or address ends, or None when it may try now. One query."""
    now = now or timezone.now()
    row = LoginLock.objects.filter(_matching(attempt), locked_until__gt=now).aggregate(until=Max("locked_until"))
    return row["until"]


@transaction.atomic
def login_failure_record(*, attempt: Attempt, now: datetime | None = None) -> datetime | None:
    """Count a failed password; returns when the lock ends if this failure (or an earlier one) locked it."""
    now = now or timezone.now()
    since = now - _window()
    LoginFailure.objects.filter(created_at__lte=since).delete()  # the table holds one window, whoever it is
    LoginLock.objects.filter(locked_until__lte=now).delete()
    if (until := login_locked_until(attempt=attempt, now=now)) is not None:
        return until  # not counted: the lock must end when it said it would
    LoginFailure.objects.bulk_create([LoginFailure(kind=k, key=key, created_at=now) for k, key, _ in attempt.counted()])
    for kind, key, limit in attempt.counted():
        failures = LoginFailure.objects.filter(kind=kind, key=key, created_at__gt=since, created_at__lte=now)
        if failures.count() >= limit:
            LoginLock.objects.update_or_create(kind=kind, key=key, defaults={"locked_until": now + _window()})
            failures.delete()  # a fresh count after the lock
    return login_locked_until(attempt=attempt, now=now)


def login_success_record(*, attempt: Attempt) -> None:
    """The right password, outside any lock: the email starts afresh."""
    LoginFailure.objects.filter(kind=Kind.EMAIL, key=attempt.email).delete()


@transaction.atomic
def login_lock_clear(*, email: str) -> None:
    """Whoever proved they own the mailbox (a password reset) may log in at once."""
    key = (email or "").strip().lower()
    LoginLock.objects.filter(kind=Kind.EMAIL, key=key).delete()
    LoginFailure.objects.filter(kind=Kind.EMAIL, key=key).delete()
