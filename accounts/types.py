"""Users as the API shows them: public fields only, email to its owner."""
from __future__ import annotations

import graphene
from django.contrib.auth import get_user_model
from graphene_django import DjangoObjectType

from accounts.models import ApiKey
from dataloaders.accounts import UserByIdLoader
from dataloaders.registry import get_loader
from schema.descriptions import describe_fields
from schema.node import Node


@describe_fields(
    username="Unique sign-in name, up to 150 characters: letters, digits and @ . + - _.",
    first_name="Given name as the user entered it; empty when not given.",
    date_joined="When the account was created.",
)
class UserType(DjangoObjectType):
    """An account, as anyone may see it: the public profile of a review's author or a
    product's creator. `email` and `favorites` only for the user themself."""

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


@describe_fields(
    name="What the key is for, as given to `createApiKey`.",
    is_active="False once revoked (`revokeApiKey`); a revoked key is refused.",
    expires_at="When the key stops working; null when it never expires.",
    last_used="When the key last authenticated a request (noted at most once a minute); "
    "null if never used.",
    created_at="When the key was created.",
)
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
