"""Real Celery worker processes for tests: on the configured broker, against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue: str, **env: str) -> subprocess.Popen[bytes]:
    """A solo-pool worker consuming only `queue` (so no other worker can take the test's tasks)."""
    log = tempfile.NamedTemporaryFile(prefix=f"worker-{queue}-", suffix=".log", delete=False)  # noqa: SIM115
    return subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": database_url_of_the_test_database(),
             "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
