"""The schema's missing pieces: `me { favorites }`, order totals, images in `createProduct`,
and `nodes(ids:)`."""
from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from graphql import get_operation_ast, parse
from graphql_relay import to_global_id
from PIL import Image

from accounts.models import ApiKey
from orders.models import Order, OrderItem
from products.models import Category, Favorite, Product, ProductImage
from schema.cost import compile_plan
from schema.schema import schema
from tests.conftest import GraphQLClient, count_queries, error_codes
from tests.helpers import gid

# me { favorites } --------------------------------------------------------------------------

MY_FAVORITES = """query($first: Int, $after: String, $last: Int, $before: String) {
  me { favorites(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { slug isFavorited } }
  } }
}"""
BASE_TIME = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def favorite(user, product, minutes: int) -> Favorite:
    """A favorite made `minutes` after a fixed time (created_at is auto_now_add)."""
    made = Favorite.objects.create(user=user, product=product)
    Favorite.objects.filter(pk=made.pk).update(
        created_at=BASE_TIME + datetime.timedelta(minutes=minutes)
    )
    return made


def slugs(connection_data) -> list[str]:
    return [edge["node"]["slug"] for edge in connection_data["edges"]]


def test_my_favorites_are_listed_newest_favorite_first(viewers, catalog, users):
    products = catalog["products"]
    # Favorited in another order than the products were created; two at the same instant.
    favorite(users["other"], products["novel"], 1)
    favorite(users["other"], products["amp"], 3)
    tie_first = favorite(users["other"], products["cans"], 2)
    tie_second = favorite(users["other"], products["buds"], 2)
    favorite(users["creator"], products["cans"], 9)  # someone else's
    assert tie_second.pk > tie_first.pk

    page = viewers["other"].data(MY_FAVORITES, {"first": 10})["me"]["favorites"]
    # Newest favorite first; at the same instant, the later favorite (higher pk) first.
    assert slugs(page) == [products["amp"].slug, products["buds"].slug,
                           products["cans"].slug, products["novel"].slug]
    assert page["totalCount"] == 4
    assert all(edge["node"]["isFavorited"] for edge in page["edges"])
    assert page["pageInfo"]["hasNextPage"] is False


def test_favorites_are_only_for_the_user_themself(viewers, catalog, users):
    products = catalog["products"]
    favorite(users["creator"], products["amp"], 1)
    query = """query($slug: String!) { product(slug: $slug) {
      createdBy { username favorites(first: 5) { totalCount edges { node { slug } } } } } }"""
    variables = {"slug": products["amp"].slug}
    # The creator's favorites, reached through another product's `createdBy`:
    own = viewers["creator"].data(query, variables)["product"]["createdBy"]["favorites"]
    assert slugs(own) == [products["amp"].slug]
    # ...are null for anyone else: another user, staff, anonymous.
    for viewer in ("other", "staff", "anonymous"):
        created_by = viewers[viewer].data(query, variables)["product"]["createdBy"]
        assert created_by == {"username": "creator", "favorites": None}, viewer
    by_node = viewers["other"].data(
        "query($id: ID!) { node(id: $id) { ... on User { favorites { totalCount } } } }",
        {"id": gid(users["creator"])},
    )
    assert by_node["node"] == {"favorites": None}
    assert viewers["anonymous"].data(MY_FAVORITES, {"first": 5}) == {"me": None}


def test_favorites_list_only_products_the_user_may_see(viewers, catalog, users):
    products = catalog["products"]
    # Favorited while it was published, say; now it is the creator's draft again.
    favorite(users["other"], products["draft"], 2)
    favorite(users["other"], products["amp"], 1)
    favorite(users["creator"], products["draft"], 1)  # their own draft
    favorite(users["staff"], products["draft"], 1)

    other = viewers["other"].data(MY_FAVORITES, {"first": 10})["me"]["favorites"]
    assert slugs(other) == [products["amp"].slug]
    assert other["totalCount"] == 1
    for viewer in ("creator", "staff"):
        page = viewers[viewer].data(MY_FAVORITES, {"first": 10})["me"]["favorites"]
        assert slugs(page) == [products["draft"].slug], viewer

    Product.objects.filter(pk=products["draft"].pk).update(is_published=True)
    other = viewers["other"].data(MY_FAVORITES, {"first": 10})["me"]["favorites"]
    assert slugs(other) == [products["draft"].slug, products["amp"].slug]


