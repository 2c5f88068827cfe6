"""Writes to the catalog. Each function is one transaction and checks permissions first.

Problems with the input are raised as Django `ValidationError`s keyed by input field with a
stable code (schema.mutations turns them into `errors`); a target the viewer may not see is
NOT_FOUND exactly like a missing one.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.forms import ImageField as ImageFormField
from django.utils.text import slugify

from accounts import permissions
from products import inventory
from products.models import Category, Favorite, Product, ProductImage, Review, unique_slug

PRODUCT_FIELDS = ("name", "description", "price", "stock", "category", "is_published")
REVIEW_FIELDS = ("rating", "title", "body")


class Errors:
    """Collects field errors and raises them together."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: str, code: str) -> None:
        self.by_field.setdefault(field, []).append(ValidationError(message, code=code.lower()))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def visible_product(user, product_id: int, *, lock: bool = False) -> Product:
    products = Product.objects.visible_to(user)
    if lock:
        products = products.select_for_update()
    product = products.filter(pk=product_id).first()
    if product is None:
        raise Product.DoesNotExist("Product not found.")
    return product


def visible_review(user, review_id: int, *, lock: bool = False) -> Review:
    reviews = Review.objects.visible_to(user)
    if lock:
        reviews = reviews.select_for_update()
    review = reviews.filter(pk=review_id).first()
    if review is None:
        raise Review.DoesNotExist("Review not found.")
    return review


# Products ------------------------------------------------------------------------------------

def _required_text(values: dict[str, Any], field: str, errors: Errors, missing: str,
                   max_length: int = 200) -> str:
    """A short text that must not be blank (a product's name, a review's title)."""
    text = (values[field] or "").strip()
    if not text:
        errors.add(field, missing, "required")
    elif len(text) > max_length:
        errors.add(field, f"Use at most {max_length} characters.", "max_length")
    return text


def _clean_product_values(values: dict[str, Any], errors: Errors, *, creating: bool) -> dict:
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _required_text(values, "name", errors, "Enter a name.")
    if "description" in values:
        cleaned["description"] = values["description"] or ""
    if "price" in values:
        price = values["price"]
        try:
            price = Decimal(price) if price is not None else None
        except (InvalidOperation, TypeError, ValueError):
            price = None
        if price is None:
            errors.add("price", "Enter a price.", "required")
        elif not price.is_finite():
            errors.add("price", "Enter a number.", "invalid")
        elif price <= 0:
            errors.add("price", "The price must be greater than 0.", "min_value")
        elif price.as_tuple().exponent < -2:
            errors.add("price", "Use at most 2 decimal places.", "max_decimal_places")
        elif price >= Decimal("1e8"):
            errors.add("price", "The price is too large.", "max_value")
        else:
            cleaned["price"] = price
    if "stock" in values:
        stock = values["stock"]
        if stock is None:
            errors.add("stock", "Enter the stock.", "required")
        elif stock < 0:
            errors.add("stock", "The stock cannot be negative.", "min_value")
        else:
            cleaned["stock"] = stock
    if "category" in values:
        if values["category"] is None:
            errors.add("category", "Choose a category.", "required")
        else:
            category = Category.objects.filter(pk=values["category"]).first()
            if category is None:
                errors.add("category", "No such category.", "not_found")
            cleaned["category"] = category
    if "is_published" in values:
        if values["is_published"] is None:
            errors.add("is_published", "Say whether the product is published.", "required")
        else:
            cleaned["is_published"] = values["is_published"]
    if creating:
        for field in ("name", "price", "category"):
            if field not in values and field not in errors.by_field:
                errors.add(field, f"Enter the {field}.", "required")
    return cleaned


def _save_new_product(product: Product) -> None:
    """Insert with a unique slug; a concurrent insert taking the slug gets a fresh one."""
    for _ in range(3):
        product.slug = unique_slug(Product, product.name, 220)
        try:
            with transaction.atomic():
                product.save(force_insert=True)
            return
        except IntegrityError:
            if not Product.objects.filter(slug=product.slug).exists():
                raise
    raise ValidationError(
        {"name": ValidationError("A product with this name was just created.", code="unique")}
    )


