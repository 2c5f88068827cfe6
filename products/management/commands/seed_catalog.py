"""Seed a realistic demo catalog: a category tree, products with images, reviews, orders.

Deterministic for a given --seed and idempotent: a second run adds nothing.
"""
from __future__ import annotations

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify
from tqdm import tqdm

from orders.models import Order, OrderItem
from products.models import Category, Favorite, Product, ProductImage, Review

TREE = {
    "Electronics": {
        "Audio": ["Headphones", "Speakers", "Turntables"],
        "Computers": ["Laptops", "Monitors", "Keyboards"],
        "Cameras": ["Mirrorless", "Lenses"],
    },
    "Home & Kitchen": {
        "Kitchen": ["Cookware", "Knives", "Coffee"],
        "Furniture": ["Chairs", "Desks", "Shelving"],
    },
    "Outdoors": {
        "Camping": ["Tents", "Sleeping Bags"],
        "Cycling": ["Bikes", "Helmets", "Lights"],
    },
    "Books": {"Fiction": ["Science Fiction", "Mystery"], "Non-fiction": ["History", "Science"]},
}
ADJECTIVES = [
    "Compact", "Classic", "Pro", "Ultralight", "Everyday", "Studio", "Rugged", "Smart",
    "Vintage", "Modular", "Quiet", "Wireless", "Handmade", "Premium", "Travel", "Eco",
]
MATERIALS = ["Oak", "Steel", "Carbon", "Walnut", "Aluminium", "Ceramic", "Wool", "Bamboo"]
REVIEW_TITLES = {
    1: ["Disappointing", "Broke quickly", "Not as described"],
    2: ["Meh", "Could be better", "Overpriced"],
    3: ["It's fine", "Does the job", "Average"],
    4: ["Very good", "Happy with it", "Solid choice"],
    5: ["Excellent!", "Love it", "Best purchase this year"],
}
DEMO_PASSWORD = "vitrine-demo"
BATCH = 500


class Command(BaseCommand):
    help = "Seed a deterministic demo catalog (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--products", type=int, default=2000)
        parser.add_argument("--users", type=int, default=40)
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when products already exist."
        )

    def handle(self, *args, seed: int, products: int, users: int, quiet: bool, **options):
        if options["if_empty"] and Product.objects.exists():
            return
        rng = random.Random(seed)
        self.seed = seed
        self.quiet = quiet or options["verbosity"] == 0
        with transaction.atomic():
            people = self.seed_users(users)
            leaves = self.seed_categories()
            catalog = self.seed_products(rng, products, leaves, people)
            self.seed_images(catalog)
            self.seed_reviews(catalog, people)
            self.seed_favorites_and_orders(catalog, people)
        if not self.quiet:
            self.stdout.write(self.style.SUCCESS(
                f"Catalog ready: {Product.objects.count()} products, "
                f"{Review.objects.count()} reviews, {Order.objects.count()} orders. "
                f"Sign in as demo / staff with password {DEMO_PASSWORD!r}."
            ))

    def rng_for(self, purpose: str, name: str) -> random.Random:
        """A generator of its own per row, so rows skipped on a second run change nothing."""
        return random.Random(f"{self.seed}:{purpose}:{name}")

    def progress(self, iterable, description: str, total: int | None = None):
        return tqdm(iterable, desc=description, total=total, disable=self.quiet, unit=" rows")

    def seed_users(self, count: int) -> list:
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)
        User.objects.get_or_create(
            username="staff", defaults={"is_staff": True, "is_superuser": True,
                                        "password": password, "email": "staff@example.com"}
        )
        names = ["demo", *(f"shopper{n:03d}" for n in range(1, count))]
        User.objects.bulk_create(
            [User(username=name, email=f"{name}@example.com", password=password) for name in names],
            ignore_conflicts=True,
        )
        return list(User.objects.filter(username__in=names).order_by("username"))

    def seed_categories(self) -> list[Category]:
        leaves = []

        def plant(name: str, parent: Category | None, children) -> None:
            category, _ = Category.objects.get_or_create(
                slug=slugify(name), defaults={"name": name, "parent": parent}
            )
            if not children:
                leaves.append(category)
                return
            if not isinstance(children, dict):
                children = dict.fromkeys(children)
            for child_name, grandchildren in children.items():
                plant(child_name, category, grandchildren)

        for root, subtree in TREE.items():
            plant(root, None, subtree)
        return leaves

    def seed_products(self, rng, count: int, leaves, people) -> list[Product]:
        creators = people[:5]
        batches = range(0, count, BATCH)
        for start in self.progress(batches, "product batches", total=len(batches)):
            batch = []
            for number in range(start, min(start + BATCH, count)):
                category = rng.choice(leaves)
                kind = category.name.rstrip("s")
                name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {kind}"
                batch.append(Product(
                    name=name,
                    slug=f"{slugify(name)}-{number + 1}",
                    description=f"A {name.lower()} from our {category.name.lower()} range.",
                    price=Decimal(rng.randint(299, 99999)) / 100,
                    stock=rng.choice([0, 1, 3, 10, 25, 100]),
                    # Roughly one in twelve stays a draft of its creator.
                    is_published=rng.random() > 0.08,
                    popularity_score=round(rng.random() * 100, 2),
                    category=category,
                    created_by=rng.choice(creators),
                ))
            Product.objects.bulk_create(batch, ignore_conflicts=True)
        return list(Product.objects.order_by("pk"))

    def seed_images(self, catalog) -> None:
        have_images = set(ProductImage.objects.values_list("product_id", flat=True))
        images = []
        for product in self.progress(catalog, "images"):
            if product.pk in have_images:
                continue
            for position in range(self.rng_for("images", product.slug).randint(1, 3)):
                images.append(ProductImage(
                    product=product,
                    image=f"products/demo/{product.slug}-{position + 1}.jpg",
                    alt_text=f"{product.name}, view {position + 1}",
                    is_primary=position == 0,
                    position=position,
                ))
        ProductImage.objects.bulk_create(images, batch_size=BATCH)

    def seed_reviews(self, catalog, people) -> None:
        reviews = []
        for product in self.progress(catalog, "reviews"):
            rng = self.rng_for("reviews", product.slug)
            for author in rng.sample(people, rng.randint(0, min(8, len(people)))):
                rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 3, 5, 5])[0]
                reviews.append(Review(
                    product=product, author=author, rating=rating,
                    title=rng.choice(REVIEW_TITLES[rating]),
                    body=f"{rating} stars for the {product.name.lower()}.",
                ))
        Review.objects.bulk_create(reviews, batch_size=BATCH, ignore_conflicts=True)

    def seed_favorites_and_orders(self, catalog, people) -> None:
        published = [product for product in catalog if product.is_published]
        Favorite.objects.bulk_create(
            [Favorite(user=person, product=product)
             for person in people
             for product in self.rng_for("favorites", person.username).sample(
                 published, min(5, len(published)))],
            ignore_conflicts=True,
        )
        with_orders = set(Order.objects.values_list("user_id", flat=True))
        for person in self.progress(people, "orders"):
            if person.pk in with_orders:
                continue
            rng = self.rng_for("orders", person.username)
            for _ in range(rng.randint(0, 3)):
                order = Order.objects.create(user=person, status=rng.choice(Order.Status.values))
                OrderItem.objects.bulk_create([
                    OrderItem(order=order, product=product, quantity=rng.randint(1, 3),
                              unit_price=product.price)
                    for product in rng.sample(published, rng.randint(1, min(4, len(published))))
                ])
