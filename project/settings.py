"""Vitrine settings, read from the environment with safe defaults.

Every variable is documented in the README ("Configuration").
"""
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: long enough that PyJWT does not warn about short HMAC keys.
    SECRET_KEY = "vitrine-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if not DEBUG else "*")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "django_filters",
    # /healthz and /readyz (project/health.py); the app adds `manage.py health_check`.
    "health_check",
    # Before graphene_django so our offline GraphiQL template wins.
    "schema",
    "graphene_django",
    "graphql_jwt.refresh_token.apps.RefreshTokenConfig",
    "accounts",
    "products",
    "orders",
    "subscriptions",
    "django_tasks",
    "django_tasks_db",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware, so redirects and errors carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Coded JSON 413/400 for oversized or undecodable GraphQL bodies (schema/request_guard.py).
    "schema.request_guard.RequestGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if os.environ.get("DATABASE_TEST_NAME"):
    # Lets several test runs share one PostgreSQL server without clashing.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["DATABASE_TEST_NAME"]}
# 32-bit keys: graphene-django's global-ID filters only understand AutoField.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "graphql_jwt.backends.JSONWebTokenBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# Where clients fetch MEDIA_ROOT's files when another host serves them (a CDN), e.g.
# https://cdn.example.com/media/: it becomes MEDIA_URL, so image URLs are built from it.
# Unset, image URLs are absolute on the host of the request (products/media.py).
MEDIA_BASE_URL = os.environ.get("MEDIA_BASE_URL", "").strip()
if MEDIA_BASE_URL:
    if not MEDIA_BASE_URL.startswith(("https://", "http://", "//")):
        raise ImproperlyConfigured("MEDIA_BASE_URL must be an absolute URL (https://...).")
    MEDIA_URL = MEDIA_BASE_URL.rstrip("/") + "/"
# The app itself serves MEDIA_ROOT at MEDIA_URL's path, images only (project/urls.py).
SERVE_MEDIA = env_bool("SERVE_MEDIA", not MEDIA_BASE_URL)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve the vendored GraphiQL assets straight from the apps in development.
WHITENOISE_USE_FINDERS = True

GRAPHENE = {
    "SCHEMA": "schema.schema.schema",
    "SCHEMA_OUTPUT": "schema.graphql",
    "SCHEMA_INDENT": 2,
    # Authentication happens once per request in the view, not per field.
    "MIDDLEWARE": [],
    "RELAY_CONNECTION_MAX_LIMIT": 100,
    "RELAY_CONNECTION_ENFORCE_FIRST_OR_LAST": False,
    # Websocket subscriptions share the HTTP path (see subscriptions/).
    "SUBSCRIPTION_PATH": "/graphql/",
}

GRAPHQL_JWT = {
    "JWT_VERIFY_EXPIRATION": True,
    "JWT_EXPIRATION_DELTA": timedelta(seconds=int(os.environ.get("JWT_EXPIRATION_SECONDS", "300"))),
    "JWT_LONG_RUNNING_REFRESH_TOKEN": True,
    "JWT_REFRESH_EXPIRATION_DELTA": timedelta(
        days=int(os.environ.get("JWT_REFRESH_EXPIRATION_DAYS", "7"))
    ),
    "JWT_ALGORITHM": "HS256",
    # Clients send `Authorization: Bearer <token>` (the library's default prefix is `JWT`).
    "JWT_AUTH_HEADER_PREFIX": "Bearer",
    # Rotation: refreshToken revokes the presented refresh token and issues a new one.
    "JWT_REUSE_REFRESH_TOKENS": False,
    # Browser clients may ask tokenAuth/refreshToken for HttpOnly cookies instead.
    "JWT_COOKIE_NAME": "JWT",
    "JWT_REFRESH_TOKEN_COOKIE_NAME": "JWT-refresh-token",
    "JWT_COOKIE_SECURE": env_bool("JWT_COOKIE_SECURE", not DEBUG),
    "JWT_COOKIE_SAMESITE": "Lax",
}

