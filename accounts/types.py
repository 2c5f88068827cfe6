"""Users as the API shows them: public fields only, email and favorites to their owner."""
from __future__ import annotations

from typing import cast

import graphene
from django.contrib.auth import get_user_model
from graphene_django import DjangoObjectType
from graphene_django.registry import get_global_registry

from accounts.models import ApiKey
from accounts.viewer import is_signed_in
from dataloaders.accounts import ApiKeyByIdLoader, UserByIdLoader
from dataloaders.catalog import FavoritedLoader
from dataloaders.registry import get_loader
from products.models import Favorite, Product
from schema.cache_control import cache_hint
from schema.cursors import encode
from schema.descriptions import describe_fields
from schema.node import Node
from schema.pagination import Connection, Edge, PageInfo, paginate
from schema.per_viewer import per_viewer


def _product_connection():
    # The catalog's connection type, found through graphene-django's registry rather than by
    # importing another app's GraphQL module.
    return get_global_registry().get_type_for_model(Product)._meta.connection


class FavoriteEdge(Edge):
    """A favorites edge: its node is the product, its cursor names the favorite (the list is
    ordered by when each product was favorited)."""

    __slots__ = ("favorite",)

    def __init__(self, favorite: Favorite, ordering) -> None:
        super().__init__(favorite.product, ordering)
        self.favorite = favorite

    @property
    def cursor(self) -> str:
        return encode(self.ordering, self.favorite)


# The public profile (`email` and `favorites` are per-viewer, so private).
@cache_hint(max_age=300)
@describe_fields(
    username="Unique sign-in name, up to 150 characters: letters, digits and @ . + - _.",
    first_name="Given name as the user entered it; empty when not given.",
    date_joined="When the account was created.",
)
class UserType(DjangoObjectType):
    """An account, as anyone may see it: the public profile of a review's author or a
    product's creator. `email` and `favorites` only for the user themself."""

    email = per_viewer(graphene.String(description="Only for the user themself."))
    favorites = per_viewer(graphene.Field(
        _product_connection,
        first=graphene.Int(description="At most this many favorites (1 to 100), from the newest."),
        after=graphene.String(description="Continue after this cursor (`edges.cursor`)."),
        last=graphene.Int(description="At most this many favorites (1 to 100), up to `before`."),
        before=graphene.String(description="Continue before this cursor (`edges.cursor`)."),
        description=(
            "The products this user favorited (`toggleFavorite`), the most recently favorited "
            "first. Only for the user themself (`me { favorites }`): null on any other user, "
            "staff included. Lists only products the user may still see: a product unpublished "
            "since by its creator drops out. Pages of at most 100 (100 when neither `first` "
            "nor `last` is given); cursors follow the time of favoriting, so favoriting or "
            "unfavoriting meanwhile neither repeats nor skips a product."
        ),
    ))

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

    def resolve_favorites(self, info, **args) -> Connection | None:
        viewer = info.context.user
        if not is_signed_in(viewer) or viewer.pk != self.pk:
            return None
        visible = Product.objects.visible_to(viewer).values("pk")
        favorites = (
            Favorite.objects.filter(user=viewer, product__in=visible)
            .select_related("product")
            .order_by("-created_at", "-pk")
        )
        request, page = paginate(favorites, args)
        edges = [FavoriteEdge(cast(Favorite, favorite), request.ordering)
                 for favorite in page.rows]
        # `isFavorited` of these products is known: true, without a query.
        favorited = get_loader(info, FavoritedLoader)
        for edge in edges:
            favorited.prime(edge.node.pk, True)
        return Connection(edges, PageInfo(edges, page), favorites.count)


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
        return get_loader(info, ApiKeyByIdLoader).load(id)
