"""`manage.py localstripe`: the local Stripe test server (localstripe), on loopback, with our webhook registered.

No machine here reaches Stripe, so development and tests use localstripe, a stateful fake of
Stripe's API. This starts it bound to 127.0.0.1 only (its own launcher listens on every
interface), keeps its state in memory only (its own launcher shares one pickle file in /tmp
between every instance, which also slows it down as it grows), and registers the app's webhook
endpoint with the configured signing secret. A development tool: production talks to Stripe.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_WEBHOOK = "http://127.0.0.1:8000/webhooks/stripe/"


class Command(BaseCommand):
    help = "Run the local Stripe test server on 127.0.0.1 and send its webhooks to this app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.LOCALSTRIPE_PORT)
        parser.add_argument("--webhook-url", default=DEFAULT_WEBHOOK, help="where to send signed events")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["webhook_url"]
        if not url.startswith(("http://", "https://")) or " " in url:
            raise CommandError(f"--webhook-url must be an http(s) address, such as {DEFAULT_WEBHOOK}; got {url!r}")
        if not 1 <= options["port"] <= 65535:
            raise CommandError(f"--port must be 1 to 65535, got {options['port']}")
        try:
            from aiohttp import web
            from localstripe import resources, server, webhooks
        except ImportError as exc:
            raise CommandError(f"localstripe is not installed ({exc}); it comes with requirements-dev.txt") from exc
        if not settings.STRIPE_API_BASE:
            self.stdout.write("STRIPE_API_BASE is empty: payments go to Stripe's own test mode; no local server.")
            self.stdout.flush()
            signal.pause()  # stay up: `make run` stops every process when one exits
            return
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError("STRIPE_WEBHOOK_SECRET is empty: set one so the local server can sign its webhooks")
        resources.Store.dump_to_disk = lambda self: None  # memory only, one store per process
        webhooks.register_webhook("lending", options["webhook_url"], settings.STRIPE_WEBHOOK_SECRET, None)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        self.stdout.write(f"local Stripe test server on http://127.0.0.1:{options['port']}; "
                          f"webhooks to {options['webhook_url']}")  # fmt: skip
        self.stdout.flush()
        web.run_app(server.app, host="127.0.0.1", port=options["port"], print=None)
