"""Settings for benchmarks: production-like (DEBUG off) on a seeded SQLite catalog."""
import os
import warnings
from pathlib import Path

VAR_DIR = Path(__file__).resolve().parent.parent / "var"
VAR_DIR.mkdir(exist_ok=True)  # git ignores var/: a fresh clone has none, and SQLite needs it
os.environ.setdefault("SECRET_KEY", "vitrine-benchmark-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bench.sqlite3'}")
os.environ["DEBUG"] = "0"  # graphene-django adds per-field debug middleware under DEBUG.
# Image URLs on a CDN: the hand-written view (default_storage.url) then returns exactly the
# URLs the schema does; without one, the schema's are absolute on the request's host.
os.environ.setdefault("MEDIA_BASE_URL", "https://cdn.example.com/media/")

from project.settings import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}
# WhiteNoise looks for collected static files, which a benchmark does not need.
warnings.filterwarnings("ignore", "No directory at", UserWarning)
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# One client sends thousands of requests a second: the cost throttle would answer 429s, and
# the 100-product page costs 1,902 points (over the default 1,000). The cost computation and
# its bookkeeping still run; only the bucket and the refusal are off.
GRAPHQL_THROTTLE_ENABLED = False
GRAPHQL_MAX_COST = 10_000
