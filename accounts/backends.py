"""The authentication backend: Django's email-and-password check behind the log-in lockout.

A backend, not a form, so that every door that checks a password (the site's log-in page, the admin's,
a test client's login) is counted and locked alike.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import lockout
from accounts.models import User


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        """None for a wrong password (counted); PermissionDenied while locked: no password is checked then."""
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        attempt = lockout.attempt_of(username, request)
        if lockout.login_locked_until(attempt=attempt) is not None:
            raise PermissionDenied("log-in locked")  # authenticate() stops here and reports a failure
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            lockout.login_failure_record(attempt=attempt)
            return None
        lockout.login_success_record(attempt=attempt)
        return user