# Failed sign-ins allowed per account and per client IP within the window (Django's cache).
AUTH_RATE_LIMIT_ACCOUNT_FAILURES = int(os.environ.get("AUTH_RATE_LIMIT_ACCOUNT_FAILURES", "5"))
AUTH_RATE_LIMIT_IP_FAILURES = int(os.environ.get("AUTH_RATE_LIMIT_IP_FAILURES", "20"))
AUTH_RATE_LIMIT_WINDOW_SECONDS = int(os.environ.get("AUTH_RATE_LIMIT_WINDOW_SECONDS", "900"))

# API keys: how often `last_used` is written at most, and uploads' limits.
API_KEY_LAST_USED_RESOLUTION_SECONDS = int(
    os.environ.get("API_KEY_LAST_USED_RESOLUTION_SECONDS", "60")
)
UPLOAD_MAX_IMAGE_BYTES = int(os.environ.get("UPLOAD_MAX_IMAGE_BYTES", str(5 * 1024 * 1024)))
UPLOAD_MAX_IMAGES_PER_PRODUCT = int(os.environ.get("UPLOAD_MAX_IMAGES_PER_PRODUCT", "10"))

# Off only to measure the N+1 baseline (bench/): every loader call then runs its own query.
DATALOADER_BATCHING = env_bool("DATALOADER_BATCHING", True)

# Connection arguments are bounded like GitHub's public API.
GRAPHQL_MAX_PAGE_SIZE = 100

# -- API protection: every limit is documented in the README ("Limits"). ----------------------
# Static query cost, checked before execution (schema/cost.py).
# 5,000: a catalog page of 100 products with their category, images, 5 reviews with authors
# and 5 related products costs 2,502; 100 products x 100 reviews (10,302) is refused.
GRAPHQL_MAX_COST = int(os.environ.get("GRAPHQL_MAX_COST", "5000"))
GRAPHQL_MAX_NODES = int(os.environ.get("GRAPHQL_MAX_NODES", "10000"))
GRAPHQL_COST_DEFAULT_LIST_SIZE = int(os.environ.get("GRAPHQL_COST_DEFAULT_LIST_SIZE", "5"))
# Expected sizes of unbounded object lists, by "Type.field" (else the default above).
GRAPHQL_COST_LIST_SIZES: dict[str, int] = {}
GRAPHQL_COST_MUTATION = int(os.environ.get("GRAPHQL_COST_MUTATION", "10"))
# Document shape and size (schema/limits.py).
GRAPHQL_MAX_DOCUMENT_BYTES = int(os.environ.get("GRAPHQL_MAX_DOCUMENT_BYTES", "16384"))
GRAPHQL_MAX_TOKENS = int(os.environ.get("GRAPHQL_MAX_TOKENS", "2000"))
GRAPHQL_MAX_VARIABLES_BYTES = int(os.environ.get("GRAPHQL_MAX_VARIABLES_BYTES", "16384"))
GRAPHQL_MAX_DEPTH = int(os.environ.get("GRAPHQL_MAX_DEPTH", "10"))
# Below __schema/__type: the standard introspection documents need 14 (schema/limits.py).
GRAPHQL_MAX_INTROSPECTION_DEPTH = int(os.environ.get("GRAPHQL_MAX_INTROSPECTION_DEPTH", "14"))
GRAPHQL_MAX_INTROSPECTION_FIELDS = int(os.environ.get("GRAPHQL_MAX_INTROSPECTION_FIELDS", "3"))
GRAPHQL_MAX_ALIASES = int(os.environ.get("GRAPHQL_MAX_ALIASES", "30"))
GRAPHQL_MAX_FIELDS = int(os.environ.get("GRAPHQL_MAX_FIELDS", "100"))
# "on", "off" or "staff": who may query __schema / __type. On by default: the catalog's schema
# is its public documentation (README, "Introspection").
GRAPHQL_INTROSPECTION = os.environ.get("GRAPHQL_INTROSPECTION", "on")
# Leaky bucket of cost points per client (schema/throttle.py).
GRAPHQL_THROTTLE_ENABLED = env_bool("GRAPHQL_THROTTLE_ENABLED", True)
# Sized for a storefront (the reasoning is in schema/throttle.py): one client (user, API key)...
GRAPHQL_THROTTLE_BUCKET_SIZE = int(os.environ.get("GRAPHQL_THROTTLE_BUCKET_SIZE", "10000"))
GRAPHQL_THROTTLE_RESTORE_RATE = float(os.environ.get("GRAPHQL_THROTTLE_RESTORE_RATE", "500"))
# ...and an address, shared by every anonymous visitor behind it.
GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE = int(
    os.environ.get("GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE", "20000")
)
GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE = float(
    os.environ.get("GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE", "1000")
)
GRAPHQL_THROTTLE_CACHE = os.environ.get("GRAPHQL_THROTTLE_CACHE", "default")
# Proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
GRAPHQL_TRUSTED_PROXIES = int(os.environ.get("GRAPHQL_TRUSTED_PROXIES", "0"))
# Parsed + validated documents kept per process (schema/document_cache.py).
GRAPHQL_DOCUMENT_CACHE_SIZE = int(os.environ.get("GRAPHQL_DOCUMENT_CACHE_SIZE", "500"))
# Automatic persisted queries and the allow-list mode (schema/persisted_queries.py).
GRAPHQL_APQ_ENABLED = env_bool("GRAPHQL_APQ_ENABLED", True)
GRAPHQL_APQ_CACHE = os.environ.get("GRAPHQL_APQ_CACHE", "default")
GRAPHQL_APQ_TTL = int(os.environ.get("GRAPHQL_APQ_TTL", str(7 * 24 * 3600)))
GRAPHQL_PERSISTED_QUERIES_ONLY = env_bool("GRAPHQL_PERSISTED_QUERIES_ONLY", False)
GRAPHQL_PERSISTED_QUERIES_FILE = os.environ.get("GRAPHQL_PERSISTED_QUERIES_FILE", "")
# Request bodies larger than this answer 413 REQUEST_TOO_LARGE (Django's default: 2.5 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", "2621440"))

