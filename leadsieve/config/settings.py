"""LeadSieve settings: everything a deployment changes comes from the environment.

Every variable is documented in README.md and .env.example.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from leadsieve.config.env import env_bool, env_int, env_list, env_networks, env_str

# Lets admin and queryset classes be subscripted (ModelAdmin[Lead]) for the type checker.
django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
DEMO = env_bool("LEADSIEVE_DEMO", False)
DATA_DIR = Path(env_str("LEADSIEVE_DATA_DIR") or Path.cwd() / "var").resolve()

_secret = env_str("SECRET_KEY")
if not _secret:
    if not (DEBUG or DEMO):
        raise ImproperlyConfigured(
            "SECRET_KEY is required (or SECRET_KEY_FILE); only DEBUG or LEADSIEVE_DEMO runs "
            "may start without one."
        )
    # A throwaway key for demo and debug runs: sessions do not survive a restart.
    _secret = "insecure-demo-" + secrets.token_urlsafe(32)
SECRET_KEY = _secret

# Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs); empty: REMOTE_ADDR is the
# client. See leadsieve/config/proxies.py.
LEADSIEVE_TRUSTED_PROXIES = env_networks("LEADSIEVE_TRUSTED_PROXIES")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if (DEBUG or DEMO) else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First: its createsuperuser (password rules in every mode) replaces Django's.
    "leadsieve.accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "leadsieve.leads",
    "leadsieve.stages",
    "leadsieve.scoring",
    "leadsieve.routing",
    "leadsieve.cadences",
    "leadsieve.insights",
    "leadsieve.segments",
    "leadsieve.webforms",
    "leadsieve.teamsettings",
    "leadsieve.intake",
    "leadsieve.api",
    "leadsieve.workspace",
    "leadsieve.ops",
    "leadsieve.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below whitenoise: static files keep their own caching and need no policy.
    "csp.middleware.CSPMiddleware",
    "leadsieve.config.middleware.PrivateNoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "leadsieve.config.middleware.SessionIdleTimeoutMiddleware",
    "leadsieve.config.middleware.DatabaseBusyMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leadsieve.config.urls"
WSGI_APPLICATION = "leadsieve.config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
# SQLite is the zero-set-up default; PostgreSQL is the scale path (DATABASE_URL=postgres://...).
SQLITE_BUSY_TIMEOUT_S = env_int("LEADSIEVE_SQLITE_BUSY_TIMEOUT", 30, minimum=1)
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "PRAGMA temp_store=MEMORY;"
    "PRAGMA cache_size=-65536;"
    "PRAGMA mmap_size=268435456;"
)


# Seconds a request thread keeps its database connection for the next request: opening one
# costs more than a short read (SQLite: the PRAGMAs above; PostgreSQL: a backend process).
# `leadsieve serve` runs a fixed pool of threads, so this holds at most workers × threads
# connections (docs/decisions/0004-web-server.md). 0 closes it after every request.
DB_CONN_MAX_AGE_S = env_int("LEADSIEVE_DB_CONN_MAX_AGE", 600, minimum=0)


def _database_from_url(url: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=DB_CONN_MAX_AGE_S))
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} is not understood: {error}") from None
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        # Django's backend, with a request's threads queueing for the write lock (its module).
        config["ENGINE"] = "leadsieve.config.sqlite"
        config["OPTIONS"] = {
            "init_command": SQLITE_PRAGMAS,
            # BEGIN IMMEDIATE: writers queue on the lock instead of failing on upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_BUSY_TIMEOUT_S,
        }
        name = str(config.get("NAME") or "")
        if name and name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        test_name = env_str("LEADSIEVE_TEST_SQLITE")
        # Tests run on a real file (WAL, real locking), not Django's shared-cache memory DB.
        config["TEST"] = {"NAME": test_name or str(Path(name).with_name("test_leadsieve.sqlite3"))}
    elif engine.endswith("postgresql"):
        config.setdefault("OPTIONS", {})
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r}: only sqlite:/// and postgres:// URLs are supported"
        )
    return config


DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'leadsieve.sqlite3'}"
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work: Django's tasks API on the database (docs/decisions/0002) ----------------
TASKS = {
    "default": {
        "BACKEND": env_str("LEADSIEVE_TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
    }
}

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: served by whitenoise, never from a CDN ------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# whitenoise looks here at start-up; `leadsieve serve` fills it with collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or DEMO

# --- Security ----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LEADSIEVE_MAX_BODY_BYTES", 2_621_440, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- web: HTTPS, HSTS and the proxy in front (docs/security.md) --------------------------------
# LEADSIEVE_HTTPS=true (or LEADSIEVE_SECURE_COOKIES=true, its older name): cookies only over
# HTTPS, plain-HTTP requests redirected to HTTPS, and HSTS so browsers stop trying plain HTTP.
# Behind a TLS-terminating proxy, LEADSIEVE_PROXY_SSL_HEADER names the header the proxy sets to
# "https" on every request (and strips from clients'); without it every request looks plain.
LEADSIEVE_HTTPS = env_bool("LEADSIEVE_HTTPS", False) or env_bool("LEADSIEVE_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = LEADSIEVE_HTTPS
CSRF_COOKIE_SECURE = LEADSIEVE_HTTPS
SECURE_SSL_REDIRECT = LEADSIEVE_HTTPS
SECURE_HSTS_SECONDS = (
    env_int("LEADSIEVE_HSTS_SECONDS", 31_536_000, minimum=0) if LEADSIEVE_HTTPS else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEADSIEVE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("LEADSIEVE_HSTS_PRELOAD", False)
# Asking browsers to preload the domain is the operator's call (it outlives this server), not
# a default; `check --deploy` would warn about it on every run.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
_proxy_ssl_header = env_str("LEADSIEVE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", _proxy_ssl_header):
        raise ImproperlyConfigured(
            f"LEADSIEVE_PROXY_SSL_HEADER={_proxy_ssl_header!r} is not a header name "
            "like X-Forwarded-Proto"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

# --- web: Content-Security-Policy (django-csp) ---------------------------------------------------
# Scripts and styles come only from LeadSieve's own static files: no inline script or style, no
# eval (base.html tells htmx so). The web form's page lifts form-action (webforms/views.py); a
# backtest chart sets its own policy (scoring/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- web: sessions end after a stretch of inactivity (config/middleware.py) ----------------------
LEADSIEVE_SESSION_IDLE_HOURS = env_int("LEADSIEVE_SESSION_IDLE_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = LEADSIEVE_SESSION_IDLE_HOURS * 3600
SESSION_ENGINE = "leadsieve.config.sessions"

# --- web: sign-in lock-out (django-axes) and password rules -------------------------------------
# Failed sign-ins are counted per username *and* client address (through the trusted proxies),
# in the database so every server process sees them; past the limit that pair is refused, even
# with the right password, until the cool-off has passed. Unknown usernames are counted and
# locked exactly like known ones, and the lock-out page never names either: the answers do not
# tell whether an account exists. /accounts/login/ and /admin/login/ both go through it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LEADSIEVE_LOGIN_FAILURE_LIMIT = env_int("LEADSIEVE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LEADSIEVE_LOGIN_COOLOFF_MINUTES = env_int("LEADSIEVE_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = LEADSIEVE_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LEADSIEVE_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "leadsieve.config.proxies.client_ip"
AXES_LOCKOUT_CALLABLE = "leadsieve.accounts.views.locked_out"
# Failed attempts are kept (the lock-out needs them); successful sign-ins are not logged to the
# database: it would grow without bound with personal data and nothing reads it.
AXES_DISABLE_ACCESS_LOG = True

LEADSIEVE_PASSWORD_MIN_LENGTH = env_int("LEADSIEVE_PASSWORD_MIN_LENGTH", 12, minimum=8)
_VALIDATION = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATION}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATION}.MinimumLengthValidator",
        "OPTIONS": {"min_length": LEADSIEVE_PASSWORD_MIN_LENGTH},
    },
    {"NAME": f"{_VALIDATION}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATION}.NumericPasswordValidator"},
]

# --- web: outgoing email ----------------------------------------------------------------------
# Production sends through the SMTP server configured here. A demo writes each message to a
# file in <data dir>/mail/ (where a person can read what the cadences sent, instead of
# thousands of lines in the terminal); a DEBUG run prints it. Neither reaches anyone.
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.filebased.EmailBackend"
    if DEMO
    else "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (port 465) exclude each other"
    )
EMAIL_PORT = env_int(
    "EMAIL_PORT", 587 if EMAIL_USE_TLS else 465 if EMAIL_USE_SSL else 25, minimum=1
)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""  # or EMAIL_HOST_PASSWORD_FILE
# Seconds before a silent SMTP server fails the send instead of holding a worker forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "leadsieve@localhost"

# --- Product settings ------------------------------------------------------------------------
# Country assumed for phone numbers written without an international prefix.
LEADSIEVE_DEFAULT_REGION = (env_str("LEADSIEVE_DEFAULT_REGION") or "US").upper()
if len(LEADSIEVE_DEFAULT_REGION) != 2 or not LEADSIEVE_DEFAULT_REGION.isalpha():
    raise ImproperlyConfigured(
        f"LEADSIEVE_DEFAULT_REGION={LEADSIEVE_DEFAULT_REGION!r} is not a two-letter country code"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Emails and phone numbers (in URLs above all) are masked in every line: config/logs.py.
    "filters": {"mask_personal_data": {"()": "leadsieve.config.logs.MaskPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["mask_personal_data"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "WARNING"},
}

# --- web: a refused request (403, 400) is logged as one line, without a traceback --------------
_log_filters = cast(dict[str, Any], LOGGING.setdefault("filters", {}))
_log_filters["client_errors_without_traceback"] = {
    "()": "leadsieve.config.log_filters.ClientErrorsWithoutTraceback"
}
_loggers = cast(dict[str, Any], LOGGING.setdefault("loggers", {}))
_loggers.setdefault("django.request", {}).setdefault("filters", []).append(
    "client_errors_without_traceback"
)

# --- webapi: public capture channels (web forms, JSON API) -----------------------------------
# django-ninja's templates and static files, so /api/v1/docs serves swagger-ui locally (no CDN).
INSTALLED_APPS.append("ninja")
# A form post larger than this is refused with 413 before its body is read.
LEADSIEVE_FORM_MAX_BODY_BYTES = env_int("LEADSIEVE_FORM_MAX_BODY_BYTES", 65_536, minimum=1024)
# Posts per IP per form per window (a token bucket: a burst of LIMIT, then LIMIT per WINDOW);
# over it: 429 with Retry-After.
LEADSIEVE_FORM_RATE_LIMIT = env_int("LEADSIEVE_FORM_RATE_LIMIT", 20, minimum=1)
LEADSIEVE_FORM_RATE_WINDOW = env_int("LEADSIEVE_FORM_RATE_WINDOW", 60, minimum=1)
# An API request body larger than this is refused with 413 (bulk of 1,000 leads fits).
LEADSIEVE_API_MAX_BODY_BYTES = min(
    env_int("LEADSIEVE_API_MAX_BODY_BYTES", 2_097_152, minimum=1024), DATA_UPLOAD_MAX_MEMORY_SIZE
)
LEADSIEVE_API_BULK_MAX = env_int("LEADSIEVE_API_BULK_MAX", 1000, minimum=1)
# /api/v1/docs and /api/v1/openapi.json: signed-in users and tokens only, unless made public.
LEADSIEVE_API_DOCS_PUBLIC = env_bool("LEADSIEVE_API_DOCS_PUBLIC", False)

# --- Cadences (routing engineer) -------------------------------------------------------------
# Per-lead contact frequency cap: at most N cadence emails per lead in a rolling window of days.
LEADSIEVE_CONTACT_CAP = env_int("LEADSIEVE_CONTACT_CAP", 3, minimum=0)
LEADSIEVE_CONTACT_CAP_DAYS = env_int("LEADSIEVE_CONTACT_CAP_DAYS", 7, minimum=1)

# --- ui: the workspace's own CSS, JS and icons live in leadsieve/static/ (no app owns them) --
STATICFILES_DIRS = [PACKAGE_DIR / "static"]

# --- intake: the forms and import pages ------------------------------------------------------
# Largest file the import page accepts (bigger files: `leadsieve import-leads`).
LEADSIEVE_IMPORT_MAX_BYTES = env_int("LEADSIEVE_IMPORT_MAX_BYTES", 104_857_600, minimum=1024)
# Days an uploaded file (and its rejected rows and preview) is kept after its import ended,
# or after the upload when it was never started: it holds personal data.
LEADSIEVE_IMPORT_KEEP_DAYS = env_int("LEADSIEVE_IMPORT_KEEP_DAYS", 30, minimum=1)

# --- deploy: several web and worker processes on one database (docs/deploy.md) ----------------
# Nothing a request needs lives in one process: sessions, sign-in lock-outs, form rate limits
# and idempotency keys are rows in the database. The cache is shared too: a table in the
# database (created by the ops app's migration), or Redis at LEADSIEVE_CACHE_URL
# (redis://host:6379/0; needs `pip install redis`).
LEADSIEVE_CACHE_URL = env_str("LEADSIEVE_CACHE_URL") or ""
CACHE_TABLE = "leadsieve_cache"
if not LEADSIEVE_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
        }
    }
elif LEADSIEVE_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    import importlib.util

    if importlib.util.find_spec("redis") is None:
        raise ImproperlyConfigured(
            "LEADSIEVE_CACHE_URL names a Redis server but the redis package is missing: "
            "pip install 'leadsieve[redis]'"
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": LEADSIEVE_CACHE_URL,
        }
    }
else:
    raise ImproperlyConfigured(
        f"LEADSIEVE_CACHE_URL={LEADSIEVE_CACHE_URL!r}: only redis://, rediss:// and unix:// "
        "URLs are supported (leave it empty for the database)"
    )

# LEADSIEVE_PGBOUNCER=true: the database URL points at PgBouncer in transaction mode, where
# each transaction may run on another server connection. So no server-side cursor (it
# is kept between statements: Django's .iterator() would lose it) and no prepared statement
# (Django already leaves psycopg's prepare_threshold at None; this pins it against OPTIONS).
LEADSIEVE_PGBOUNCER = env_bool("LEADSIEVE_PGBOUNCER", False)
if LEADSIEVE_PGBOUNCER:
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("LEADSIEVE_PGBOUNCER=true needs a postgres:// DATABASE_URL")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
