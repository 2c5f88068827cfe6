"""setProductImages over the GraphQL multipart request spec, with real files on disk."""
from __future__ import annotations

import io
import json
import mimetypes
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from graphql_relay import to_global_id
from PIL import Image

from products.models import ProductImage
from tests.conftest import GraphQLClient, error_codes

SET_IMAGES = """
mutation($input: SetProductImagesInput!) {
  setProductImages(input: $input) {
    product { slug images { url altText isPrimary position width height } }
    images { url isPrimary }
    errors { field message code }
  }
}"""
# Image URLs are absolute, on the host of the request (Django's test client: testserver).
MEDIA = "http://testserver/media/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def png(name="pixel.png", color=(200, 30, 30), size=(2, 2)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def upload(client: GraphQLClient, product, files: dict, images: list[dict], **headers):
    """POST a spec-conformant multipart request: operations, map, then the file parts."""
    operations = {
        "query": SET_IMAGES,
        "variables": {"input": {"product": to_global_id("Product", product.pk),
                                "images": images}},
    }
    file_map = {key: [f"variables.input.images.{index}.file"]
                for index, key in enumerate(files)}
    headers.setdefault("HTTP_GRAPHQL_REQUIRE_PREFLIGHT", "1")
    response = client.http.post(
        "/graphql/",
        {"operations": json.dumps(operations), "map": json.dumps(file_map), **files},
        **headers,
    )
    return response


def test_creator_uploads_images_and_gets_their_urls(viewers, catalog, media_root):
    amp = catalog["products"]["amp"]
    response = upload(
        viewers["creator"], amp, {"0": png(), "1": png("second.png", (0, 0, 255), (3, 5))},
        [{"file": None, "altText": "Front"}, {"file": None, "isPrimary": True}],
    )
    assert response.status_code == 200, response.content
    payload = response.json()["data"]["setProductImages"]
    assert payload["errors"] == []
    images = payload["product"]["images"]
    assert [(image["altText"], image["isPrimary"]) for image in images] == [
        ("", True), ("Front", False)]  # primary first
    assert [(image["width"], image["height"]) for image in images] == [(3, 5), (2, 2)]
    for image in images:
        assert image["url"].startswith(MEDIA + "products/")
        stored = media_root / image["url"].removeprefix(MEDIA)
        assert stored.is_file()
        assert Image.open(stored).size == (image["width"], image["height"])
    assert sorted(ProductImage.objects.filter(product=amp).values_list("width", "height")) == [
        (2, 2), (3, 5)]


def test_replacing_images_removes_the_old_files_after_commit(
    viewers, catalog, media_root, django_capture_on_commit_callbacks
):
    amp = catalog["products"]["amp"]
    first = upload(viewers["creator"], amp, {"0": png()}, [{"file": None}]).json()
    old_url = first["data"]["setProductImages"]["images"][0]["url"]
    with django_capture_on_commit_callbacks(execute=True):
        upload(viewers["creator"], amp, {"0": png("new.png")}, [{"file": None}])
    assert not (media_root / old_url.removeprefix(MEDIA)).exists()
    assert ProductImage.objects.filter(product=amp).count() == 1


def test_a_file_that_is_not_an_image_is_a_field_error(viewers, catalog):
    amp = catalog["products"]["amp"]
    fake = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")
    response = upload(viewers["creator"], amp, {"0": png(), "1": fake},
                      [{"file": None}, {"file": None}])
    payload = response.json()["data"]["setProductImages"]
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("images.1.file", "INVALID_IMAGE")}
    assert not ProductImage.objects.filter(product=amp).exists()


def test_too_large_images_are_refused(viewers, catalog, settings):
    settings.UPLOAD_MAX_IMAGE_BYTES = 10
    amp = catalog["products"]["amp"]
    payload = upload(viewers["creator"], amp, {"0": png()}, [{"file": None}]).json()
    errors = payload["data"]["setProductImages"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("images.0.file", "TOO_LARGE")]


def test_uploading_to_another_users_product_is_forbidden(viewers, catalog):
    response = upload(viewers["other"], catalog["products"]["amp"], {"0": png()},
                      [{"file": None}])
    assert error_codes(response.json()) == ["FORBIDDEN"]
    assert not ProductImage.objects.filter(product=catalog["products"]["amp"]).exists()


def test_uploading_to_a_hidden_product_is_not_found(viewers, catalog):
    response = upload(viewers["other"], catalog["products"]["draft"], {"0": png()},
                      [{"file": None}])
    assert error_codes(response.json()) == ["NOT_FOUND"]


def test_uploading_needs_sign_in(viewers, catalog):
    response = upload(viewers["anonymous"], catalog["products"]["amp"], {"0": png()},
                      [{"file": None}])
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


def test_multipart_without_a_preflight_header_is_refused(viewers, catalog):
    """A cross-site form could send it with the user's cookies: CSRF protection."""
    response = upload(viewers["creator"], catalog["products"]["amp"], {"0": png()},
                      [{"file": None}], HTTP_GRAPHQL_REQUIRE_PREFLIGHT="")
    assert response.status_code == 400
    assert not ProductImage.objects.filter(product=catalog["products"]["amp"]).exists()


def test_a_map_naming_a_missing_file_is_a_bad_request(viewers, catalog):
    operations = {"query": SET_IMAGES, "variables": {"input": {
        "product": to_global_id("Product", catalog["products"]["amp"].pk),
        "images": [{"file": None}]}}}
    response = viewers["creator"].http.post("/graphql/", {
        "operations": json.dumps(operations),
        "map": json.dumps({"0": ["variables.input.images.0.file"]}),
    }, HTTP_GRAPHQL_REQUIRE_PREFLIGHT="1")
    assert response.status_code == 400


def test_an_upload_cannot_be_given_inline(viewers, catalog):
    result = viewers["creator"].execute(SET_IMAGES, {"input": {
        "product": to_global_id("Product", catalog["products"]["amp"].pk),
        "images": [{"file": "not a file"}]}})
    assert error_codes(result) == ["BAD_USER_INPUT"]


def test_uploaded_images_are_served_from_media_url(viewers, catalog, media_root):
    amp = catalog["products"]["amp"]
    url = upload(viewers["creator"], amp, {"0": png()}, [{"file": None}]).json()[
        "data"]["setProductImages"]["images"][0]["url"]
    assert Path(media_root, url.removeprefix(MEDIA)).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("client_name", ["x.html", "page.svg", "no-extension", "../../evil.png"])
def test_uploads_are_stored_under_the_extension_of_their_real_format(
    viewers, catalog, media_root, client_name
):
    """A PNG sent as `x.html` is stored (and served) as a .png: servers type by extension."""
    amp = catalog["products"]["amp"]
    response = upload(viewers["creator"], amp, {"0": png(client_name)}, [{"file": None}])
    payload = response.json()["data"]["setProductImages"]
    assert payload["errors"] == []
    name = ProductImage.objects.get(product=amp).image.name
    assert name.startswith("products/") and name.endswith(".png"), name
    assert ".." not in name and ".html" not in name and ".svg" not in name
    # What a server that types files by extension (ours: products/media.py) would send.
    assert mimetypes.guess_type(name)[0] == "image/png"
    assert Path(media_root, name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