@transaction.atomic
def create_product(user, *, images: list[UploadedFile] | None = None, **values: Any) -> Product:
    """A new product of `user`, with `images` (uploads, the first primary) in the same
    transaction: the fields and every image are checked first, and nothing is written unless
    all of them pass (image errors are keyed `images.N`)."""
    permissions.require_create_product(user)
    errors = Errors()
    cleaned = _clean_product_values(values, errors, creating=True)
    entries = [{"file": upload} for upload in images or ()]
    primary = _clean_images(entries, errors, file_key=None)
    errors.raise_if_any()
    product = Product(created_by=user, **cleaned)
    _save_new_product(product)
    stored: list[str] = []
    try:
        _store_images(product, entries, primary, stored)
    except BaseException:
        # The rows roll back with the transaction; the files written so far would not.
        _delete_files(stored)
        raise
    return product


@transaction.atomic
def update_product(user, product_id: int, **values: Any) -> Product:
    """Change the given fields. `stock` is set through products.inventory, under its lock, and
    the save leaves the column alone: it must not write back the stock read here."""
    permissions.require_authenticated(user, "Sign in to change products.")
    product = visible_product(user, product_id, lock=True)
    permissions.require_change_product(user, product)
    errors = Errors()
    cleaned = _clean_product_values(values, errors, creating=False)
    errors.raise_if_any()
    if "stock" in cleaned:
        # One event per mutation: the save below announces the stock with the other fields.
        inventory.set_stock(product, cleaned.pop("stock"), announce=False)
    for field, value in cleaned.items():
        setattr(product, field, value)
    product.save(update_fields=[*cleaned, "updated_at"])
    return product


@transaction.atomic
def adjust_stock(user, product_id: int, delta: int) -> Product:
    """Add (or remove) units relative to the stock as it is, under the lock orders take; who
    may change the product may adjust its stock."""
    permissions.require_authenticated(user, "Sign in to change products.")
    product = visible_product(user, product_id)
    permissions.require_change_product(user, product)
    return inventory.adjust(product, delta)


@transaction.atomic
def delete_product(user, product_id: int) -> int:
    permissions.require_authenticated(user, "Sign in to delete products.")
    product = visible_product(user, product_id, lock=True)
    permissions.require_delete_product(user, product)
    if product.order_items.exists():
        raise ValidationError(
            {"id": ValidationError(
                "Products that were ordered cannot be deleted; unpublish it instead.",
                code="protected",
            )}
        )
    files = [image.image.name for image in product.images.all() if image.image.name]
    product.delete()
    _delete_files_after_commit(files)
    return product_id


# Images --------------------------------------------------------------------------------------

def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        if name:
            default_storage.delete(name)


def _delete_files_after_commit(names: list[str]) -> None:
    transaction.on_commit(lambda: _delete_files(names))


def stored_name(client_name: str, image_format: str) -> str:
    """The name an upload is stored under: the client's stem, made safe, and the extension of
    the format Pillow found in its bytes. Servers (ours, a CDN) type files by extension: a PNG
    sent as `x.html` must not be stored, and served, as HTML."""
    stem = slugify(Path(client_name or "").stem)[:60] or "image"
    return f"{stem}.{IMAGE_EXTENSIONS.get(image_format, image_format.lower())}"


# Pillow's format names and the extension a browser knows each by.
IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp",
                    "AVIF": "avif", "MPO": "jpg"}


def _clean_images(images: list[dict[str, Any]], errors: Errors, *,
                  file_key: str | None = "file") -> int:
    """Check images ({file, alt_text, is_primary}) against the upload limits and that each
    file is an image; the index of the primary one. A file's errors are keyed
    `images.N.<file_key>` (`images.N` without one)."""
    if len(images) > settings.UPLOAD_MAX_IMAGES_PER_PRODUCT:
        errors.add(
            "images",
            f"Send at most {settings.UPLOAD_MAX_IMAGES_PER_PRODUCT} images.",
            "max_length",
        )
    primaries = [index for index, image in enumerate(images) if image.get("is_primary")]
    if len(primaries) > 1:
        errors.add("images", "Mark at most one image as primary.", "invalid")
    for index, image in enumerate(images):
        upload = image["file"]
        where = f"images.{index}.{file_key}" if file_key else f"images.{index}"
        if upload.size > settings.UPLOAD_MAX_IMAGE_BYTES:
            errors.add(
                where,
                f"Images may have at most {settings.UPLOAD_MAX_IMAGE_BYTES} bytes.",
                "too_large",
            )
            continue
        try:
            checked = ImageFormField().to_python(upload)
        except ValidationError:
            errors.add(where, "This file is not an image.", "invalid_image")
        else:
            # ImageField's to_python gives the file the Pillow image it opened.
            upload.name = stored_name(upload.name, checked.image.format)  # type: ignore[union-attr]
        upload.seek(0)
        if len(image.get("alt_text") or "") > 200:
            errors.add(f"images.{index}.alt_text", "Use at most 200 characters.", "max_length")
    return primaries[0] if primaries else 0