# -- Outgoing webhooks (webhooks/, docs/webhooks.md) -------------------------------------------
# Django's task framework (the django-tasks backport): deliveries run on the "webhooks" queue,
# by default of the database backend: `manage.py db_worker --queue-name webhooks` (bin/run
# starts one).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "webhooks"],
    }
}
# Hosts that may be webhook targets although they are not public (loopback, private): no SSRF
# check and plain http allowed for them. Comma-separated host names or IP addresses.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", "")
# Seconds before each retry (so 1 + len attempts); each delay varies by +/- WEBHOOK_RETRY_JITTER.
WEBHOOK_RETRY_SCHEDULE = [
    float(delay)
    for delay in env_list("WEBHOOK_RETRY_SCHEDULE", "5,60,300,1800,7200,28800,43200")
]
WEBHOOK_RETRY_JITTER = float(os.environ.get("WEBHOOK_RETRY_JITTER", "0.2"))
# One attempt's whole budget (connect, send, response); never more than 10 s.
WEBHOOK_TIMEOUT_SECONDS = min(float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10")), 10.0)
# An endpoint is disabled after this many deliveries in a row failed for good.
WEBHOOK_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", "10"))
# How long the old secret still signs (beside the new one) after a rotation, by default.
WEBHOOK_SECRET_GRACE_SECONDS = int(os.environ.get("WEBHOOK_SECRET_GRACE_SECONDS", "86400"))

# CORS (django-cors-headers) for the GraphQL endpoint only; no origin is allowed by default.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/graphql/?$"
CORS_ALLOW_CREDENTIALS = env_bool("CORS_ALLOW_CREDENTIALS", False)
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-api-key")
CORS_EXPOSE_HEADERS = ["Retry-After"]
# Cross-origin cookie-authenticated POSTs must come from one of these (Django's CSRF check).
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
