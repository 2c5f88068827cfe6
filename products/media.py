"""Media files: the URL a client gets for a stored file, serving them, recording image sizes."""
from __future__ import annotations

import mimetypes
from typing import cast

from django.core.files.storage import FileSystemStorage
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.encoding import filepath_to_uri
from django.views.static import serve

# What the app serves from MEDIA_ROOT: raster images only. Uploads keep the client's file
# name, so a file named "x.html" or "x.svg" that Pillow accepts as an image must never be
# served with a type a browser would run as a document on our origin.
SERVED_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
})


def media_url(file, context=None) -> str:
    """The absolute URL of a stored `file` (a FieldFile) for the client of `context`.

    Clients use the URL as is (an <img src>, a native app, a CDN cache key), and a relative
    one only works for a browser page on the API's own origin, so it is absolute:

    - with MEDIA_BASE_URL set (a CDN), settings make it MEDIA_URL, and the storage's URL is
      already absolute: the same for every viewer;
    - else it is resolved against the request (`build_absolute_uri`: its scheme and its
      Host, which ALLOWED_HOSTS has validated);
    - a context without a request (websocket operations, whose results are shared by all
      subscribers of a group, whatever host each connected to) keeps the storage's
      site-relative URL: set MEDIA_BASE_URL for absolute URLs there too.
    """
    return absolute_url(file.url, context)


def file_url(instance: models.Model, field_name: str, context=None) -> str:
    """`media_url` of a model's file field, read without building its FieldFile.

    A FieldFile references its instance and the instance keeps it: each image row of a page
    would be a reference cycle, left for the garbage collector instead of being freed when
    the response is written.
    """
    field = instance._meta.get_field(field_name)
    assert isinstance(field, models.FileField)
    value = vars(instance).get(field.attname)
    if value is None:  # deferred: load it the usual way
        return media_url(getattr(instance, field_name), context)
    name = value.name if hasattr(value, "name") else value
    storage = field.storage
    if storage.__class__ is FileSystemStorage:  # through default_storage's lazy proxy
        # What FileSystemStorage.url returns, without its urljoin (a few µs, per image), its
        # base resolved once per request.
        return media_base(cast(FileSystemStorage, storage), context) + filepath_to_uri(
            name).lstrip("/")
    return absolute_url(storage.url(name), context)


def media_base(storage: FileSystemStorage, context) -> str:
    """The storage's base URL, absolute for this request (`absolute_url`), once per request."""
    base = getattr(context, "_vitrine_media_base", None)
    if base is None:
        base = absolute_url(storage.base_url, context)
        if context is not None:
            context._vitrine_media_base = base
    return base


def absolute_url(url: str, context=None) -> str:
    if not url.startswith("/") or url.startswith("//"):
        return url  # already absolute (or scheme-relative): MEDIA_BASE_URL
    origin = request_origin(context)
    return origin + url if origin else url


def request_origin(context) -> str | None:
    """`https://host` of the request, worked out once per request (a page has many images).
    None for a context that is not an HTTP request."""
    origin = getattr(context, "_vitrine_origin", None)
    if origin is None:
        build_absolute_uri = getattr(context, "build_absolute_uri", None)
        if not callable(build_absolute_uri):
            return None
        origin = build_absolute_uri("/")[:-1]
        context._vitrine_origin = origin
    return origin


def serve_media(request: HttpRequest, path: str, document_root) -> HttpResponse:
    """A file below `document_root` (django.views.static.serve: no path escapes it), if it
    is a raster image; anything else is a 404."""
    content_type, encoding = mimetypes.guess_type(path)
    if content_type not in SERVED_TYPES or encoding:
        raise Http404("No such image.")
    response = serve(request, path, document_root=document_root)
    if isinstance(response, FileResponse):
        # Django's ASGI handler reads a synchronous stream whole anyway (in a thread, with a
        # warning): read it here, in the view's thread.
        try:
            whole = HttpResponse(b"".join(response.streaming_content))  # type: ignore[arg-type]
        finally:
            response.close()
        for header, value in response.items():
            whole[header] = value
        response = whole
    # A browser opening it directly gets no active content, whatever the bytes are.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class SizedImageField(models.ImageField):
    """An ImageField that fills width_field/height_field when a file is assigned or saved,
    never when a row is loaded.

    Django's own also measures, on every model instantiation (post_init), each image whose
    dimension fields are empty: rows from before those fields existed, or whose file could
    not be measured, would open their file from storage at every load, and raise when it is
    missing. Here such rows load with null dimensions instead.
    """

    def update_dimension_fields(self, instance, force=False, *args, **kwargs):
        if force:  # an assignment, including FieldFile.save() on the way to the database
            super().update_dimension_fields(instance, True, *args, **kwargs)
