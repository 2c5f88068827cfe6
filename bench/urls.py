from importlib.util import find_spec

from django.urls import path

from bench.handwritten import catalog_page
from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("bench/catalog/", catalog_page),
]

# The DRF baseline needs the bench extra (pip install -e '.[bench]'); the rest runs without.
if find_spec("rest_framework") is not None:
    from bench.drf import catalog_page as drf_catalog_page

    urlpatterns.append(path("bench/drf/catalog/", drf_catalog_page))
