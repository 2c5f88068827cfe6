import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from graphql_jwt.decorators import jwt_cookie
from health_check.checks import Cache, Database

from products.media import serve_media
from project.health import ChannelLayer, HealthView
from schema.view import VitrineGraphQLView
from subscriptions.sse import EventStream

urlpatterns = [
    path("admin/", admin.site.urls),
    # Liveness and readiness probes (project/health.py, docs/operations.md).
    path("healthz", HealthView.as_view(checks=()), name="healthz"),
    path("readyz", HealthView.as_view(checks=(Database, Cache, ChannelLayer)), name="readyz"),
    # jwt_cookie: sets the HttpOnly JWT cookies when tokenAuth/refreshToken ask for them.
    path("graphql/", jwt_cookie(
        VitrineGraphQLView.as_view(graphiql=True, event_stream=EventStream)
    ), name="graphql"),
]

if settings.SERVE_MEDIA:
    # With DEBUG off too (django.conf.urls.static serves only under DEBUG): uploads and the
    # demo images work under bin/run and a single-host deployment. Behind a CDN
    # (MEDIA_BASE_URL), SERVE_MEDIA is off unless the CDN pulls from this path.
    media_prefix = urlsplit(settings.MEDIA_URL).path.strip("/") or "media"
    urlpatterns.append(re_path(
        rf"^{re.escape(media_prefix)}/(?P<path>.+)$", serve_media,
        {"document_root": settings.MEDIA_ROOT}, name="media",
    ))
