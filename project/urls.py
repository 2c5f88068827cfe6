from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path
from graphql_jwt.decorators import jwt_cookie

from schema.view import VitrineGraphQLView

urlpatterns = [
    path("admin/", admin.site.urls),
    # jwt_cookie: sets the HttpOnly JWT cookies when tokenAuth/refreshToken ask for them.
    path("graphql/", jwt_cookie(VitrineGraphQLView.as_view(graphiql=True)), name="graphql"),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
