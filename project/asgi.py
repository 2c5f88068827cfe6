"""The ASGI entry point: HTTP through Django, websockets through Channels."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from project.collector import settle_after_startup  # noqa: E402
from subscriptions.origin import BrowserOriginValidator  # noqa: E402
from subscriptions.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # No channels AuthMiddlewareStack: the consumer reads the JWT or session cookie itself,
        # only when connection_init carries no credential (accounts.auth.authenticate_params).
        # The stack's scope copies would cost every idle connection about 6 KiB.
        "websocket": BrowserOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

settle_after_startup()
