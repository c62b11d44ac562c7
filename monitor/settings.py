"""Django settings for Tierwatch.

Everything a deployment changes comes from environment variables (see
docs/operations.md). Where DATABASE_URL / REDIS_URL are not set, the embedded
servers recorded by `make run` under var/ are used.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import plotly

from monitor.devservers.state import read_state, var_dir
from monitor.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = var_dir()


def _development_secret_key() -> str:
    """A key kept under var/ so sessions survive restarts of `make run`."""
    path = VAR_DIR / "secret-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = env_str("SECRET_KEY") or _development_secret_key()
DEBUG = env_bool("DEBUG", False)
# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto and send cookies over HTTPS only.
HTTPS = env_bool("HTTPS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

_embedded = read_state()
DATABASE_URL = env_str("DATABASE_URL") or (
    _embedded.database_url if _embedded else "postgresql://tierwatch@127.0.0.1:5432/tierwatch"
)
REDIS_URL = env_str("REDIS_URL") or (_embedded.redis_url if _embedded else "redis://127.0.0.1:6379/0")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "monitor.projects",
    "monitor.catalogue",
    "monitor.store",
    "monitor.ingest",
    "monitor.rollups",
    "monitor.annotations",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "monitor.urls"
WSGI_APPLICATION = "monitor.wsgi.application"

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

_database = database_from_url(DATABASE_URL)
DATABASES = {
    "default": {
        **_database,
        # Persistent connections: a new connection per ingest request would cost
        # more than the request itself.
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 300, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5, minimum=1), **_database["OPTIONS"]},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Plotly's bundle ships inside the plotly package: served as /static/plotly/plotly.min.js.
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", Path(plotly.__file__).parent / "package_data")]
# Only the production image collects static files (it sets STATIC_ROOT).
STATIC_ROOT = env_str("STATIC_ROOT") or None
# Served by whitenoise straight from the finders, so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG


# --- Tierwatch ---------------------------------------------------------------
RAW_RETENTION_DAYS = env_int("RAW_RETENTION_DAYS", 7, minimum=1)
# Per-second rollups (exact peak QPS, sub-minute steps) are kept this long; they must
# outlive the raw records, since a record may arrive up to RAW_RETENTION_DAYS late.
# At least 8 days: peak QPS is exact for at least the last 7 (whole) days.
_FINE_MINIMUM = max(RAW_RETENTION_DAYS + 1, 8)
FINE_RETENTION_DAYS = env_int("FINE_RETENTION_DAYS", _FINE_MINIMUM, minimum=_FINE_MINIMUM)
# Days (counting today) whose minutes have per-group rows; older minutes are summed from their series.
GROUP_MINUTE_DAYS = env_int("GROUP_MINUTE_DAYS", 2, minimum=2)
# Records per second per key; 0 = no limit.
INGEST_RATE_LIMIT = env_int("INGEST_RATE_LIMIT", 0, minimum=0)
# Records waiting to be rolled up beyond which ingest answers 503 (0 = no limit):
# five minutes of full-rate ingest with the workers stopped.
INGEST_BACKLOG_LIMIT = env_int("INGEST_BACKLOG_LIMIT", 50_000_000, minimum=0)
# How long a key lookup is cached; a revoked key stops working within this time.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, minimum=0)
# How far ahead daily raw partitions are created.
RAW_PARTITIONS_AHEAD_DAYS = env_int("RAW_PARTITIONS_AHEAD_DAYS", 3, minimum=1)

# --- Django REST framework / OpenAPI -----------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "monitor.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "monitor.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tierwatch API",
    "DESCRIPTION": "Performance and SLO monitoring for LLM inference services, per model tier.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only when it finished, so a killed worker's task runs again;
# tasks are idempotent because they claim their work from a table.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 5}
CELERY_BEAT_SCHEDULE = {
    # The safety net: ingest kicks a rollup on every commit.
    "roll-up": {"task": "monitor.rollups.tasks.roll_up", "schedule": timedelta(seconds=5), "options": {"expires": 5}},
    "maintain-raw-partitions": {"task": "monitor.store.tasks.maintain_raw_store", "schedule": timedelta(minutes=10)},
    "maintain-rollups": {"task": "monitor.rollups.tasks.maintain_rollups", "schedule": timedelta(minutes=10)},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},  # one line per request otherwise (the demo generator)
    },
}
