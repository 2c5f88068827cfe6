"""Loaders for users' public profiles."""
from django.contrib.auth import get_user_model

from dataloaders.loader import Loader


class UserByIdLoader(Loader):
    def batch_load(self, keys):
        users = get_user_model().objects.in_bulk(keys)
        return [users.get(key) for key in keys]
