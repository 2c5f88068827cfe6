"""addReview / updateReview / deleteReview / toggleFavorite."""
from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from products.models import Favorite, Review
from tests.conftest import error_codes
from tests.helpers import gid

ADD = """
mutation($input: AddReviewInput!) {
  addReview(input: $input) {
    review { id rating title body author { username } product { slug } }
    errors { field message code }
  }
}"""
UPDATE = """
mutation($input: UpdateReviewInput!) {
  updateReview(input: $input) { review { rating title body } errors { field message code } }
}"""
DELETE = """
mutation($input: DeleteReviewInput!) {
  deleteReview(input: $input) { deletedId errors { field code } }
}"""
TOGGLE = """
mutation($input: ToggleFavoriteInput!) {
  toggleFavorite(input: $input) { favorited product { slug isFavorited } errors { code } }
}"""


def field_codes(payload) -> set[tuple[str | None, str]]:
    return {(error["field"], error["code"]) for error in payload["errors"]}


@pytest.fixture
def review_of_other(catalog, users):
    """`other`'s review of the published headphones (from the catalog fixture)."""
    return Review.objects.get(product=catalog["products"]["cans"], author=users["other"])


@pytest.fixture
def hidden_review(catalog, users):
    """staff's review of the creator's draft: hidden from `other`."""
    return Review.objects.get(product=catalog["products"]["draft"], author=users["staff"])


# addReview ---------------------------------------------------------------------------------------

