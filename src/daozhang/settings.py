"""Django settings for daozhang.

Every value an operator may change comes from an environment variable with an embedded
default, so that `make run` works on a fresh machine and production only sets variables
(the full list is in docs/operations.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("DAOZHANG_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("DAOZHANG_VAR_DIR", PROJECT_ROOT / "var"))


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


# Development or production (docs/operations.md#production). Production is the default, so
# a server nobody configured refuses to start on the embedded secrets (core/checks.py)
# instead of running on them silently; `make run`, `make test` and `make bench` set
# development. Any value other than these two is refused by a check (daozhang.E001).
DAOZHANG_MODE = os.environ.get("DAOZHANG_MODE", "production").strip().lower() or "production"
DEVELOPMENT = DAOZHANG_MODE == "development"

DEBUG = _env_bool("DAOZHANG_DEBUG", False)
# Secrets. The embedded values below are public (they are in this file): they let a
# development machine run with nothing set, and in production the system checks
# (core/checks.py, daozhang.E002…) refuse to start any process while one is missing, is an
# embedded default or is derived from another secret. Each is independent of the others.
DEV_SECRET_KEY = "dev-only-insecure-secret-change-me"
DEV_PAN_TOKEN_KEY = "dev-only-pan-token-key-change-me"
# A fixed, valid Fernet key for development only; never derived from SECRET_KEY, so
# setting SECRET_KEY later does not make data already encrypted unreadable.
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE="
# What earlier versions derived from the embedded SECRET_KEY: development still reads (never
# writes) a var/ database made by them; production refuses it like any embedded key.
LEGACY_DEV_FIELD_KEY = "Z4Jo2dp7Zw7-jEFZrxsapy3PY5dVSEXejA8N84p15NI="
SECRET_KEY = os.environ.get("DAOZHANG_SECRET_KEY", "").strip() or DEV_SECRET_KEY
# Keyed token for card numbers (HMAC-SHA256). Separate from SECRET_KEY so it can be
# rotated and kept in an HSM-backed store independently of session signing.
PAN_TOKEN_KEY = os.environ.get("DAOZHANG_PAN_TOKEN_KEY", "").strip() or DEV_PAN_TOKEN_KEY
# Encryption at rest of settlement bank account numbers (core/crypto.py): comma-separated
# Fernet keys, the first encrypts, all decrypt (rotation: docs/operations.md#key-rotation).
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in os.environ.get("DAOZHANG_FIELD_KEYS", "").split(",") if k.strip()
] or ([DEV_FIELD_KEY, LEGACY_DEV_FIELD_KEY] if DEVELOPMENT else [DEV_FIELD_KEY])
# Sandbox payment channels in production only for a pilot, with a warning at every start.
PILOT_SANDBOX_CHANNELS = _env_bool("DAOZHANG_PILOT_SANDBOX_CHANNELS", False)
# A pilot without an SMS gateway yet: the sandbox SMS and e-mail providers allowed in
# production, warned at every start (notifications/checks.py).
PILOT_SANDBOX_MESSAGES = _env_bool("DAOZHANG_PILOT_SANDBOX_MESSAGES", False)
# Django's test runner (pytest-django included) adds `testserver` itself while tests run.
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("DAOZHANG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' Swagger UI from local static files, not a CDN
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "daozhang.core",
    "daozhang.dates",
    "daozhang.ledger",
    "daozhang.merchants",
    "daozhang.terminals",
    "daozhang.channels",
    "daozhang.approvals",
    "daozhang.payments",
    "daozhang.settlement",
    "daozhang.notifications",
    "daozhang.risk",
    "daozhang.support",
    "daozhang.tracing",
    "daozhang.audit",
    "daozhang.access",
    "daozhang.web",
    "daozhang.portal",
    "daozhang.console",
    "daozhang.cli",
]

MIDDLEWARE = [
    # First: every answer under /api/ is JSON, errors of the middleware below included (core.edge).
    "daozhang.core.edge.ApiEdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files keep their long caching): CSP and no-store on the rest.
    "daozhang.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "daozhang.web.middleware.PageLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After the CSRF check: no full card number in any form field or query string (core.pan).
    "daozhang.web.middleware.PanFormMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "daozhang.audit.middleware.AuditActorMiddleware",  # who changes a user or group (audit.staff)
    # request.user.is_verified(): has this session passed the second factor (django-otp)?
    "django_otp.middleware.OTPMiddleware",
    # Deny by default: a signed-in session that still owes its second factor reaches only
    # the sign-in, two-factor and sign-out pages (web.twofactor).
    "daozhang.web.twofactor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

LOGIN_URL = "web:login"
# Sign-in throttling (access/throttle.py, docs/operations.md "Sign-in and two-factor"):
# failures are counted per username, per address and per (username, address); once a
# counter has its free failures, each further failure makes the next attempt it covers
# wait BASE × 2^(n - free) seconds, at most MAX ("try again in 8 s"). Nothing locks: a
# correct password from a browser the user signed in with before (a signed device cookie)
# is not held back by a stranger's failures for that username. A counter forgets failures
# older than the window.
LOGIN_FREE_FAILURES = int(os.environ.get("DAOZHANG_LOGIN_FREE_FAILURES", "5"))  # per username, per pair
LOGIN_ADDRESS_FREE_FAILURES = int(os.environ.get("DAOZHANG_LOGIN_ADDRESS_FREE_FAILURES", "20"))  # per address
LOGIN_DELAY_BASE_SECONDS = int(os.environ.get("DAOZHANG_LOGIN_DELAY_BASE_SECONDS", "2"))
LOGIN_DELAY_MAX_SECONDS = int(os.environ.get("DAOZHANG_LOGIN_DELAY_MAX_SECONDS", "900"))
LOGIN_WINDOW_SECONDS = int(os.environ.get("DAOZHANG_LOGIN_WINDOW_MINUTES", "60")) * 60
LOGIN_DEVICE_DAYS = int(os.environ.get("DAOZHANG_LOGIN_DEVICE_DAYS", "90"))  # the known-device cookie's life
# Unknown API keys / staff tokens from one address: this many free, then the same delays.
API_AUTH_FREE_FAILURES = int(os.environ.get("DAOZHANG_API_AUTH_FREE_FAILURES", "20"))
# Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or networks,
# e.g. "127.0.0.1,10.0.0.0/8"). Empty (the default): the client is the TCP peer
# (REMOTE_ADDR), and X-Forwarded-For is ignored, since anyone can send it. Behind a proxy
# that is not listed, every user shares the proxy's address (per-address counters then
# throttle everyone together: list the proxy).
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("DAOZHANG_TRUSTED_PROXIES", "").split(",") if p.strip()]
# Second factor (TOTP, django-otp) for staff and merchant owners: always required in
# production mode; in development only when DAOZHANG_REQUIRE_2FA is on (off by default, so
# the demo users can click through; the pages then show a "set up two-factor" banner).
REQUIRE_2FA = _env_bool("DAOZHANG_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = os.environ.get("DAOZHANG_OTP_ISSUER", "daozhang 到账")
# Credential lifetimes in days (0: never expires). Staff tokens act for a person with
# rights over every merchant: 90 days. API keys live in tills that cannot all be rotated
# at once, and an expired key stops a shop taking payments: no expiry by default, set one
# if your integrators can rotate.
STAFF_TOKEN_DAYS = int(os.environ.get("DAOZHANG_STAFF_TOKEN_DAYS", "90"))
API_KEY_DAYS = int(os.environ.get("DAOZHANG_API_KEY_DAYS", "0"))

ROOT_URLCONF = "daozhang.urls"
WSGI_APPLICATION = "daozhang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "daozhang.web.twofactor.banner",
            ],
        },
    },
]

_DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'daozhang.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _DEFAULT_SQLITE), conn_max_age=600
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock
    # at BEGIN so two writers queue on busy_timeout instead of failing with "locked"
    # half-way through a money movement.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests that start real processes (worker, crash tests) need the test database in a
    # file those processes can open; the pytest plugin sets this.
    if os.environ.get("DAOZHANG_TEST_SQLITE_FILE"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["DAOZHANG_TEST_SQLITE_FILE"]}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with GROUP BY naming every column (core/postgres/base.py: the keys by
    # merchant differ from the models' pk).
    DATABASES["default"]["ENGINE"] = "daozhang.core.postgres"
    # Django switches psycopg's prepared statements off (prepare_threshold None) for the sake
    # of transaction-mode poolers. Here only the statements the code asks for are prepared:
    # the online sale's look-up and write (core.db.execute_server_bound(prepare=True)), each
    # parsed and planned once per connection. Django's own queries bind client-side and are
    # never prepared; the huge threshold keeps psycopg from preparing anything else on its
    # own. DAOZHANG_PG_PREPARE=0 turns it off (behind a transaction-mode pooler without
    # prepared-statement support).
    _prepare = os.environ.get("DAOZHANG_PG_PREPARE", "1").lower() not in ("0", "false", "no", "off")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 1_000_000_000 if _prepare else None
    # The tables' owner (docs/operations.md, core.dbroles): `migrate` and the tests' set-up
    # and flushes connect as it; DATABASE_URL's role, the application's, may then only add
    # and read ledger entries, postings and audit rows. Same server and database; only the
    # role (and its password) differ.
    if os.environ.get("DAOZHANG_DATABASE_OWNER_URL"):
        _owner = dj_database_url.parse(os.environ["DAOZHANG_DATABASE_OWNER_URL"])
        DATABASES["default"]["OWNER"] = {  # type: ignore[typeddict-unknown-key]
            k: _owner[k] for k in ("USER", "PASSWORD", "HOST", "PORT") if _owner.get(k)}  # type: ignore[literal-required]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) speed up settlement on PostgreSQL; SQLite just ignores the extra
# columns, which is fine.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
BUSINESS_TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves static files from the app directories directly, so the embedded
# default needs no collectstatic step; production may run collectstatic and a CDN.
WHITENOISE_USE_FINDERS = True
# The embedded SQLite file and collected static files live here; create it on first start.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = DEBUG

TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "DAOZHANG_TASK_BACKEND", "django_tasks_db.DatabaseBackend"
        ),
    }
}

# Channel modes: "sandbox" is the only implementation shipped; a production adapter is
# selected by naming its class path here.
CHANNEL_BACKENDS = {
    "card": os.environ.get("DAOZHANG_CHANNEL_CARD", "daozhang.channels.sandbox.SandboxCardNetwork"),
    "wechat": os.environ.get("DAOZHANG_CHANNEL_WECHAT", "daozhang.channels.sandbox.SandboxWeChatPay"),
    "alipay": os.environ.get("DAOZHANG_CHANNEL_ALIPAY", "daozhang.channels.sandbox.SandboxAlipay"),
}
# Exactly once (core.once): an answer stays replayable under its Idempotency-Key or form
# token at least this long, then the purge job deletes it; a request under a key still in
# progress waits this long for the first before it is answered 409 request_in_progress.
IDEMPOTENCY_TTL_HOURS = int(os.environ.get("DAOZHANG_IDEMPOTENCY_TTL_HOURS", "168"))
IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("DAOZHANG_IDEMPOTENCY_WAIT_SECONDS", "5"))
# How long an unknown (timed-out) sale waits for the terminal's own reversal before the
# worker reverses it automatically.
UNKNOWN_PAYMENT_REVERSAL_SECONDS = int(os.environ.get("DAOZHANG_UNKNOWN_REVERSAL_SECONDS", "300"))

# Settlement (docs/operations.md): cut-off times per cycle, Asia/Shanghai, HH:MM.
SETTLEMENT_CUTOFFS = {
    "T1": os.environ.get("DAOZHANG_T1_CUTOFF", "23:00"),
    "D0": os.environ.get("DAOZHANG_D0_CUTOFF", "15:00"),
}
# Same-day (D0) settlement charge: a rate in ppm of the net (500 = 0.05%) plus a fixed part.
D0_FEE_PPM = int(os.environ.get("DAOZHANG_D0_FEE_PPM", "500"))
D0_FEE_FIXED_FEN = int(os.environ.get("DAOZHANG_D0_FEE_FIXED_FEN", "0"))
# Merchants per settlement transaction: smaller holds locks for less time, larger is faster.
SETTLEMENT_CHUNK = int(os.environ.get("DAOZHANG_SETTLEMENT_CHUNK", "1000"))
# PostgreSQL: connections a settlement run writes its chunks on at once (SQLite: always one).
SETTLEMENT_WRITERS = int(os.environ.get("DAOZHANG_SETTLEMENT_WRITERS", "2"))
# A net below this is carried to the next batch instead of paid (bank transfers cost money).
MIN_PAYOUT_FEN = int(os.environ.get("DAOZHANG_MIN_PAYOUT_FEN", "100"))
# Bank behind payouts, like the payment channels: a class path. The sandbox bank (refused in
# production) and the file bank (channels/file_bank.py: request files out, result files in)
# ship. The file bank writes into the outbox, which the bank's transfer job empties, and
# keeps its own copy of every file in the sent directory (its memory of what was sent).
BANK_BACKEND = os.environ.get("DAOZHANG_BANK", "daozhang.channels.sandbox_bank.SandboxBank")
BANK_OUTBOX_DIR = os.environ.get("DAOZHANG_BANK_OUTBOX", "")
BANK_SENT_DIR = os.environ.get("DAOZHANG_BANK_SENT_DIR", "") or (
    str(Path(BANK_OUTBOX_DIR).parent / (Path(BANK_OUTBOX_DIR).name + "-sent")) if BANK_OUTBOX_DIR else "")
# Bank outage: retry after 1, 2, 4 … minutes, at most this many tries before staff are alerted.
PAYOUT_MAX_TRIES = int(os.environ.get("DAOZHANG_PAYOUT_MAX_TRIES", "8"))
# After a merchant's settlement account changes, no payout for this many hours, counted from
# when the new account took effect (its verified_at): time for the merchant to see the
# notice of the change and stop it. 0 switches it off (issue 11, item 2).
PAYOUT_COOLOFF_HOURS = int(os.environ.get("DAOZHANG_PAYOUT_COOLOFF_HOURS", "24"))
# A JobRun "running" on another host with no progress for this long is taken for a run
# whose process ended (on the same host the process is looked up): core.progress.
JOB_STALE_MINUTES = int(os.environ.get("DAOZHANG_JOB_STALE_MINUTES", "60"))

# Four-eyes approval (approvals, docs/console.md#approvals): a request not decided within
# this many hours expires, and nothing it asked for is done.
APPROVAL_TTL_HOURS = int(os.environ.get("DAOZHANG_APPROVAL_TTL_HOURS", "72"))
# A manual adjustment whose absolute amount is above this (fen; default ¥5,000) waits for a
# second staff member's approval and books nothing until then.
ADJUSTMENT_APPROVAL_FEN = int(os.environ.get("DAOZHANG_ADJUSTMENT_APPROVAL_FEN", "500000"))
# Settlement-account changes (settlement.accounts, docs/portal.md): the owner confirms with a
# one-time code sent to the merchant's registered phone (else e-mail), valid this long, this
# many tries; at most this many change requests per merchant a day. Which changes also need a
# second staff member: "risky" (a switch to a personal account or a new holder), "all", "none".
ACCOUNT_CHANGE_CODE_SECONDS = int(os.environ.get("DAOZHANG_ACCOUNT_CHANGE_CODE_SECONDS", "600"))
ACCOUNT_CHANGE_CODE_ATTEMPTS = int(os.environ.get("DAOZHANG_ACCOUNT_CHANGE_CODE_ATTEMPTS", "5"))
ACCOUNT_CHANGES_PER_DAY = int(os.environ.get("DAOZHANG_ACCOUNT_CHANGES_PER_DAY", "5"))
ACCOUNT_CHANGE_REVIEW = os.environ.get("DAOZHANG_ACCOUNT_CHANGE_REVIEW", "risky")

# The outbox (core.events, docs/notifications.md): events are delivered to subscribers by
# the worker. A claim is a lease of this many seconds (longer than any one delivery: a
# provider's timeout); a failed delivery is tried again after BASE × 2^(attempt-1)
# seconds, at most MAX, and given up ("dead", shown in the console) after MAX_ATTEMPTS.
OUTBOX_BATCH = int(os.environ.get("DAOZHANG_OUTBOX_BATCH", "100"))
OUTBOX_LEASE_SECONDS = int(os.environ.get("DAOZHANG_OUTBOX_LEASE_SECONDS", "300"))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("DAOZHANG_OUTBOX_MAX_ATTEMPTS", "8"))
OUTBOX_RETRY_BASE_SECONDS = int(os.environ.get("DAOZHANG_OUTBOX_RETRY_BASE_SECONDS", "30"))
OUTBOX_RETRY_MAX_SECONDS = int(os.environ.get("DAOZHANG_OUTBOX_RETRY_MAX_SECONDS", "3600"))
# The worker is kicked after each commit that emits; this sweep catches retries and lost kicks.
OUTBOX_SWEEP_SECONDS = int(os.environ.get("DAOZHANG_OUTBOX_SWEEP_SECONDS", "10"))

# Notifications (docs/notifications.md): a provider per channel, by class path. SMS goes to
# the sandbox (it records the message) until a real gateway's adapter is named here; e-mail
# goes over SMTP when DAOZHANG_SMTP_HOST is set, else to the sandbox, so `make run` works
# offline.
EMAIL_HOST = os.environ.get("DAOZHANG_SMTP_HOST", "")
EMAIL_PORT = int(os.environ.get("DAOZHANG_SMTP_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("DAOZHANG_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DAOZHANG_SMTP_PASSWORD", "")
EMAIL_USE_SSL = _env_bool("DAOZHANG_SMTP_SSL", False)  # implicit TLS (port 465)
EMAIL_USE_TLS = _env_bool("DAOZHANG_SMTP_STARTTLS", not EMAIL_USE_SSL)  # STARTTLS (port 587)
EMAIL_TIMEOUT = int(os.environ.get("DAOZHANG_SMTP_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DAOZHANG_MAIL_FROM", "daozhang <noreply@localhost>")
NOTIFY_PROVIDERS = {
    "sms": os.environ.get("DAOZHANG_SMS_PROVIDER", "daozhang.notifications.providers.SandboxSms"),
    "email": os.environ.get("DAOZHANG_EMAIL_PROVIDER", "daozhang.notifications.providers.SmtpEmail" if EMAIL_HOST
                            else "daozhang.notifications.providers.SandboxEmail"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DAOZHANG_LOG_LEVEL", "INFO")},
    # django_tasks logs every run of every job at INFO (the outbox sweep: every 10 s); job
    # progress and failures are in the console (JobRun, alerts) and at WARNING here.
    "loggers": {"django.db.backends": {"level": "WARNING"},
                "django_tasks": {"level": os.environ.get("DAOZHANG_TASK_LOG_LEVEL", "WARNING")}},
}

NINJA_PAGINATION_PER_PAGE = 50
# Session timeout: a page session ends after this many idle seconds (every request renews it)
# and when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("DAOZHANG_SESSION_SECONDS", "1800"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# HTTPS (docs/operations.md#https). Production runs behind a TLS-terminating proxy: cookies
# only over HTTPS, HSTS for a year (subdomains, preload), plain HTTP redirected (except the
# health check, which a monitor on the host asks over HTTP). gunicorn (`daozhang serve`)
# believes the proxy's X-Forwarded-Proto only from FORWARDED_ALLOW_IPS; another WSGI server
# may have Django believe it (DAOZHANG_TRUST_X_FORWARDED_PROTO=1) only if the proxy
# overwrites it on every request. Development keeps plain HTTP. Each has its variable.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("DAOZHANG_SECURE_COOKIES", not DEVELOPMENT)
SECURE_HSTS_SECONDS = int(os.environ.get("DAOZHANG_HSTS_SECONDS", "0" if DEVELOPMENT else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DAOZHANG_HSTS_SUBDOMAINS", not DEVELOPMENT)
SECURE_HSTS_PRELOAD = _env_bool("DAOZHANG_HSTS_PRELOAD", not DEVELOPMENT)
SECURE_SSL_REDIRECT = _env_bool("DAOZHANG_SSL_REDIRECT", not DEVELOPMENT)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if _env_bool("DAOZHANG_TRUST_X_FORWARDED_PROTO", False):  # gunicorn already does, from FORWARDED_ALLOW_IPS
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("DAOZHANG_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every page and answer (web.middleware.SecurityHeadersMiddleware),
# in both modes so that development and the browser tests see what production sends. Only
# our own files: no inline script or style and no eval (htmx's eval features are switched
# off in web/base.html), nothing from another origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
LANGUAGE_COOKIE_SAMESITE = "Lax"
