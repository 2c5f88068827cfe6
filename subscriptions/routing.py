"""Websocket routes: the GraphQL websocket transport shares the HTTP path, /graphql/."""
from django.urls import path

from subscriptions.consumer import GraphQLWebsocketConsumer

websocket_urlpatterns: list = [
    path("graphql/", GraphQLWebsocketConsumer.as_asgi(), name="graphql-ws"),
]
