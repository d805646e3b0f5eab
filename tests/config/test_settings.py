"""Settings: production refuses to start unsafe and passes `check --deploy`; the defaults need no server.

Each test runs `manage.py` in a fresh interpreter, because settings are read once per process.
VAR_DIR points at a temporary folder so the real var/ is never touched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROJECT_ROOT = Path(settings.BASE_DIR)
# Fixed, but as long and varied as a real key: 64 characters, none of them from the dev default.
PRODUCTION_KEY = "q7Vx2mK9pL4rT8wZ1nB6cF3hJ5dS0gY-aE_uR2iO7kW9xM4vN8bQ3tP6zL1jH5sD"
DEV_DEFAULT_KEY = "insecure-local-development-key-never-use-in-production"


def _env(tmp_path: Path, settings_module: str, **overrides: str) -> dict[str, str]:
    """This process's environment (DATABASE_URL included) minus the variables the tests control."""
    env = os.environ.copy()
    controlled = ["SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"]
    controlled += ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"]
    for name in controlled:
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env["VAR_DIR"] = str(tmp_path / "var")
    env.update(overrides)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return _env(tmp_path, "config.settings.production", **overrides)


# --- production refuses to start unsafe ---------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage(_production(tmp_path, ALLOWED_HOSTS="example.org"), "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set to a long random value in production" in result.stderr


def test_production_refuses_to_start_with_an_empty_secret_key(tmp_path):
    result = _manage(_production(tmp_path, SECRET_KEY="", ALLOWED_HOSTS="example.org"), "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set to a long random value in production" in result.stderr


def test_production_refuses_to_start_with_the_development_key(tmp_path):
    result = _manage(_production(tmp_path, SECRET_KEY=DEV_DEFAULT_KEY, ALLOWED_HOSTS="example.org"), "check")

    assert result.returncode != 0
    assert "the development default is refused" in result.stderr
    assert "SECRET_KEY must be set to a long random value in production" in result.stderr


def test_production_refuses_to_start_with_a_short_secret_key(tmp_path):
    result = _manage(_production(tmp_path, SECRET_KEY=PRODUCTION_KEY[:49], ALLOWED_HOSTS="example.org"), "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 characters long in production." in result.stderr


def test_production_refuses_to_start_with_debug_on(tmp_path):
    env = _production(tmp_path, SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS="example.org", DEBUG="true")

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    result = _manage(_production(tmp_path, SECRET_KEY=PRODUCTION_KEY), "check")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


STRIPE_TEST = {"STRIPE_SECRET_KEY": "sk_test_51abcdef", "STRIPE_WEBHOOK_SECRET": "whsec_abcdef"}


def test_production_refuses_to_start_without_stripe_keys(tmp_path):
    result = _manage(_production(tmp_path, SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS="example.org"), "check")

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY (sk_test_...) and STRIPE_WEBHOOK_SECRET (whsec_...) must be set" in result.stderr


def test_production_refuses_to_start_with_a_live_stripe_key(tmp_path):
    env = _production(
        tmp_path,
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="example.org",
        **{**STRIPE_TEST, "STRIPE_SECRET_KEY": "sk_live_51abc"},
    )

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY is a live Stripe key" in result.stderr
    assert "test mode only" in result.stderr


def test_production_with_a_long_random_key_passes_the_deploy_check(tmp_path):
    assert len(PRODUCTION_KEY) >= 60
    env = _production(tmp_path, SECRET_KEY=PRODUCTION_KEY, ALLOWED_HOSTS="example.org", **STRIPE_TEST)

    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# --- the defaults need no server ----------------------------------------------------------------

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print("SETTINGS=" + json.dumps({
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "test_name": db.get("TEST", {}).get("NAME"),
    "broker": settings.CELERY_BROKER_URL,
    "broker_options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "result_backend": settings.CELERY_RESULT_BACKEND,
    "beat_schedule": settings.CELERY_BEAT_SCHEDULE_FILENAME,
    "debug": settings.DEBUG,
}))
"""


def _default_settings(tmp_path: Path, settings_module: str) -> dict[str, object]:
    env = _env(tmp_path, settings_module)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)

    result = _manage(env, "shell", "-c", PRINT_SETTINGS)

    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("SETTINGS=")]
    return json.loads(line.removeprefix("SETTINGS="))


def test_dev_settings_default_to_sqlite_and_a_filesystem_broker_under_var_dir(tmp_path):
    var = tmp_path / "var"

    found = _default_settings(tmp_path, "config.settings.dev")

    test_name = found.pop("test_name")
    assert re.fullmatch(re.escape(str(var / "test-db-")) + r"\d+\.sqlite3", str(test_name))  # one per process
    assert found == {
        "engine": "django.db.backends.sqlite3",
        "name": str(var / "db.sqlite3"),
        "broker": "filesystem://",
        "broker_options": {
            "data_folder_in": str(var / "broker" / "queue"),
            "data_folder_out": str(var / "broker" / "queue"),
            "processed_folder": str(var / "broker" / "processed"),
            "store_processed": False,
            "control_folder": str(var / "broker" / "control"),
        },
        "result_backend": f"file://{var / 'results'}",
        "beat_schedule": str(var / "celerybeat-schedule"),
        "debug": True,
    }
    assert (var / "broker" / "queue").is_dir()
    assert (var / "broker" / "processed").is_dir()
    assert (var / "results").is_dir()


def test_test_settings_default_to_sqlite_and_a_filesystem_broker_under_var_dir(tmp_path):
    var = tmp_path / "var"

    found = _default_settings(tmp_path, "config.settings.test")

    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"] == str(var / "db.sqlite3")
    assert str(found["test_name"]).startswith(str(var / "test-db-"))
    assert found["broker"] == "filesystem://"
    assert found["broker_options"]["data_folder_in"] == str(var / "broker" / "queue")
