from django.apps import AppConfig


class SchemaConfig(AppConfig):
    name = "schema"
    verbose_name = "GraphQL schema"

    def ready(self) -> None:
        from schema import response_cache

        response_cache.connect_signals()
