"""File uploads: the `Upload` scalar and the GraphQL multipart request spec.

https://github.com/jaydenseric/graphql-multipart-request-spec — a `multipart/form-data` POST
with an `operations` field (the usual JSON body, files as `null`), a `map` field
(`{"0": ["variables.file"]}`) and one form field per file. `parse_multipart` turns that into
the usual `{query, variables, operationName}` with Django's `UploadedFile`s in the variables.

Multipart forms are "simple" requests a foreign site can send with the user's cookies, so such
a request must carry a header a browser only sends after a CORS preflight (CSRF protection).
"""
from __future__ import annotations

import json
from typing import Any, NoReturn

import graphene
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from graphql import GraphQLError

PREFLIGHT_HEADERS = (
    "HTTP_AUTHORIZATION",
    "HTTP_X_API_KEY",
    "HTTP_GRAPHQL_REQUIRE_PREFLIGHT",
    "HTTP_APOLLO_REQUIRE_PREFLIGHT",
    "HTTP_X_REQUESTED_WITH",
)


class Upload(graphene.Scalar):  # type: ignore[misc]  # graphene is untyped
    """A file sent with the request following the GraphQL multipart request spec."""

    @staticmethod
    def serialize(value: Any) -> NoReturn:
        raise GraphQLError("Upload is an input-only scalar.")

    @staticmethod
    def parse_literal(node: Any, _variables: Any = None) -> NoReturn:
        raise GraphQLError("Upload values must be sent as files in a multipart request.")

    @staticmethod
    def parse_value(value: Any) -> UploadedFile[Any]:
        if not isinstance(value, UploadedFile):
            raise GraphQLError("Upload values must be sent as files in a multipart request.")
        return value


class MultipartError(ValueError):
    """The multipart request does not follow the spec."""


def parse_multipart(request: HttpRequest) -> dict[str, Any]:
    if not any(request.META.get(header) for header in PREFLIGHT_HEADERS):
        raise MultipartError(
            "Multipart requests must send a preflight header such as "
            "`GraphQL-Require-Preflight: 1` (CSRF protection)."
        )
    if "operations" not in request.POST:
        raise MultipartError("Multipart requests need an `operations` field.")
    try:
        operations = json.loads(request.POST["operations"])
        file_map = json.loads(request.POST.get("map", "{}"))
    except ValueError:
        raise MultipartError("`operations` and `map` must be JSON.") from None
    if not isinstance(operations, dict):
        raise MultipartError("`operations` must be one operation (batching is not supported).")
    if not isinstance(file_map, dict):
        raise MultipartError("`map` must be an object of file field names to paths.")
    for field_name, paths in file_map.items():
        if field_name not in request.FILES:
            raise MultipartError(f"File field `{field_name}` named in `map` is missing.")
        if not isinstance(paths, list) or not paths:
            raise MultipartError(f"`map.{field_name}` must be a list of paths.")
        for path in paths:
            _place(operations, path, request.FILES[field_name])
    return operations


def _place(operations: dict[str, Any], path: Any, upload: object) -> None:
    if not isinstance(path, str) or not path.startswith("variables."):
        raise MultipartError(f"Path {path!r} must point into `variables`.")
    parts = path.split(".")
    target: Any = operations
    for part in parts[:-1]:
        target = _step(target, part, path)
    last = parts[-1]
    if isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = upload
    elif isinstance(target, dict) and last in target:
        target[last] = upload
    else:
        raise MultipartError(f"Path {path!r} does not exist in `operations`.")


def _step(target: Any, part: str, path: str) -> Any:
    if isinstance(target, dict) and part in target:
        return target[part]
    if isinstance(target, list) and part.isdigit() and int(part) < len(target):
        return target[int(part)]
    raise MultipartError(f"Path {path!r} does not exist in `operations`.")
