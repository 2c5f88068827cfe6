from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path

from schema.view import VitrineGraphQLView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", VitrineGraphQLView.as_view(graphiql=True), name="graphql"),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
