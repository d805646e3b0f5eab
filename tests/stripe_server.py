"""A real local Stripe test server (localstripe) for tests: started on a free loopback port, stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

WEBHOOK_SECRET = "whsec_tests_only_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStripe:
    """`manage.py localstripe` in a child process, sending signed webhooks to `webhook_url`."""

    def __init__(self, webhook_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="localstripe-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [sys.executable, "manage.py", "localstripe", "--port", str(self.port), "--webhook-url", webhook_url],
            cwd=Path(settings.BASE_DIR),
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "STRIPE_API_BASE": self.base,
                 "STRIPE_SECRET_KEY": "sk_test_local", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"localstripe exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                requests.get(f"{self.base}/v1/events", auth=("sk_test_local", ""), timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("localstripe did not start within 30 s")

    def flush(self) -> None:
        """Forget every Stripe object (the webhook registration stays)."""
        requests.delete(f"{self.base}/_config/data", timeout=5).raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until `check()` is truthy: webhooks arrive about a second after the action."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)
