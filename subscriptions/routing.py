"""Websocket routes: the GraphQL websocket transport shares the HTTP path, /graphql/."""
from typing import Any

from django.urls import path

from subscriptions.consumer import GraphQLWebsocketConsumer

websocket_urlpatterns: list[Any] = [
    # Channels' URLRouter takes ASGI applications where Django's `path` expects views.
    path("graphql/", GraphQLWebsocketConsumer.as_asgi(), name="graphql-ws"),  # type: ignore[arg-type]
]
