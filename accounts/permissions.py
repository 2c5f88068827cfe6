"""Who may write what: the one place every mutation asks.

Reads are public under the visibility rule (products/visibility.py);
this module only decides writes. `can_*` answer, `require_*` raise the coded error
(UNAUTHENTICATED for anonymous viewers, FORBIDDEN otherwise). Looking an object up (and
answering NOT_FOUND for one the viewer may not see) is the caller's job, done before these.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from accounts.viewer import NotAuthenticated, is_signed_in, is_staff

if TYPE_CHECKING:
    from products.models import Product, Review


def require_authenticated(user, message: str = "Sign in to do this.") -> None:
    if not is_signed_in(user):
        raise NotAuthenticated(message)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# Products ------------------------------------------------------------------------------------

def can_create_product(user) -> bool:
    return is_signed_in(user) and (is_staff(user) or user.has_perm("products.add_product"))


def can_change_product(user, product: Product) -> bool:
    return is_signed_in(user) and (
        is_staff(user)
        or product.created_by_id == user.pk
        or user.has_perm("products.change_product")
    )


def can_delete_product(user, product: Product) -> bool:
    return is_signed_in(user) and (
        is_staff(user)
        or product.created_by_id == user.pk
        or user.has_perm("products.delete_product")
    )


def require_create_product(user) -> None:
    require_authenticated(user, "Sign in to create products.")
    _require(can_create_product(user), "You may not create products.")


def require_change_product(user, product: Product) -> None:
    require_authenticated(user, "Sign in to change products.")
    _require(can_change_product(user, product), "You may not change this product.")


def require_delete_product(user, product: Product) -> None:
    require_authenticated(user, "Sign in to delete products.")
    _require(can_delete_product(user, product), "You may not delete this product.")


# Reviews and favorites -----------------------------------------------------------------------

def can_change_review(user, review: Review) -> bool:
    return is_signed_in(user) and review.author_id == user.pk


def can_delete_review(user, review: Review) -> bool:
    """The author, or staff moderating."""
    return is_signed_in(user) and (review.author_id == user.pk or is_staff(user))


def require_review(user) -> None:
    require_authenticated(user, "Sign in to review products.")


def require_change_review(user, review: Review) -> None:
    require_authenticated(user, "Sign in to change reviews.")
    _require(can_change_review(user, review), "Only its author may change a review.")


def require_delete_review(user, review: Review) -> None:
    require_authenticated(user, "Sign in to delete reviews.")
    _require(can_delete_review(user, review), "Only its author may delete a review.")


# Orders --------------------------------------------------------------------------------------

def require_order(user) -> None:
    require_authenticated(user, "Sign in to place orders.")


# Accounts ------------------------------------------------------------------------------------

def require_manage_api_keys(request) -> None:
    """Keys are managed with a password-backed sign-in, so a leaked key cannot mint more."""
    require_authenticated(request.user, "Sign in to manage API keys.")
    if getattr(request, "auth_method", None) == "api_key":
        raise PermissionDenied("API keys cannot create or revoke API keys; sign in with a token.")
