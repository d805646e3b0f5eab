"""API keys: create (the key is shown once), revoke, authenticate, and require a scope.

A key acts as its user (so every object-level rule that applies to the user applies to the key),
narrowed to its scopes. The secret is 32 random bytes; only its SHA-256 is stored, compared in
constant time. A revoked key fails like an unknown one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, status
from rest_framework.request import Request

from accounts.models import User
from lending.api.models import ApiKey, Scope

PREFIX = "lk_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, user: User, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
    """A new key for `user`; returns the row and the full key, which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the key a name of 1 to 100 characters."})
    unknown = sorted(set(scopes) - set(Scope.values))
    if not scopes or unknown:
        raise ValidationError({"scopes": f"Choose one or more of {', '.join(Scope.values)}; unknown: {unknown}."})
    if not user.is_active:
        raise ValidationError({"user": "An inactive user cannot have API keys."})
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name, prefix=prefix, secret_sha256=_digest(secret),
                                scopes=sorted(set(scopes)))  # fmt: skip
    return key, f"{PREFIX}{prefix}_{secret}"


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


class ApiKeyRefused(exceptions.APIException):
    """A bad, unknown or revoked key, or an inactive user's: 401 with `WWW-Authenticate: Bearer`.

    Not an AuthenticationFailed: DRF takes that one's header from the first authentication class
    (SessionAuthentication, which has none) and turns the 401 into a 403.
    """

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Invalid or revoked API key."
    default_code = "authentication_failed"
    auth_header = "Bearer"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer lk_<prefix>_<secret>`."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith(f"{self.keyword} {PREFIX}"):
            return None  # not ours: session auth, or anonymous
        token = header[len(self.keyword) + 1 :].strip()
        prefix, _, secret = token[len(PREFIX) :].partition("_")
        key = ApiKey.objects.select_related("user").filter(prefix=prefix).first() if prefix and secret else None
        if key is None or not key.active or not hmac.compare_digest(key.secret_sha256, _digest(secret)):
            raise ApiKeyRefused("Invalid or revoked API key.")
        if not key.user.is_active:
            raise ApiKeyRefused("The key's user is inactive.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:  # one write a minute at most
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword  # makes a missing or bad key a 401, with WWW-Authenticate


def require_scope(scope: str) -> type[permissions.BasePermission]:
    """A permission: session users pass (their role rules apply); a key must carry `scope`."""

    class HasScope(permissions.BasePermission):
        message = f"This API key lacks the {scope} scope."
        required_scope = scope

        def has_permission(self, request: Request, view: Any) -> bool:
            key = request.auth
            return not isinstance(key, ApiKey) or scope in key.scopes

    HasScope.__name__ = f"HasScope_{scope.replace(':', '_')}"
    return HasScope
