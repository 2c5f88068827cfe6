"""Loaders for users' public profiles."""
from typing import Any

from django.contrib.auth import get_user_model

from accounts.models import ApiKey
from accounts.viewer import is_signed_in
from dataloaders.loader import Loader
from dataloaders.rows import lean_rows

# What the User type can show, and nothing else: no password hash, no permissions.
PUBLIC_COLUMNS = ("id", "username", "first_name", "date_joined", "email")


class UserByIdLoader(Loader):
    def batch_load(self, keys: list[Any]) -> list[Any]:
        rows = lean_rows(get_user_model().objects.filter(pk__in=keys).order_by(), PUBLIC_COLUMNS)
        users = {user.pk: user for user in rows}
        return [users.get(key) for key in keys]


class ApiKeyByIdLoader(Loader):
    """API key id → the key if it is the viewer's own, else None."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        user = self.context.user
        if not is_signed_in(user):
            return [None] * len(keys)
        api_keys = ApiKey.objects.filter(owner=user).in_bulk(keys)
        return [api_keys.get(key) for key in keys]
