"""Which websocket handshakes may reach the consumer, judged by their Origin header."""
from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    """Refuse cross-site browser pages; let non-browser clients (no Origin) through.

    Browsers always send Origin, so a page on another site cannot ride a visitor's cookies
    into a subscription. Node, mobile and server clients send none and authenticate with
    the `connection_init` payload instead; channels' AllowedHostsOriginValidator would
    refuse them outright.
    """

    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)
