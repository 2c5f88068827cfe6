"""Settings are read from the environment by project/env.py's typed readers: a value that
cannot be read stops start-up with a message naming the variable and the value."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_float, env_float_list, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent


def start_django(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("GRAPHQL_", "SUBSCRIPTIONS_", "WEBHOOK_"))}
    environment |= {"DJANGO_SETTINGS_MODULE": "project.settings", "DEBUG": "1", **variables}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("GRAPHQL_MAX_DEPTH", "abc", "GRAPHQL_MAX_DEPTH='abc' is not a whole number"),
    ("GRAPHQL_APQ_TTL", "1 week", "GRAPHQL_APQ_TTL='1 week' is not a whole number"),
    ("GRAPHQL_THROTTLE_RESTORE_RATE", "fast", "GRAPHQL_THROTTLE_RESTORE_RATE='fast' is not a"),
    ("SUBSCRIPTIONS_SEND_QUEUE", "0", "SUBSCRIPTIONS_SEND_QUEUE='0' is not at least 1"),
    ("GRAPHQL_THROTTLE_ENABLED", "maybe", "GRAPHQL_THROTTLE_ENABLED='maybe' is not a boolean"),
    ("GRAPHQL_INTROSPECTION", "public", "GRAPHQL_INTROSPECTION='public' is not one of"),
    ("WEBHOOK_RETRY_SCHEDULE", "5,soon", "WEBHOOK_RETRY_SCHEDULE='5,soon': 'soon' is not a number"),
])
def test_a_bad_value_stops_start_up_naming_its_variable(variable, value, says):
    started = start_django(**{variable: value})
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr, started.stderr
    assert says in started.stderr, started.stderr


def test_good_values_are_read_as_their_types():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.GRAPHQL_MAX_DEPTH, s.SUBSCRIPTIONS_KEEPALIVE,"
            " s.SUBSCRIPTIONS_COMMIT_TIMESTAMPS, s.WEBHOOK_RETRY_SCHEDULE,"
            " s.GRAPHENE['RELAY_CONNECTION_MAX_LIMIT'])")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "DEBUG": "1",
                   "GRAPHQL_MAX_DEPTH": " 7 ", "SUBSCRIPTIONS_KEEPALIVE": "0.5",
                   "SUBSCRIPTIONS_COMMIT_TIMESTAMPS": "1", "WEBHOOK_RETRY_SCHEDULE": "1, 2.5"}
    started = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["7", "0.5", "True", "[1.0,", "2.5]", "100"]


def test_the_readers(monkeypatch):
    monkeypatch.delenv("VITRINE_TEST_VALUE", raising=False)
    assert env_int("VITRINE_TEST_VALUE", 3) == 3
    assert env_str("VITRINE_TEST_VALUE", "x") == "x"
    assert env_list("VITRINE_TEST_VALUE", "a, b,") == ["a", "b"]
    monkeypatch.setenv("VITRINE_TEST_VALUE", "  ")
    assert env_float("VITRINE_TEST_VALUE", 1.5) == 1.5  # blank: the default
    assert env_bool("VITRINE_TEST_VALUE", True) is True
    assert env_list("VITRINE_TEST_VALUE", "a") == []  # set but empty: no items
    monkeypatch.setenv("VITRINE_TEST_VALUE", "Off")
    assert env_bool("VITRINE_TEST_VALUE", True) is False
    monkeypatch.setenv("VITRINE_TEST_VALUE", "10_000")
    assert env_int("VITRINE_TEST_VALUE", 0) == 10_000
    for value, read in [("nan", env_float), ("1.5", env_int), ("-1", env_int)]:
        monkeypatch.setenv("VITRINE_TEST_VALUE", value)
        with pytest.raises(ImproperlyConfigured, match=f"VITRINE_TEST_VALUE='{value}'"):
            read("VITRINE_TEST_VALUE", 0, minimum=0)
    monkeypatch.setenv("VITRINE_TEST_VALUE", "1,-2")
    with pytest.raises(ImproperlyConfigured, match="'-2' is less than 0"):
        env_float_list("VITRINE_TEST_VALUE", minimum=0)
