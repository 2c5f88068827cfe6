"""Settings for benchmarks: production-like (DEBUG off) on a seeded SQLite catalog."""
import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "vitrine-benchmark-secret-key-not-for-production")
os.environ.setdefault(
    "DATABASE_URL", f"sqlite:///{Path(__file__).resolve().parent.parent / 'var' / 'bench.sqlite3'}"
)
os.environ["DEBUG"] = "0"  # graphene-django adds per-field debug middleware under DEBUG.

from project.settings import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
