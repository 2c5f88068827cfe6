"""Websocket routes. The GraphQL websocket transport joins here at /graphql/."""
websocket_urlpatterns: list = []
