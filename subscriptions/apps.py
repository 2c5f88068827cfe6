from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "GraphQL subscriptions"

    def ready(self) -> None:
        from subscriptions import events

        events.connect_signals()
