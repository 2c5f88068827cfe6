"""Loaders for users' public profiles."""
from django.contrib.auth import get_user_model

from dataloaders.loader import Loader
from dataloaders.rows import lean_rows

# What the User type can show, and nothing else: no password hash, no permissions.
PUBLIC_COLUMNS = ("id", "username", "first_name", "date_joined", "email")


class UserByIdLoader(Loader):
    def batch_load(self, keys):
        rows = lean_rows(get_user_model().objects.filter(pk__in=keys).order_by(), PUBLIC_COLUMNS)
        users = {user.pk: user for user in rows}
        return [users.get(key) for key in keys]
