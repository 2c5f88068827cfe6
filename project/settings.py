"""Vitrine settings, read from the environment with safe defaults.

Every variable is read through project/env.py's typed readers, which name the variable and
its value when it cannot be read. Every variable is documented in docs/configuration.md.
"""
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_float, env_float_list, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
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
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
        # A kept connection is checked before a request reuses it: after the database
        # restarts, the first request does not fail on a connection the restart broke.
        conn_health_checks=True,
    )
}
DATABASE_TEST_NAME = env_str("DATABASE_TEST_NAME", "")
if DATABASE_TEST_NAME:
    # Lets several test runs share one PostgreSQL server without clashing.
    DATABASES["default"]["TEST"] = {"NAME": DATABASE_TEST_NAME}
# 32-bit keys: graphene-django's global-ID filters only understand AutoField.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

REDIS_URL = env_str("REDIS_URL", "")
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
            # A Redis that stops answering costs a request a second at most, not the
            # operating system's TCP timeout: its callers fail open (docs/operations.md).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
        # Public responses (schema/response_cache.py), shared by every process.
        "responses": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "responses",
        },
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "responses": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "responses",
            "OPTIONS": {"MAX_ENTRIES": env_int("GRAPHQL_RESPONSE_CACHE_ENTRIES", 1000,
                                               minimum=1)},
        },
    }

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
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Where clients fetch MEDIA_ROOT's files when another host serves them (a CDN), e.g.
# https://cdn.example.com/media/: it becomes MEDIA_URL, so image URLs are built from it.
# Unset, image URLs are absolute on the host of the request (products/media.py).
MEDIA_BASE_URL = env_str("MEDIA_BASE_URL", "")
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

# The page cap: `first`/`last` of every connection and `nodes(ids:)`, bounded like GitHub's
# public API. A constant: the schema's descriptions state it (schema.graphql).
GRAPHQL_MAX_PAGE_SIZE = 100

GRAPHENE = {
    "SCHEMA": "schema.schema.schema",
    "SCHEMA_OUTPUT": "schema.graphql",
    "SCHEMA_INDENT": 2,
    # Authentication happens once per request in the view, not per field.
    "MIDDLEWARE": [],
    # graphene-django's copy of the page cap (our connection fields read GRAPHQL_MAX_PAGE_SIZE).
    "RELAY_CONNECTION_MAX_LIMIT": GRAPHQL_MAX_PAGE_SIZE,
    "RELAY_CONNECTION_ENFORCE_FIRST_OR_LAST": False,
    # Websocket subscriptions share the HTTP path (see subscriptions/).
    "SUBSCRIPTION_PATH": "/graphql/",
}

