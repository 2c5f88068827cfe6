"""Typed reads of environment variables, for project/settings.py.

Each reader returns the variable's value as its type, or `default` when the variable is unset
(or, but for the lists, blank), and raises ImproperlyConfigured naming the variable and the
value it could not read (`GRAPHQL_MAX_DEPTH='abc' is not a whole number`), so a bad
deployment fails at start-up with a message that says what to fix.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

N = TypeVar("N", int, float)

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or not value.strip() else value.strip()


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not {expected}.")


def _number(name: str, value: str, kind: Callable[[str], N], expected: str,
            minimum: float | None, maximum: float | None) -> N:
    try:
        number = kind(value)
    except ValueError:
        raise _bad(name, value, expected) from None
    if not math.isfinite(number):
        raise _bad(name, value, "a finite number")
    if minimum is not None and number < minimum:
        raise _bad(name, value, f"at least {minimum}")
    if maximum is not None and number > maximum:
        raise _bad(name, value, f"at most {maximum}")
    return number


def env_str(name: str, default: str, *, choices: Iterable[str] | None = None) -> str:
    """The variable's text (surrounding white space removed); one of `choices` if given."""
    value = _raw(name)
    if value is None:
        return default
    options = None if choices is None else tuple(choices)
    if options is not None and value not in options:
        raise _bad(name, value, "one of " + ", ".join(repr(option) for option in options))
    return value


def env_int(name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """A whole number (`10_000` too), within `minimum`..`maximum` if given."""
    value = _raw(name)
    if value is None:
        return default
    return _number(name, value, lambda text: int(text.replace("_", "")), "a whole number",
                   minimum, maximum)


def env_float(name: str, default: float, *, minimum: float | None = None,
              maximum: float | None = None) -> float:
    """A finite number, within `minimum`..`maximum` if given."""
    value = _raw(name)
    return default if value is None else _number(name, value, float, "a number", minimum,
                                                 maximum)


def env_bool(name: str, default: bool) -> bool:
    """1/true/yes/on or 0/false/no/off, in any case."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise _bad(name, value, "a boolean (1/true/yes/on or 0/false/no/off)")


def env_list(name: str, default: str = "") -> list[str]:
    """Comma-separated items, blank ones skipped. Unset, the items of `default`; set but
    empty, none (`WEBHOOK_ALLOWED_HOSTS=` means no host)."""
    value = os.environ.get(name, default)
    return [part.strip() for part in value.split(",") if part.strip()]


def env_float_list(name: str, default: str = "", *, minimum: float | None = None
                   ) -> list[float]:
    """Comma-separated numbers (`WEBHOOK_RETRY_SCHEDULE=5,60,300`)."""
    numbers = []
    for part in env_list(name, default):
        try:
            number = float(part)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}={os.environ.get(name, default)!r}: {part!r} is not a number."
            ) from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(
                f"{name}={os.environ.get(name, default)!r}: {part!r} is less than {minimum}."
            )
        numbers.append(number)
    return numbers
