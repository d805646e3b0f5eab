"""The one place a Stripe client is built: test mode only, pointed at Stripe or at the local test server.

`STRIPE_API_BASE` empty means Stripe itself (its test mode, with an `sk_test_` key); set, it is the
local Stripe test server (`manage.py localstripe`), which speaks the same API. The same calls
serve both. The SDK retries timeouts, connection errors and 5xx with exponential backoff, and
every call that creates something carries an idempotency key, so a retry after a lost response
returns the first result instead of acting twice.
"""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

LIVE_PREFIXES = ("sk_live_", "rk_live_", "pk_live_")


def check_keys(secret_key: str, publishable_key: str = "") -> None:
    """Refuse live keys: this product moves test money only."""
    for name, key in (("STRIPE_SECRET_KEY", secret_key), ("STRIPE_PUBLISHABLE_KEY", publishable_key)):
        if key.startswith(LIVE_PREFIXES):
            raise ImproperlyConfigured(
                f"{name} is a live Stripe key ({key[:8]}...). This product runs in Stripe test mode only: "
                "use an sk_test_/pk_test_ key, or unset it to use the local Stripe test server."
            )
    if secret_key and not secret_key.startswith(("sk_test_", "rk_test_")):
        raise ImproperlyConfigured(
            f"STRIPE_SECRET_KEY must be a Stripe test key (sk_test_... or rk_test_...), got {secret_key[:8]}..."
        )


def is_local() -> bool:
    """True when payments go to the local Stripe test server, which takes card numbers from our own form."""
    return bool(settings.STRIPE_API_BASE)


def stripe_client(http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A client for the configured Stripe (tests pass a fake `http_client` to play the network's part)."""
    check_keys(settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY)
    if not settings.STRIPE_SECRET_KEY:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set: card payments are off")
    options: dict[str, Any] = {"max_network_retries": settings.STRIPE_MAX_NETWORK_RETRIES}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    options["http_client"] = http_client or stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)


_http_client: stripe.HTTPClient | None = None
_clients: dict[tuple[Any, ...], stripe.StripeClient] = {}


def client() -> stripe.StripeClient:
    """The process's client, built once per configuration so connections are reused.

    Tests swap the transport with `use_http_client`, or the settings with `override_settings`.
    """
    config = (
        settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY, settings.STRIPE_API_BASE,
        settings.STRIPE_MAX_NETWORK_RETRIES, settings.STRIPE_TIMEOUT_SECONDS, id(_http_client),
    )  # fmt: skip
    if config not in _clients:
        _clients[config] = stripe_client(_http_client)
    return _clients[config]


def use_http_client(http_client: stripe.HTTPClient | None) -> None:
    global _http_client
    _http_client = http_client
    _clients.clear()