GRAPHQL_JWT = {
    "JWT_VERIFY_EXPIRATION": True,
    "JWT_EXPIRATION_DELTA": timedelta(seconds=env_int("JWT_EXPIRATION_SECONDS", 300, minimum=1)),
    "JWT_LONG_RUNNING_REFRESH_TOKEN": True,
    "JWT_REFRESH_EXPIRATION_DELTA": timedelta(
        days=env_int("JWT_REFRESH_EXPIRATION_DAYS", 7, minimum=1)
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
AUTH_RATE_LIMIT_ACCOUNT_FAILURES = env_int("AUTH_RATE_LIMIT_ACCOUNT_FAILURES", 5, minimum=0)
AUTH_RATE_LIMIT_IP_FAILURES = env_int("AUTH_RATE_LIMIT_IP_FAILURES", 20, minimum=0)
AUTH_RATE_LIMIT_WINDOW_SECONDS = env_int("AUTH_RATE_LIMIT_WINDOW_SECONDS", 900, minimum=0)

# API keys: how often `last_used` is written at most, and uploads' limits.
API_KEY_LAST_USED_RESOLUTION_SECONDS = env_int(
    "API_KEY_LAST_USED_RESOLUTION_SECONDS", 60, minimum=0
)
UPLOAD_MAX_IMAGE_BYTES = env_int("UPLOAD_MAX_IMAGE_BYTES", 5 * 1024 * 1024, minimum=0)
UPLOAD_MAX_IMAGES_PER_PRODUCT = env_int("UPLOAD_MAX_IMAGES_PER_PRODUCT", 10, minimum=0)

# Off only to measure the N+1 baseline (bench/): every loader call then runs its own query.
DATALOADER_BATCHING = env_bool("DATALOADER_BATCHING", True)

# -- API protection: every limit is documented in the README ("Limits"). ----------------------
# Static query cost, checked before execution (schema/cost.py).
# 5,000: a catalog page of 100 products with their category, images, 5 reviews with authors
# and 5 related products costs 2,502; 100 products x 100 reviews (10,302) is refused.
GRAPHQL_MAX_COST = env_int("GRAPHQL_MAX_COST", 5000, minimum=0)
GRAPHQL_MAX_NODES = env_int("GRAPHQL_MAX_NODES", 10_000, minimum=0)
GRAPHQL_COST_DEFAULT_LIST_SIZE = env_int("GRAPHQL_COST_DEFAULT_LIST_SIZE", 5, minimum=0)
# Expected sizes of unbounded object lists, by "Type.field" (else the default above).
GRAPHQL_COST_LIST_SIZES: dict[str, int] = {}
GRAPHQL_COST_MUTATION = env_int("GRAPHQL_COST_MUTATION", 10, minimum=0)
# Document shape and size (schema/limits.py).
GRAPHQL_MAX_DOCUMENT_BYTES = env_int("GRAPHQL_MAX_DOCUMENT_BYTES", 16_384, minimum=0)
GRAPHQL_MAX_TOKENS = env_int("GRAPHQL_MAX_TOKENS", 2000, minimum=0)
GRAPHQL_MAX_VARIABLES_BYTES = env_int("GRAPHQL_MAX_VARIABLES_BYTES", 16_384, minimum=0)
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10, minimum=0)
# Below __schema/__type: the standard introspection documents need 14 (schema/limits.py).
GRAPHQL_MAX_INTROSPECTION_DEPTH = env_int("GRAPHQL_MAX_INTROSPECTION_DEPTH", 14, minimum=0)
GRAPHQL_MAX_INTROSPECTION_FIELDS = env_int("GRAPHQL_MAX_INTROSPECTION_FIELDS", 3, minimum=0)
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 30, minimum=0)
GRAPHQL_MAX_FIELDS = env_int("GRAPHQL_MAX_FIELDS", 100, minimum=0)
# "on", "off" or "staff": who may query __schema / __type. On by default: the catalog's schema
# is its public documentation (README, "Introspection").
GRAPHQL_INTROSPECTION = env_str("GRAPHQL_INTROSPECTION", "on", choices=("on", "off", "staff"))
# Leaky bucket of cost points per client (schema/throttle.py).
GRAPHQL_THROTTLE_ENABLED = env_bool("GRAPHQL_THROTTLE_ENABLED", True)
# Sized for a storefront (the reasoning is in schema/throttle.py): one client (user, API key)...
GRAPHQL_THROTTLE_BUCKET_SIZE = env_int("GRAPHQL_THROTTLE_BUCKET_SIZE", 10_000, minimum=0)
GRAPHQL_THROTTLE_RESTORE_RATE = env_float("GRAPHQL_THROTTLE_RESTORE_RATE", 500.0, minimum=0)
# ...and an address, shared by every anonymous visitor behind it.
GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE = env_int(
    "GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE", 20_000, minimum=0
)
GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE = env_float(
    "GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE", 1000.0, minimum=0
)
GRAPHQL_THROTTLE_CACHE = env_str("GRAPHQL_THROTTLE_CACHE", "default")
# Proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
GRAPHQL_TRUSTED_PROXIES = env_int("GRAPHQL_TRUSTED_PROXIES", 0, minimum=0)
# Caching of responses (schema/cache_control.py, schema/response_cache.py): the server-side
# cache of public responses, and the HTTP Cache-Control/ETag headers of GET queries.
GRAPHQL_RESPONSE_CACHE = env_bool("GRAPHQL_RESPONSE_CACHE", True)
GRAPHQL_RESPONSE_CACHE_ALIAS = env_str("GRAPHQL_RESPONSE_CACHE_ALIAS", "responses")
GRAPHQL_CACHE_CONTROL = env_bool("GRAPHQL_CACHE_CONTROL", True)
GRAPHQL_CACHE_STALE_WHILE_REVALIDATE = env_int("GRAPHQL_CACHE_STALE_WHILE_REVALIDATE", 30,
                                               minimum=0)
# Parsed + validated documents kept per process (schema/document_cache.py).
GRAPHQL_DOCUMENT_CACHE_SIZE = env_int("GRAPHQL_DOCUMENT_CACHE_SIZE", 500, minimum=0)
# Automatic persisted queries and the allow-list mode (schema/persisted_queries.py).
GRAPHQL_APQ_ENABLED = env_bool("GRAPHQL_APQ_ENABLED", True)
GRAPHQL_APQ_CACHE = env_str("GRAPHQL_APQ_CACHE", "default")
GRAPHQL_APQ_TTL = env_int("GRAPHQL_APQ_TTL", 7 * 24 * 3600, minimum=0)
GRAPHQL_PERSISTED_QUERIES_ONLY = env_bool("GRAPHQL_PERSISTED_QUERIES_ONLY", False)
GRAPHQL_PERSISTED_QUERIES_FILE = env_str("GRAPHQL_PERSISTED_QUERIES_FILE", "")
# Request bodies larger than this answer 413 REQUEST_TOO_LARGE (Django's default: 2.5 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=0)

