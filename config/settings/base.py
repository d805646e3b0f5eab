"""Settings shared by every environment; every value comes from the environment with a safe local default.

The defaults need no server at all: SQLite under var/ and kombu's filesystem transport as the Celery
broker. Point DATABASE_URL at PostgreSQL and CELERY_BROKER_URL at Redis (or RabbitMQ) for production.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

# Local state (SQLite file, filesystem broker, beat schedule); ignored by git.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Only ever used for local development; production.py refuses to start with it.
DEFAULT_SECRET_KEY = "insecure-local-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API docs' assets, served locally: the docs work with no internet
    "accounts",
    "lending",
    "lending.ledger",
    "lending.loans",
    "lending.jobs",
    "lending.metrics",
    "lending.autolending",
    "lending.notifications",
    "lending.payments",
    "lending.api",
    "lending.webhooks",
    "lending.imports",
    "seeds",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lending.web.locale.FormatLocaleMiddleware",  # money and dates as the reader's browser asks
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that a Celery worker started by a test sees the test's rows; one per
    # test process, so two test runs on one machine never share (and corrupt) a database file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",  # writers queue instead of failing with "database is locked"
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Every password check (the site's log-in, the admin's, client.login) goes through the lockout (accounts.lockout):
# LOGIN_LOCKOUT_ATTEMPTS failures for one email, or LOGIN_LOCKOUT_ADDRESS_ATTEMPTS from one client address
# (higher: an office or a mobile network shares one), within LOGIN_LOCKOUT_MINUTES lock it for as long.
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutModelBackend"]
LOGIN_LOCKOUT_ATTEMPTS = env.int("LOGIN_LOCKOUT_ATTEMPTS", default=5)
LOGIN_LOCKOUT_ADDRESS_ATTEMPTS = env.int("LOGIN_LOCKOUT_ADDRESS_ATTEMPTS", default=20)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)  # a reset link works for a day

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name", "first_name", "last_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# The rate limits count in this cache: only a shared one (CACHE_URL=redis://...) makes a limit hold across web
# processes; the default counts in each process apart, so N gunicorn workers would allow N times the rate.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
THROTTLE_RATES: dict[str, str] = {
    "caller": env.str("THROTTLE_CALLER", default="600/minute"),  # per user, or per API key
    "anonymous": env.str("THROTTLE_ANONYMOUS", default="120/minute"),  # per client address
    # The public schedule calculator: generous for a person, a wall for a scraper.
    "schedule_preview": env.str("THROTTLE_SCHEDULE_PREVIEW", default="60/minute"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # programs: `Authorization: Bearer lk_...`. First, so that a request with no credentials is a 401
        # with `WWW-Authenticate: Bearer` (DRF takes the header from the first class; the session has none).
        "lending.api.keys.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the site's own pages (CSRF enforced)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "lending.api.pagination.Cursor",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lending.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["lending.api.throttles.PerCaller", "lending.api.throttles.Anonymous"],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    # Proxies in front of the app: 0 = use the connection's address, never a client's X-Forwarded-For
    # (which anyone can invent to escape the anonymous limit); 1 behind one load balancer, and so on.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# How long an Idempotency-Key's first answer is kept and replayed.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)

SPECTACULAR_SETTINGS = {
    "TITLE": "Lend a hand API",
    "DESCRIPTION": (
        "Peer-to-peer microlending: loans, lending, wallets, repayments. Money is an integer `amount_cents` "
        "with its ISO 4217 `currency`; dates are ISO 8601. Unsafe requests take an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # every operation's error answers (400/401/403/404/429, 409 on unsafe ones) in the one error shape
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lending.api.schema.document_error_responses",
        "lending.api.examples.add_request_examples",  # a worked example on every request body
        "lending.api.schema.add_links",  # ids from one answer to the next operation (stateful clients, tests)
    ],
    "ENUM_NAME_OVERRIDES": {
        "LoanStatus": "lending.loans.models.Loan.Status",
        "CardPaymentStatus": "lending.payments.models.CardPayment.Status",
        "WithdrawalStatus": "lending.payments.models.Withdrawal.Status",
        "WebhookDeliveryStatus": "lending.webhooks.models.WebhookDelivery.Status",
        "WebhookEventType": "lending.webhooks.models.EventType",
    },
}

# --- Celery -------------------------------------------------------------------------------------
# Default: kombu's filesystem transport under var/, so `make run` needs no broker server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),  # producers and consumers share one folder
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),  # broadcast exchanges; default is ./control
    }
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than the longest task (time limit 30 min), or Redis redelivers a task still running;
    # a task whose worker died unacknowledged is redelivered after it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60)}
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else f"file://{VAR_DIR / 'results'}",
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Ledger and loans -----------------------------------------------------------------------------
PLATFORM_CURRENCY = env.str("PLATFORM_CURRENCY", default="USD")
LENDING_CURRENCIES = env.list("LENDING_CURRENCIES", default=[PLATFORM_CURRENCY])
LOAN_SHARE_CENTS = env.int("LOAN_SHARE_CENTS", default=2500)  # Kiva's $25
LOAN_MAX_CENTS = env.int("LOAN_MAX_CENTS", default=1_000_000)  # $10,000
LOAN_FUNDRAISING_DAYS = env.int("LOAN_FUNDRAISING_DAYS", default=30)
# A borrower this many minor units short is not in arrears (Kiva's "penny problem").
ARREARS_TOLERANCE_CENTS = env.int("ARREARS_TOLERANCE_CENTS", default=100)
# Kiva's default rule: still owing this many months after the end of the term.
LOAN_DEFAULT_AFTER_MONTHS = env.int("LOAN_DEFAULT_AFTER_MONTHS", default=6)
# A close of business that has not finished after this long is presumed dead and may be taken over.
CLOSE_CLAIM_SECONDS = env.int("CLOSE_CLAIM_SECONDS", default=2 * 60 * 60)
# The close split among Celery workers through Redis (lending/jobs/partitioned.py); 1: one process, as before.
CLOSE_PARTITIONS = env.int("CLOSE_PARTITIONS", default=1)
CLOSE_QUEUES = env.list("CLOSE_QUEUES", default=["close"])  # its id ranges go to these queues in turn
# A range no worker started after this long, or started this long ago and not done, is run by the close itself.
CLOSE_RANGE_GRACE_SECONDS = env.int("CLOSE_RANGE_GRACE_SECONDS", default=60)
CLOSE_RANGE_STALE_SECONDS = env.int("CLOSE_RANGE_STALE_SECONDS", default=600)

# --- Stripe, in test mode only (lending.payments refuses a live key at start) ----------------------
# With no secret key, card payments point at the local Stripe test server that `make run` starts
# (`manage.py localstripe`); set STRIPE_SECRET_KEY=sk_test_... and leave STRIPE_API_BASE empty to
# talk to Stripe's own test mode instead.
LOCALSTRIPE_PORT = env.int("LOCALSTRIPE_PORT", default=8420)
_LOCAL_STRIPE = not env.str("STRIPE_SECRET_KEY", default="")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_local")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_local")
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET", default="whsec_local_development_only" if _LOCAL_STRIPE else ""
)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default=f"http://127.0.0.1:{LOCALSTRIPE_PORT}" if _LOCAL_STRIPE else "")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=3)  # with backoff, same idempotency key
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=20)
DEPOSIT_MIN_CENTS = env.int("DEPOSIT_MIN_CENTS", default=2_500)  # $25
DEPOSIT_MAX_CENTS = env.int("DEPOSIT_MAX_CENTS", default=1_000_000)  # $10,000

# --- Outbound webhooks to field partners (lending.webhooks) ----------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=5)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# Wait after the 1st, 2nd, ... failed attempt; the last value repeats: 1 min, 5 min, 30 min, 2 h, 12 h.
WEBHOOK_RETRY_SCHEDULE_SECONDS = env.list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS", cast=int, default=[60, 300, 1800, 7200, 43200]
)
# The collector's mark passes a row only this long after it was written (a slow transaction commits late).
WEBHOOK_COLLECT_SETTLE_SECONDS = env.int("WEBHOOK_COLLECT_SETTLE_SECONDS", default=600)
# The sweep re-queues a pending delivery this long past due (its queued task was lost).
WEBHOOK_SWEEP_GRACE_SECONDS = env.int("WEBHOOK_SWEEP_GRACE_SECONDS", default=120)
WEBHOOK_MAX_ENDPOINTS_PER_PARTNER = env.int("WEBHOOK_MAX_ENDPOINTS_PER_PARTNER", default=10)
# http:// and private addresses (127.0.0.1) as webhook URLs: for development and tests only (DEBUG allows them too).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)

# --- Email (lender digests) ----------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Lend a hand <no-reply@lend.example>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The Stripe SDK logs every request at INFO; its errors reach us as exceptions anyway.
    "loggers": {"stripe": {"level": env.str("STRIPE_LOG_LEVEL", default="WARNING")}},
}