def _store_images(product: Product, images: list[dict[str, Any]], primary: int,
                  stored: list[str] | None = None) -> None:
    """Save checked images as the product's, in order; the names of the files written to
    storage are appended to `stored` (even when saving the row then fails)."""
    for index, image in enumerate(images):
        row = ProductImage(
            product=product,
            image=image["file"],
            alt_text=image.get("alt_text") or "",
            is_primary=index == primary,
            position=index,
        )
        try:
            row.save(force_insert=True)
        finally:
            written = row.image._committed  # type: ignore[attr-defined]  # FieldFile's
            if stored is not None and written and row.image.name:
                stored.append(row.image.name)


@transaction.atomic
def set_product_images(user, product_id: int, images: list[dict[str, Any]]) -> Product:
    """Replace the product's images by `images` ({file, alt_text, is_primary}), in order."""
    permissions.require_authenticated(user, "Sign in to change products.")
    product = visible_product(user, product_id, lock=True)
    permissions.require_change_product(user, product)
    errors = Errors()
    primary = _clean_images(images, errors)
    errors.raise_if_any()
    old_files = [image.image.name for image in product.images.all() if image.image.name]
    product.images.all().delete()
    _store_images(product, images, primary)
    _delete_files_after_commit(old_files)
    return product


# Reviews -------------------------------------------------------------------------------------

def _clean_review_values(values: dict[str, Any], errors: Errors, *, creating: bool) -> dict:
    cleaned: dict[str, Any] = {}
    if "rating" in values:
        rating = values["rating"]
        if rating is None:
            errors.add("rating", "Give a rating.", "required")
        elif not 1 <= rating <= 5:
            errors.add("rating", "The rating goes from 1 to 5.", "out_of_range")
        else:
            cleaned["rating"] = rating
    if "title" in values:
        cleaned["title"] = _required_text(values, "title", errors, "Enter a title.")
    if "body" in values:
        cleaned["body"] = values["body"] or ""
    if creating:
        for field in ("rating", "title"):
            if field not in values and field not in errors.by_field:
                errors.add(field, f"Enter the {field}.", "required")
    return cleaned


@transaction.atomic
def add_review(user, product_id: int, **values: Any) -> Review:
    permissions.require_review(user)
    product = visible_product(user, product_id)
    errors = Errors()
    cleaned = _clean_review_values(values, errors, creating=True)
    if Review.objects.filter(product=product, author=user).exists():
        errors.add("product", "You have already reviewed this product.", "already_reviewed")
    errors.raise_if_any()
    try:
        with transaction.atomic():
            return Review.objects.create(product=product, author=user, **cleaned)
    except IntegrityError:  # a concurrent request of the same author won
        raise ValidationError(
            {"product": ValidationError(
                "You have already reviewed this product.", code="already_reviewed"
            )}
        ) from None


@transaction.atomic
def update_review(user, review_id: int, **values: Any) -> Review:
    permissions.require_authenticated(user, "Sign in to change reviews.")
    review = visible_review(user, review_id, lock=True)
    permissions.require_change_review(user, review)
    errors = Errors()
    cleaned = _clean_review_values(values, errors, creating=False)
    errors.raise_if_any()
    for field, value in cleaned.items():
        setattr(review, field, value)
    review.save()
    return review


@transaction.atomic
def delete_review(user, review_id: int) -> int:
    permissions.require_authenticated(user, "Sign in to delete reviews.")
    review = visible_review(user, review_id, lock=True)
    permissions.require_delete_review(user, review)
    review.delete()
    return review_id


# Favorites -----------------------------------------------------------------------------------

@transaction.atomic
def toggle_favorite(user, product_id: int) -> tuple[Product, bool]:
    """Favorite the product, or unfavorite it if it was; returns (product, favorited now)."""
    permissions.require_authenticated(user, "Sign in to keep favorites.")
    product = visible_product(user, product_id)
    deleted, _ = Favorite.objects.filter(user=user, product=product).delete()
    if deleted:
        return product, False
    try:
        with transaction.atomic():
            Favorite.objects.create(user=user, product=product)
    except IntegrityError:  # a concurrent toggle already favorited it
        pass
    return product, True