# -- Subscriptions: websockets and SSE (subscriptions/, docs/subscriptions.md) ---------------
# Read where they are used, so tests may override them with `settings`.
# Time between a websocket's handshake and `connection_init`; then it closes with 4408.
SUBSCRIPTIONS_INIT_TIMEOUT = env_float("SUBSCRIPTIONS_INIT_TIMEOUT", 3.0, minimum=0)
# Operations (subscriptions and running queries) one connection may have active at once; one
# more is refused with an `error` message (TOO_MANY_OPERATIONS).
SUBSCRIPTIONS_MAX_OPERATIONS = env_int("SUBSCRIPTIONS_MAX_OPERATIONS", 100, minimum=1)
# The largest client message; a larger one closes the socket with 4400.
SUBSCRIPTIONS_MAX_MESSAGE_BYTES = env_int("SUBSCRIPTIONS_MAX_MESSAGE_BYTES", 64 * 1024, minimum=1)
# Subscription events waiting to be written to one slow client; past it the oldest waiting
# event is dropped (subscriptions/consumer.py, subscriptions/sse.py).
SUBSCRIPTIONS_SEND_QUEUE = env_int("SUBSCRIPTIONS_SEND_QUEUE", 100, minimum=1)
# The legacy protocol's `ka` interval and the SSE keep-alive comment's (the
# subscriptions-transport-ws client gives up after 30 s without one).
SUBSCRIPTIONS_KEEPALIVE = env_float("SUBSCRIPTIONS_KEEPALIVE", 12.0, minimum=0)
# The channel-layer group product events are sent to.
SUBSCRIPTIONS_GROUP = env_str("SUBSCRIPTIONS_GROUP", "products")
# How long published events stay in the outbox (subscriptions/outbox.py), for hubs catching up
# after the channel layer lost some.
SUBSCRIPTIONS_EVENT_RETENTION = env_float("SUBSCRIPTIONS_EVENT_RETENTION", 3600.0, minimum=0)
# How often a hub re-joins its group and reads the outbox for events the layer did not bring
# (with Redis only).
SUBSCRIPTIONS_CATCH_UP_INTERVAL = env_float("SUBSCRIPTIONS_CATCH_UP_INTERVAL", 2.0, minimum=0)
# A websocket whose send queue stays full this long is closed with 4008, before the server's
# keepalive would.
SUBSCRIPTIONS_SLOW_CLIENT_SECONDS = env_float(
    "SUBSCRIPTIONS_SLOW_CLIENT_SECONDS", 30.0, minimum=0
)
# Adds `extensions.committedAt` (the publisher's clock at commit, epoch seconds) to every
# event, which bench/fanout.py uses to measure commit-to-delivery latency.
SUBSCRIPTIONS_COMMIT_TIMESTAMPS = env_bool("SUBSCRIPTIONS_COMMIT_TIMESTAMPS", False)

# -- Outgoing webhooks (webhooks/, docs/webhooks.md) -------------------------------------------
# Django's task framework (the django-tasks backport): deliveries run on the "webhooks" queue,
# by default of the database backend: `manage.py db_worker --queue-name webhooks` (bin/run
# starts one).
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "webhooks"],
    }
}
# Hosts that may be webhook targets although they are not public (loopback, private): no SSRF
# check and plain http allowed for them. Comma-separated host names or IP addresses.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", "")
# Seconds before each retry (so 1 + len attempts); each delay varies by +/- WEBHOOK_RETRY_JITTER.
WEBHOOK_RETRY_SCHEDULE = env_float_list(
    "WEBHOOK_RETRY_SCHEDULE", "5,60,300,1800,7200,28800,43200", minimum=0
)
WEBHOOK_RETRY_JITTER = env_float("WEBHOOK_RETRY_JITTER", 0.2, minimum=0)
# One attempt's whole budget (connect, send, response); never more than 10 s.
WEBHOOK_TIMEOUT_SECONDS = min(env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0), 10.0)
# An endpoint is disabled after this many deliveries in a row failed for good.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 10, minimum=0)
# How long the old secret still signs (beside the new one) after a rotation, by default.
WEBHOOK_SECRET_GRACE_SECONDS = env_int("WEBHOOK_SECRET_GRACE_SECONDS", 86_400, minimum=0)

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
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
