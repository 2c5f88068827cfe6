"""The catalog: a category tree, products, their images, reviews and favorites."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.text import slugify

from products.media import SizedImageField
from products.querysets import CategoryQuerySet, ProductQuerySet, ReviewQuerySet


def unique_slug(model: type[models.Model], text: str, max_length: int = 200) -> str:
    """A slug for `text` that no row of `model` uses yet (suffixing -2, -3, ...)."""
    base = (slugify(text) or "item")[: max_length - 8]
    slug, counter = base, 1
    while model._default_manager.filter(slug=slug).exists():
        counter += 1
        slug = f"{base}-{counter}"
    return slug


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, related_name="children", on_delete=models.PROTECT
    )

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("pk")), name="category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = unique_slug(Category, self.name, 140)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuse a parent that is this category or lies below it: the tree has no cycles."""
        ancestor = self.parent
        while ancestor is not None:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": "A category cannot be placed under itself."})
            ancestor = ancestor.parent


class Product(models.Model):
    name = models.CharField(max_length=200)
    # Generated once from the name and never changed, so links stay valid after a rename.
    slug = models.SlugField(max_length=220, unique=True, editable=False)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0.01)]
    )
    stock = models.PositiveIntegerField(default=0)
    is_published = models.BooleanField(default=False)
    popularity_score = models.FloatField(default=0)
    category = models.ForeignKey(Category, related_name="products", on_delete=models.PROTECT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="products",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
        ]
        indexes = [
            models.Index(fields=["is_published", "-created_at"]),
            models.Index(fields=["is_published", "-popularity_score"]),
            models.Index(fields=["category", "is_published"]),
            models.Index(fields=["price"]),
            models.Index(fields=["name"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = unique_slug(Product, self.name, 220)
        super().save(*args, **kwargs)
        self.published_when_loaded = self.is_published

    @classmethod
    def from_db(cls, db, field_names, values):
        """Remember whether the row was published when loaded: an update's live event tells
        the subscribers who saw it that it left their view (subscriptions/events.py)."""
        product = super().from_db(db, field_names, values)
        product.published_when_loaded = product.__dict__.get("is_published")
        return product

    @property
    def is_available(self) -> bool:
        return self.is_published and self.stock > 0


class ProductImage(models.Model):
    product = models.ForeignKey(Product, related_name="images", on_delete=models.CASCADE)
    # width and height are measured when a file is assigned or saved (uploads), or set by
    # whoever creates the row knowing them (the demo seed); null when never measured.
    image = SizedImageField(upload_to="products/%Y/%m/", width_field="width",
                            height_field="height")
    alt_text = models.CharField(max_length=200, blank=True)
    is_primary = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["product", "-is_primary", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_primary=True),
                name="one_primary_image_per_product",
            ),
        ]

    def __str__(self) -> str:
        return self.alt_text or self.image.name or ""


class Review(models.Model):
    product = models.ForeignKey(Product, related_name="reviews", on_delete=models.CASCADE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="reviews", on_delete=models.CASCADE
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["product", "author"], name="one_review_per_author"),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["product", "-created_at", "-id"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.rating}/5)"


class Favorite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="favorites", on_delete=models.CASCADE
    )
    product = models.ForeignKey(Product, related_name="favorites", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="one_favorite_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} likes {self.product}"
