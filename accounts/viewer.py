"""Who is asking, as the rules see it: the one definition of "signed in" and "staff".

Every rule (visibility, permissions, the introspection policy, subscriber grouping) asks
these, so an inactive account is neither signed in nor staff anywhere. (An API key's requests
are its owner's: they are signed in, or staff, as the owner is; the key only narrows what it
may manage, see accounts/permissions.py.)
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied


class NotAuthenticated(PermissionDenied):
    """The operation needs a viewer who is (validly) signed in: UNAUTHENTICATED to clients.

    Like Django's PermissionDenied and ObjectDoesNotExist, which services raise for FORBIDDEN
    and NOT_FOUND, it names the rule, not a transport; schema/errors.py maps all three.
    """


def is_signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_staff(user: Any) -> bool:
    return is_signed_in(user) and bool(user.is_staff)
