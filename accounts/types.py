"""Users as the API shows them: public fields only, email to its owner."""
from __future__ import annotations

import graphene
from django.contrib.auth import get_user_model
from graphene_django import DjangoObjectType

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