def test_add_a_review(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["other"].data(ADD, {"input": {
        "product": gid(amp), "rating": 5, "title": " Warm sound ", "body": "Lovely."}})
    payload = result["addReview"]
    assert payload["errors"] == []
    assert payload["review"] | {"id": None} == {
        "id": None, "rating": 5, "title": "Warm sound", "body": "Lovely.",
        "author": {"username": "other"}, "product": {"slug": "tube-amplifier"},
    }


def test_one_review_per_product_and_author(viewers, catalog):
    cans = catalog["products"]["cans"]  # `other` reviewed it already
    result = viewers["other"].data(ADD, {"input": {"product": gid(cans), "rating": 3,
                                                   "title": "Again"}})
    assert result["addReview"]["review"] is None
    assert field_codes(result["addReview"]) == {("product", "ALREADY_REVIEWED")}
    assert Review.objects.filter(product=cans).count() == 2


@pytest.mark.parametrize("values, expected", [
    ({"rating": 0}, {("rating", "OUT_OF_RANGE")}),
    ({"rating": 6}, {("rating", "OUT_OF_RANGE")}),
    ({"title": "  "}, {("title", "REQUIRED")}),
    ({"title": "t" * 201}, {("title", "MAX_LENGTH")}),
    ({"rating": -1, "title": ""}, {("rating", "OUT_OF_RANGE"), ("title", "REQUIRED")}),
])
def test_add_review_validation_errors_name_the_field(viewers, catalog, values, expected):
    amp = catalog["products"]["amp"]
    result = viewers["other"].data(ADD, {"input": {
        "product": gid(amp), "rating": 4, "title": "Fine", **values}})
    assert field_codes(result["addReview"]) == expected
    assert not Review.objects.filter(product=amp).exists()


def test_add_review_needs_sign_in(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["anonymous"].execute(ADD, {"input": {"product": gid(amp), "rating": 4,
                                                          "title": "Hi"}})
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_reviewing_a_hidden_product_is_not_found(viewers, catalog):
    draft = catalog["products"]["draft"]
    result = viewers["other"].execute(ADD, {"input": {"product": gid(draft), "rating": 4,
                                                      "title": "Hi"}})
    assert error_codes(result) == ["NOT_FOUND"]
    missing = viewers["other"].execute(ADD, {"input": {
        "product": to_global_id("Product", 99999), "rating": 4, "title": "Hi"}})
    assert error_codes(missing) == ["NOT_FOUND"]
    assert missing["errors"][0]["message"] == result["errors"][0]["message"]


# updateReview ------------------------------------------------------------------------------------

def test_author_updates_their_review(viewers, review_of_other):
    result = viewers["other"].data(UPDATE, {"input": {"id": gid(review_of_other), "rating": 2,
                                                      "body": "Changed my mind."}})
    assert result["updateReview"] == {
        "review": {"rating": 2, "title": "Good", "body": "Changed my mind."}, "errors": []}


@pytest.mark.parametrize("who", ["creator", "staff"])
def test_only_the_author_updates_a_review(viewers, review_of_other, who):
    result = viewers[who].execute(UPDATE, {"input": {"id": gid(review_of_other), "rating": 1}})
    assert error_codes(result) == ["FORBIDDEN"]
    review_of_other.refresh_from_db()
    assert review_of_other.rating == 4


def test_update_review_needs_sign_in(viewers, review_of_other):
    result = viewers["anonymous"].execute(UPDATE, {"input": {"id": gid(review_of_other),
                                                             "rating": 1}})
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_updating_a_review_of_a_hidden_product_is_not_found(viewers, hidden_review):
    result = viewers["other"].execute(UPDATE, {"input": {"id": gid(hidden_review), "rating": 3}})
    assert error_codes(result) == ["NOT_FOUND"]


@pytest.mark.parametrize("values, expected", [
    ({"rating": 9}, {("rating", "OUT_OF_RANGE")}),
    ({"rating": None}, {("rating", "REQUIRED")}),
    ({"title": ""}, {("title", "REQUIRED")}),
])
def test_update_review_validation_errors(viewers, review_of_other, values, expected):
    result = viewers["other"].data(UPDATE, {"input": {"id": gid(review_of_other), **values}})
    assert field_codes(result["updateReview"]) == expected
    assert result["updateReview"]["review"] is None


# deleteReview ------------------------------------------------------------------------------------

def test_author_deletes_their_review(viewers, review_of_other):
    result = viewers["other"].data(DELETE, {"input": {"id": gid(review_of_other)}})
    assert result["deleteReview"] == {"deletedId": gid(review_of_other), "errors": []}
    assert not Review.objects.filter(pk=review_of_other.pk).exists()


def test_staff_may_delete_a_review_as_moderation(viewers, review_of_other):
    assert viewers["staff"].data(DELETE, {"input": {"id": gid(review_of_other)}})
    assert not Review.objects.filter(pk=review_of_other.pk).exists()


def test_others_may_not_delete_a_review(viewers, review_of_other):
    result = viewers["creator"].execute(DELETE, {"input": {"id": gid(review_of_other)}})
    assert error_codes(result) == ["FORBIDDEN"]
    assert Review.objects.filter(pk=review_of_other.pk).exists()


def test_delete_review_needs_sign_in(viewers, review_of_other):
    result = viewers["anonymous"].execute(DELETE, {"input": {"id": gid(review_of_other)}})
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_deleting_a_review_of_a_hidden_product_is_not_found(viewers, hidden_review):
    result = viewers["other"].execute(DELETE, {"input": {"id": gid(hidden_review)}})
    assert error_codes(result) == ["NOT_FOUND"]
    assert Review.objects.filter(pk=hidden_review.pk).exists()


# toggleFavorite ----------------------------------------------------------------------------------

def test_toggle_favorite_on_and_off(viewers, catalog, users):
    amp = catalog["products"]["amp"]
    on = viewers["other"].data(TOGGLE, {"input": {"product": gid(amp)}})["toggleFavorite"]
    assert on == {"favorited": True, "product": {"slug": "tube-amplifier", "isFavorited": True},
                  "errors": []}
    assert Favorite.objects.filter(user=users["other"], product=amp).exists()
    off = viewers["other"].data(TOGGLE, {"input": {"product": gid(amp)}})["toggleFavorite"]
    assert off["favorited"] is False
    assert not Favorite.objects.filter(user=users["other"], product=amp).exists()


def test_toggle_favorite_needs_sign_in(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["anonymous"].execute(TOGGLE, {"input": {"product": gid(amp)}})
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_favoriting_a_hidden_product_is_not_found(viewers, catalog):
    draft = catalog["products"]["draft"]
    result = viewers["other"].execute(TOGGLE, {"input": {"product": gid(draft)}})
    assert error_codes(result) == ["NOT_FOUND"]
    assert not Favorite.objects.exists()


def test_favoriting_with_a_malformed_id_is_bad_user_input(viewers):
    result = viewers["other"].execute(TOGGLE, {"input": {"product": "zzz"}})
    assert error_codes(result) == ["BAD_USER_INPUT"]
