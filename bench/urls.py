from django.urls import path

from bench.handwritten import catalog_page
from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("bench/catalog/", catalog_page),
]
