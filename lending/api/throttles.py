"""Rate limits: per user, or per API key (two keys of one partner are limited apart), and per address
for anonymous callers. Over the limit: 429 with Retry-After."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from lending.api.models import ApiKey


class _SettingsRate(SimpleRateThrottle):
    """Reads its rate per request (DRF binds rates at import, so changed settings would never apply)."""

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES  # the stubs call them numbers; they are "60/minute"
        self.THROTTLE_RATES = rates
        return super().get_rate()


class PerCaller(_SettingsRate):
    scope = "caller"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": f"key:{request.auth.pk}"}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": f"user:{request.user.pk}"}
        return None


class Anonymous(_SettingsRate):
    scope = "anonymous"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
