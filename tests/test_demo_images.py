"""What a newcomer meets: the demo images exist, are served, and are described truthfully.

The seed writes real PNG files under MEDIA_ROOT and records their width and height; the API
gives absolute URLs (on MEDIA_BASE_URL when set, else on the request's host); the app itself
serves MEDIA_ROOT with DEBUG off, images only; seeded product names are words, not
naively singularised category names.
"""
from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from email.message import Message
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection
from PIL import Image

from products.management.commands.seed_catalog import ADJECTIVES, MATERIALS
from products.media import media_url
from products.models import Category, Product, ProductImage
from schema.client import Client
from schema.pipeline import OperationContext
from tests.live_server import BASE_DIR
from tests.test_seed import reset_catalog, seed

pytest_plugins = ["tests.live_server"]
pytestmark = pytest.mark.django_db

CATALOG_IMAGES = "{ products(first: 50) { edges { node { images { url width height } } } } }"
# What each leaf category's products are called: the last words of every seeded name.
NOUNS = {
    "Headphones": "Headphones", "Speakers": "Speaker", "Turntables": "Turntable",
    "Laptops": "Laptop", "Monitors": "Monitor", "Keyboards": "Keyboard",
    "Mirrorless": "Mirrorless Camera", "Lenses": "Lens",
    "Cookware": "Saucepan", "Knives": "Knife", "Coffee": "Coffee Grinder",
    "Chairs": "Chair", "Desks": "Desk", "Shelving": "Shelf",
    "Tents": "Tent", "Sleeping Bags": "Sleeping Bag",
    "Bikes": "Bike", "Helmets": "Helmet", "Lights": "Bike Light",
    "Science Fiction": "Science Fiction Novel", "Mystery": "Mystery Novel",
    "History": "History Book", "Science": "Science Book",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def demo_files(root) -> dict[str, bytes]:
    """name -> SHA-256 of every file under `root`."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).digest()
            for path in sorted(root.rglob("*")) if path.is_file()}


# -- The seed writes the files ------------------------------------------------------------


def test_every_seeded_image_is_a_png_of_the_recorded_size(media_root):
    seed()
    images = list(ProductImage.objects.select_related("product"))
    assert len(images) >= Product.objects.count()
    backgrounds = set()
    for image in images:
        assert image.image.name == (f"products/demo/{image.product.slug}-"
                                    f"{image.position + 1}.png")
        path = media_root / image.image.name
        assert 200 <= path.stat().st_size <= 4096, path.stat().st_size
        with Image.open(path) as picture:
            assert picture.format == "PNG"
            assert picture.size == (image.width, image.height) == (320, 240)
            backgrounds.add(picture.convert("RGB").getpixel((0, 0)))
            # Text on it: more than the background colour.
            assert len(picture.convert("RGB").getcolors(256)) > 2
    assert len(backgrounds) == len(images), "a colour of its own per product and view"
    assert set(demo_files(media_root)) == {image.image.name for image in images}


def test_a_second_run_writes_no_file(media_root):
    seed()
    before = {path: path.stat().st_mtime_ns for path in media_root.rglob("*.png")}
    out = io.StringIO()
    call_command("seed_catalog", seed=7, products=60, users=6, stdout=out)
    assert "(0 image files written)" in out.getvalue()
    assert {path: path.stat().st_mtime_ns for path in media_root.rglob("*.png")} == before


def test_the_same_seed_draws_the_same_files(media_root):
    seed()
    first = demo_files(media_root)
    reset_catalog()
    for path in media_root.rglob("*.png"):
        path.unlink()
    seed()
    assert demo_files(media_root) == first


def test_missing_files_and_rows_of_older_seeds_are_restored(media_root):
    """An emptied MEDIA_ROOT, and rows an older seed left (.jpg, no file, no size):
    bin/run's `--if-empty` start gives them their files."""
    seed()
    images = list(ProductImage.objects.order_by("pk")[:4])
    (media_root / images[0].image.name).unlink()
    for image in images[1:]:
        (media_root / image.image.name).unlink()
        ProductImage.objects.filter(pk=image.pk).update(
            image=image.image.name.removesuffix(".png") + ".jpg", width=None, height=None)
    call_command("seed_catalog", seed=7, if_empty=True, quiet=True)
    for image in images:
        image.refresh_from_db()
        assert image.image.name.endswith(".png")
        assert (image.width, image.height) == (320, 240)
        with Image.open(media_root / image.image.name) as picture:
            assert picture.size == (320, 240)
    assert not list(media_root.rglob("*.jpg"))


def test_rows_whose_file_is_missing_load_without_opening_it(catalog):
    """Django's ImageField measures unmeasured images on every load: a missing file would
    raise (the fixture's image "p/cans.jpg" has no file)."""
    image = ProductImage.objects.get()
    assert (image.width, image.height) == (None, None)
    assert not image.image.storage.exists(image.image.name)


def test_the_migration_measures_the_images_stored_before(catalog, media_root):
    cans = ProductImage.objects.get()
    (media_root / "p").mkdir(parents=True)
    Image.new("RGB", (7, 3)).save(media_root / "p" / "cans.jpg", format="JPEG")
    migration = importlib.import_module("products.migrations.0002_image_width_height")
    migration.measure_stored_images(django_apps, SimpleNamespace(connection=connection))
    cans.refresh_from_db()
    assert (cans.width, cans.height) == (7, 3)


# -- Seeded names -----------------------------------------------------------------------


def test_every_leaf_category_has_its_noun():
    seed()
    leaves = Category.objects.filter(children__isnull=True).values_list("name", flat=True)
    assert sorted(leaves) == sorted(NOUNS)


def test_every_product_name_ends_with_the_singular_noun_of_its_category():
    seed(products=300)
    seen = set()
    for name, category in Product.objects.values_list("name", "category__name"):
        noun = NOUNS[category]
        assert name.endswith(" " + noun), (name, category)
        adjective, material = name.removesuffix(" " + noun).split(" ")
        assert adjective in ADJECTIVES and material in MATERIALS, name
        seen.add(category)
    assert seen == set(NOUNS), "the sample covers every leaf"
    description = Product.objects.filter(name__startswith="Ultralight").first().description
    assert description.startswith("An ultralight ")


# -- URLs ---------------------------------------------------------------------------------


def test_image_urls_are_absolute_on_the_request_host(gql, catalog):
    data = gql.data('{ product(slug: "studio-headphones") { images { url } } }')
    assert data["product"]["images"] == [{"url": "http://testserver/media/p/cans.jpg"}]


def test_image_urls_use_the_media_base_url(gql, catalog, settings):
    settings.MEDIA_URL = "https://cdn.example.com/media/"  # what MEDIA_BASE_URL sets
    data = gql.data('{ product(slug: "studio-headphones") { images { url } } }')
    assert data["product"]["images"] == [{"url": "https://cdn.example.com/media/p/cans.jpg"}]


def test_websocket_operations_get_the_media_base_url_or_a_relative_url(catalog, settings):
    """A websocket result is shared by the subscribers of a group, whatever host each one
    connected to: no request host goes into it."""
    image = ProductImage.objects.get().image
    context = OperationContext(AnonymousUser(), Client("127.0.0.1"))
    assert media_url(image, context) == "/media/p/cans.jpg"
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    assert media_url(image, context) == "https://cdn.example.com/media/p/cans.jpg"


SETTINGS_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import Resolver404, resolve
try:
    resolve("/media/products/demo/x.png")
    served = True
except Resolver404:
    served = False
print(json.dumps([settings.MEDIA_URL, settings.SERVE_MEDIA, served,
                  default_storage.url("products/a b.png")]))
"""


@pytest.mark.parametrize(("env", "expected"), [
    ({}, ["/media/", True, True, "/media/products/a%20b.png"]),
    ({"MEDIA_BASE_URL": "https://cdn.example.com/media"},
     ["https://cdn.example.com/media/", False, False,
      "https://cdn.example.com/media/products/a%20b.png"]),
    # A CDN pulling from this app: the app serves the path of MEDIA_BASE_URL.
    ({"MEDIA_BASE_URL": "https://cdn.example.com/media/", "SERVE_MEDIA": "1"},
     ["https://cdn.example.com/media/", True, True,
      "https://cdn.example.com/media/products/a%20b.png"]),
])
def test_media_settings_come_from_the_environment(env, expected):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "DEBUG": "0",
                   "SECRET_KEY": "media-settings-probe", **env}
    for name in ("MEDIA_BASE_URL", "SERVE_MEDIA"):
        if name not in env:
            environment.pop(name, None)
    completed = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=BASE_DIR,
                               env=environment, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == expected


# -- Through the live server (DEBUG off) --------------------------------------------------


@pytest.fixture(scope="module")
def served_media(tmp_path_factory):
    return tmp_path_factory.mktemp("served-media")


@pytest.fixture(scope="module")
def media_server(asgi_server_with, served_media):
    """A live server whose MEDIA_ROOT is `served_media`, where the tests seed: the shared
    asgi_server may have started already, on the default MEDIA_ROOT."""
    return asgi_server_with(MEDIA_ROOT=str(served_media))


def fetch(url: str, data: bytes | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.django_db(transaction=True)
def test_the_catalog_page_images_are_served_as_described(media_server, served_media,
                                                         settings):
    settings.MEDIA_ROOT = served_media
    seed()
    status, _, body = fetch(media_server.graphql_url,
                            json.dumps({"query": CATALOG_IMAGES}).encode())
    assert status == 200, body
    result = json.loads(body)
    assert "errors" not in result, result
    images = [image for edge in result["data"]["products"]["edges"]
              for image in edge["node"]["images"]]
    assert len(images) >= 50
    for image in images:
        assert image["url"].startswith(f"{media_server.url}/media/products/demo/"), image
        status, headers, content = fetch(image["url"])
        assert status == 200, (image["url"], content[:200])
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        with Image.open(io.BytesIO(content)) as picture:
            assert picture.size == (image["width"], image["height"]) == (320, 240)


@pytest.mark.django_db(transaction=True)
def test_only_images_below_media_root_are_served(media_server, served_media):
    (served_media / "page.html").write_text("<script>alert(1)</script>")
    Image.new("RGB", (2, 2)).save(served_media / "page.png.gz", format="PNG")
    Image.new("RGB", (2, 2)).save(served_media.parent / "outside.png", format="PNG")
    Image.new("RGB", (2, 2)).save(served_media / "inside.png", format="PNG")
    assert fetch(f"{media_server.url}/media/inside.png")[0] == 200
    for path in ("page.html", "page.png.gz", "%2e%2e/outside.png", "..%2foutside.png",
                 "nowhere.png", ""):
        status, _, content = fetch(f"{media_server.url}/media/{path}")
        assert status in (400, 404), (path, status)
        assert b"alert" not in content and not content.startswith(b"\x89PNG"), path
