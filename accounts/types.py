"""Users as the API shows them: public fields only, email to its owner."""
from __future__ import annotations

import graphene
from django.contrib.auth import get_user_model
from graphene_django import DjangoObjectType

from accounts.models import ApiKey
from dataloaders.accounts import UserByIdLoader
from dataloaders.registry import get_loader
from schema.node import Node


class UserType(DjangoObjectType):
    email = graphene.String(description="Only for the user themself.")

    class Meta:
        model = get_user_model()
        name = "User"
        interfaces = (Node,)
        fields = ("id", "username", "first_name", "date_joined")

    @classmethod
    def get_node(cls, info, id):
        return get_loader(info, UserByIdLoader).load(id)

    def resolve_email(self, info) -> str | None:
        return self.email if info.context.user.pk == self.pk else None


class ApiKeyType(DjangoObjectType):
    """One of the viewer's API keys. The secret is never shown again after creation."""

    prefix = graphene.String(
        required=True, description="The key's public start (`vit_…`), to tell keys apart."
    )

    class Meta:
        model = ApiKey
        name = "ApiKey"
        interfaces = (Node,)
        fields = ("id", "name", "prefix", "is_active", "expires_at", "last_used", "created_at")

    @classmethod
    def get_node(cls, info, id):
        user = info.context.user
        if not user.is_authenticated:
            return None
        return ApiKey.objects.filter(owner=user, pk=id).first()