def many_products(category, count: int, creator=None, published=True) -> list[Product]:
    return Product.objects.bulk_create(
        Product(name=f"Item {n}", slug=f"item-{n}", price=Decimal("1.00"), stock=1,
                is_published=published, category=category, created_by=creator)
        for n in range(count)
    )


def test_favorite_pages_neither_repeat_nor_skip_when_favorites_change(viewers, catalog, users):
    user = users["other"]
    items = many_products(catalog["categories"]["books"], 7)
    for minutes, product in enumerate(items):
        favorite(user, product, minutes)  # items[6] is the newest
    client = viewers["other"]

    first = client.data(MY_FAVORITES, {"first": 3})["me"]["favorites"]
    assert slugs(first) == ["item-6", "item-5", "item-4"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    # Meanwhile: a new favorite (newest of all), and one already seen is removed.
    favorite(user, catalog["products"]["amp"], 100)
    Favorite.objects.filter(user=user, product=items[5]).delete()
    second = client.data(
        MY_FAVORITES, {"first": 3, "after": first["pageInfo"]["endCursor"]})["me"]["favorites"]
    assert slugs(second) == ["item-3", "item-2", "item-1"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    third = client.data(
        MY_FAVORITES, {"first": 3, "after": second["pageInfo"]["endCursor"]})["me"]["favorites"]
    assert slugs(third) == ["item-0"]
    assert third["pageInfo"]["hasNextPage"] is False

    # Backward from the end of the second page: the ones before it, newest first.
    back = client.data(
        MY_FAVORITES, {"last": 2, "before": second["edges"][0]["cursor"]})["me"]["favorites"]
    assert slugs(back) == ["item-6", "item-4"]
    assert back["pageInfo"]["hasPreviousPage"] is True  # the new favorite lies before them


def test_favorite_cursors_and_page_sizes_are_checked(viewers, catalog, users):
    favorite(users["other"], catalog["products"]["amp"], 1)
    client = viewers["other"]
    for variables, field in (({"first": 0}, "first"), ({"first": 101}, "first"),
                             ({"first": 1, "after": "bogus"}, "after")):
        result = client.execute(MY_FAVORITES, variables)
        assert error_codes(result) == ["BAD_USER_INPUT"], variables
        assert result["errors"][0]["extensions"]["field"] == field
    # A cursor of another list (products, another ordering) is refused too.
    products = client.data('{ products(first: 1, orderBy: "price") { edges { cursor } } }')
    cursor = products["products"]["edges"][0]["cursor"]
    assert error_codes(client.execute(MY_FAVORITES, {"first": 1, "after": cursor})) == [
        "BAD_USER_INPUT"]


def test_a_page_of_favorites_costs_the_same_queries_at_any_size(viewers, catalog, users):
    items = many_products(catalog["categories"]["books"], 12)
    for minutes, product in enumerate(items):
        favorite(users["other"], product, minutes)
    query = """query($first: Int!) { me { favorites(first: $first) { totalCount edges {
      node { slug isFavorited category { name } } } } } }"""
    small, _ = count_queries(viewers["other"], query, {"first": 2})
    large, large_data = count_queries(viewers["other"], query, {"first": 12})
    assert len(large_data["me"]["favorites"]["edges"]) == 12
    assert small == large


# Order totals ------------------------------------------------------------------------------

MY_ORDER_TOTALS = """{ myOrders(first: 10) { edges { node {
  total items { quantity unitPrice total } } } } }"""


def order(user, *lines) -> Order:
    placed = Order.objects.create(user=user)
    for product, quantity, unit_price in lines:
        OrderItem.objects.create(order=placed, product=product, quantity=quantity,
                                 unit_price=Decimal(unit_price))
    return placed


def test_line_and_order_totals_are_exact_decimals(viewers, catalog, users):
    products = catalog["products"]
    order(users["other"], (products["amp"], 3, "19.99"), (products["novel"], 1, "0.01"))
    # Prices changed since: totals keep what was paid.
    Product.objects.filter(pk=products["amp"].pk).update(price=Decimal("1000.00"))
    data = viewers["other"].data(MY_ORDER_TOTALS)
    [node] = [edge["node"] for edge in data["myOrders"]["edges"]]
    assert node["items"] == [
        {"quantity": 3, "unitPrice": "19.99", "total": "59.97"},
        {"quantity": 1, "unitPrice": "0.01", "total": "0.01"},
    ]
    assert node["total"] == "59.98"  # a string: exact, never a float


def test_an_order_without_lines_totals_zero(viewers, users):
    order(users["other"])
    data = viewers["other"].data("{ myOrders { edges { node { total } } } }")
    assert data["myOrders"]["edges"] == [{"node": {"total": "0.00"}}]


def test_totals_cost_no_query_per_order(viewers, catalog, users):
    products = catalog["products"]
    for _ in range(2):
        order(users["other"], (products["amp"], 2, "499.00"), (products["cans"], 1, "199.00"))
    few, _ = count_queries(viewers["other"], MY_ORDER_TOTALS)
    for _ in range(5):
        order(users["other"], (products["amp"], 1, "499.00"), (products["novel"], 4, "15.00"))
    many, data = count_queries(viewers["other"], MY_ORDER_TOTALS)
    assert len(data["myOrders"]["edges"]) == 7
    assert few == many
    # `total` reads the lines `items` loads: asking for both costs what asking for items does.
    items_only, _ = count_queries(
        viewers["other"], "{ myOrders(first: 10) { edges { node { items { quantity } } } } }")
    total_only, _ = count_queries(
        viewers["other"], "{ myOrders(first: 10) { edges { node { total } } } }")
    assert items_only == total_only == many
    totals = sorted(edge["node"]["total"] for edge in data["myOrders"]["edges"])
    assert totals == sorted(["1197.00"] * 2 + ["559.00"] * 5)


# createProduct with images -----------------------------------------------------------------

CREATE = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { name isPublished images { url isPrimary position width height } }
    errors { field message code }
  }
}"""
MEDIA = "http://testserver/media/"


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def png(name="pixel.png", size=(2, 2)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")


def create_with_images(client: GraphQLClient, catalog, files: list, **fields):
    """createProduct as a GraphQL multipart request with `files` as `input.images`."""
    product_input = {"name": "Vinyl Record", "price": "25.50", "stock": 3,
                     "category": gid(catalog["categories"]["audio"]), "isPublished": True,
                     "images": [None] * len(files), **fields}
    operations = {"query": CREATE, "variables": {"input": product_input}}
    file_map = {str(index): [f"variables.input.images.{index}"] for index in range(len(files))}
    response = client.http.post(
        "/graphql/",
        {"operations": json.dumps(operations), "map": json.dumps(file_map),
         **{str(index): file for index, file in enumerate(files)}},
        HTTP_GRAPHQL_REQUIRE_PREFLIGHT="1",
    )
    assert response.status_code == 200, response.content
    return response.json()


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def test_create_a_product_with_two_images_in_one_request(viewers, catalog, media_root):
    result = create_with_images(viewers["staff"], catalog,
                                [png("front.png", (3, 5)), png("back.png", (4, 2))])
    payload = result["data"]["createProduct"]
    assert payload["errors"] == []
    assert payload["product"]["name"] == "Vinyl Record"
    images = payload["product"]["images"]
    assert [(image["isPrimary"], image["position"], image["width"], image["height"])
            for image in images] == [(True, 0, 3, 5), (False, 1, 4, 2)]
    for image in images:
        assert (media_root / image["url"].removeprefix(MEDIA)).is_file()
    product = Product.objects.get(name="Vinyl Record")
    assert ProductImage.objects.filter(product=product).count() == 2
    assert len(stored_files(media_root)) == 2


def test_a_bad_image_creates_nothing(viewers, catalog, media_root):
    before = Product.objects.count()
    result = create_with_images(viewers["staff"], catalog, [png(), not_an_image()])
    payload = result["data"]["createProduct"]
    assert payload["product"] is None
    assert [(error["field"], error["code"]) for error in payload["errors"]] == [
        ("images.1", "INVALID_IMAGE")]
    assert Product.objects.count() == before
    assert not Product.objects.filter(name="Vinyl Record").exists()
    assert ProductImage.objects.count() == 1  # the catalog's own
    assert stored_files(media_root) == []


def test_field_and_image_errors_come_back_together(viewers, catalog, media_root):
    result = create_with_images(viewers["staff"], catalog, [not_an_image()], price="0")
    errors = {(error["field"], error["code"])
              for error in result["data"]["createProduct"]["errors"]}
    assert errors == {("price", "MIN_VALUE"), ("images.0", "INVALID_IMAGE")}
    assert not Product.objects.filter(name="Vinyl Record").exists()


def test_the_upload_limits_apply(viewers, catalog, media_root, settings):
    settings.UPLOAD_MAX_IMAGES_PER_PRODUCT = 1
    result = create_with_images(viewers["staff"], catalog, [png(), png("b.png")])
    assert [(error["field"], error["code"])
            for error in result["data"]["createProduct"]["errors"]] == [("images", "MAX_LENGTH")]
    settings.UPLOAD_MAX_IMAGES_PER_PRODUCT = 10
    settings.UPLOAD_MAX_IMAGE_BYTES = 10
    result = create_with_images(viewers["staff"], catalog, [png()])
    assert [(error["field"], error["code"])
            for error in result["data"]["createProduct"]["errors"]] == [("images.0", "TOO_LARGE")]
    assert not Product.objects.filter(name="Vinyl Record").exists()
    assert stored_files(media_root) == []


def test_a_failure_while_storing_rolls_back_the_product_and_its_files(
    viewers, catalog, media_root, monkeypatch
):
    real_save = FileSystemStorage._save
    calls = []

    def failing_save(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_save)
    result = create_with_images(viewers["staff"], catalog, [png(), png("b.png")])
    assert error_codes(result) == ["INTERNAL"]
    assert len(calls) == 2
    assert not Product.objects.filter(name="Vinyl Record").exists()
    assert ProductImage.objects.count() == 1  # the catalog's own
    assert stored_files(media_root) == []  # the first file, written, is removed again


def test_creating_with_images_still_needs_the_permission(viewers, catalog, media_root):
    for viewer, code in (("anonymous", "UNAUTHENTICATED"), ("other", "FORBIDDEN")):
        result = create_with_images(viewers[viewer], catalog, [png()])
        assert error_codes(result) == [code], viewer
    assert stored_files(media_root) == []


# nodes(ids:) -------------------------------------------------------------------------------

NODES = """query($ids: [ID!]!) { nodes(ids: $ids) {
  __typename id
  ... on Product { slug }
  ... on Category { slug }
  ... on User { username }
  ... on Review { title }
  ... on Order { status }
  ... on ApiKey { name }
} }"""
NODE = NODES.replace("[ID!]!", "ID!").replace("nodes(ids: $ids)", "node(id: $id)").replace(
    "$ids", "$id")


def missing(type_name: str) -> str:
    return to_global_id(type_name, 999_999)


def test_nodes_come_back_in_the_order_of_the_ids_with_null_for_missing(gql, catalog, users):
    products, categories = catalog["products"], catalog["categories"]
    ids = [gid(products["cans"]), missing("Product"), gid(categories["books"]),
           gid(products["amp"]), gid(products["cans"]), gid(users["other"]),
           missing("Category")]
    result = gql.execute(NODES, {"ids": ids})
    assert "errors" not in result
    assert result["data"]["nodes"] == [
        {"__typename": "Product", "id": ids[0], "slug": products["cans"].slug},
        None,
        {"__typename": "Category", "id": ids[2], "slug": "books"},
        {"__typename": "Product", "id": ids[3], "slug": products["amp"].slug},
        {"__typename": "Product", "id": ids[0], "slug": products["cans"].slug},
        {"__typename": "User", "id": ids[5], "username": "other"},
        None,
    ]
    assert gql.data(NODES, {"ids": []}) == {"nodes": []}


@pytest.mark.parametrize("viewer", ["anonymous", "other", "creator", "staff"])
def test_each_node_is_what_node_id_gives_that_viewer(viewers, catalog, users, viewer):
    """Visibility per node exactly as `node(id:)`: a product draft, its review and image,
    orders and API keys are null where `node(id:)` is NOT_FOUND."""
    products = catalog["products"]
    draft_image = ProductImage.objects.create(product=products["draft"], image="p/d.jpg")
    hidden_review = products["draft"].reviews.get()
    others_order = Order.objects.create(user=users["other"])
    creators_key, _ = ApiKey.issue(users["creator"], "ci")
    ids = [gid(products["draft"]), gid(products["amp"]), gid(hidden_review),
           gid(draft_image), gid(others_order), gid(creators_key), gid(users["staff"])]
    client = viewers[viewer]
    expected = []
    for global_id in ids:
        single = client.execute(NODE, {"id": global_id})
        assert error_codes(single) in ([], ["NOT_FOUND"])
        expected.append(single["data"]["node"])
    result = client.execute(NODES, {"ids": ids})
    assert "errors" not in result
    assert result["data"]["nodes"] == expected
    # And the rule is really applied (not everything null, not everything shown):
    visible_draft = viewer in ("creator", "staff")
    assert (expected[0] is not None) == visible_draft
    assert (expected[4] is not None) == (viewer in ("other", "staff"))
    assert (expected[5] is not None) == (viewer == "creator")
    assert expected[1] is not None


def test_nodes_takes_at_most_the_page_size_of_ids(gql, catalog, settings):
    amp = gid(catalog["products"]["amp"])
    assert len(gql.data(NODES, {"ids": [amp] * 100})["nodes"]) == 100
    result = gql.execute(NODES, {"ids": [amp] * 101})
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == "ids"
    assert result["data"] is None  # `nodes` is non-null
    settings.GRAPHQL_MAX_PAGE_SIZE = 3
    assert error_codes(gql.execute(NODES, {"ids": [amp] * 4})) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("bad", ["not-an-id", to_global_id("CreateProductInput", 1),
                                 to_global_id("Product", "x"), to_global_id("Product", 0)])
def test_a_malformed_id_is_bad_user_input_naming_its_position(gql, catalog, bad):
    result = gql.execute(NODES, {"ids": [gid(catalog["products"]["amp"]), bad]})
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == "ids"
    assert "`ids.1`" in result["errors"][0]["message"]


def test_fifty_product_ids_cost_one_query(gql, catalog):
    items = many_products(catalog["categories"]["books"], 50)
    ids = [gid(product) for product in items]
    queries, data = count_queries(gql, "query($ids: [ID!]!) { nodes(ids: $ids) { "
                                       "... on Product { slug } } }", {"ids": ids})
    assert [node["slug"] for node in data["nodes"]] == [product.slug for product in items]
    assert queries == 1
    queries, _ = count_queries(gql, "query($ids: [ID!]!) { nodes(ids: $ids) { "
                                    "... on Product { slug category { name } } } }",
                               {"ids": ids})
    assert queries == 2  # the products, then their (one) category
    mixed = ids[:10] + [gid(category) for category in Category.objects.all()]
    queries, _ = count_queries(gql, NODES, {"ids": mixed})
    assert queries == 2  # one per type


def plan_cost(query: str, variables=None) -> tuple[int, int]:
    document = parse(query)
    operation = get_operation_ast(document)
    return compile_plan(schema.graphql_schema, document, operation).evaluate(variables)


def test_nodes_costs_one_per_id():
    assert plan_cost('{ nodes(ids: ["a", "b", "c"]) { id } }') == (3, 3)
    assert plan_cost('{ nodes(ids: "a") { id } }') == (1, 1)  # a single value: a list of one
    assert plan_cost("{ nodes(ids: []) { id } }") == (0, 0)
    by_variable = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Product { category { id } } } }"
    assert plan_cost(by_variable, {"ids": ["a"] * 40}) == (40 * 2, 40)
    assert plan_cost(by_variable, {"ids": ["a"] * 2}) == (2 * 2, 2)
    assert plan_cost(by_variable, {"ids": "a"}) == (2, 1)


def test_nodes_reports_its_cost_over_http(gql, catalog):
    ids = [gid(catalog["products"]["amp"]), missing("Product"), gid(catalog["products"]["cans"])]
    result = gql.execute("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert result["extensions"]["cost"]["requestedQueryCost"] == 3
    assert result["extensions"]["cost"]["actualQueryCost"] == 2  # the null counts nothing



def test_ids_of_every_node_type_batch_one_query_per_type(viewers, catalog, users):
    """Reviews, images, orders and API keys load through loaders too, each under its own
    visibility rule: however many ids, one query per type."""
    from accounts.models import ApiKey
    from products.models import ProductImage, Review

    other = users["other"]
    cans = catalog["products"]["cans"]
    for n in range(5):
        ProductImage.objects.create(product=cans, image=f"p/{n}.png", position=n + 1)
    orders = [order(other, (cans, 1, "199.00")) for _ in range(4)]
    keys = [ApiKey.objects.create(owner=other, name=f"k{n}", prefix=f"vit_{n}",
                                  secret_hash=f"h{n}") for n in range(3)]
    ids = ([gid(review) for review in Review.objects.exclude(product__is_published=False)]
           + [gid(image) for image in ProductImage.objects.all()]
           + [gid(item) for item in orders] + [gid(key) for key in keys]
           + [gid(Review.objects.get(title="Hidden"))])
    queries, data = count_queries(viewers["other"], "query($ids: [ID!]!) { nodes(ids: $ids) "
                                  "{ id } }", {"ids": ids})
    assert queries == 2 + 4  # the session and its user; reviews, images, orders, API keys
    assert [node and node["id"] for node in data["nodes"]] == [*ids[:-1], None]
