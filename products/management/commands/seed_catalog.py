"""Seed a realistic demo catalog: a category tree, products with images, reviews, orders.

Deterministic for a given --seed and idempotent: a second run adds nothing. The images are
real files, written to the image field's storage (MEDIA_ROOT) unless they exist already.
"""
from __future__ import annotations

import colorsys
import io
import random
import textwrap
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from orders.models import Order, OrderItem
from products.models import Category, Favorite, Product, ProductImage, Review

# Each leaf category names the noun its products are called by ("Studio Oak Knife").
TREE = {
    "Electronics": {
        "Audio": {"Headphones": "Headphones", "Speakers": "Speaker", "Turntables": "Turntable"},
        "Computers": {"Laptops": "Laptop", "Monitors": "Monitor", "Keyboards": "Keyboard"},
        "Cameras": {"Mirrorless": "Mirrorless Camera", "Lenses": "Lens"},
    },
    "Home & Kitchen": {
        "Kitchen": {"Cookware": "Saucepan", "Knives": "Knife", "Coffee": "Coffee Grinder"},
        "Furniture": {"Chairs": "Chair", "Desks": "Desk", "Shelving": "Shelf"},
    },
    "Outdoors": {
        "Camping": {"Tents": "Tent", "Sleeping Bags": "Sleeping Bag"},
        "Cycling": {"Bikes": "Bike", "Helmets": "Helmet", "Lights": "Bike Light"},
    },
    "Books": {
        "Fiction": {"Science Fiction": "Science Fiction Novel", "Mystery": "Mystery Novel"},
        "Non-fiction": {"History": "History Book", "Science": "Science Book"},
    },
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
DEMO_IMAGE_DIR = "products/demo"


def demo_image_name(product_slug: str, position: int) -> str:
    return f"{DEMO_IMAGE_DIR}/{product_slug}-{position + 1}.png"


class DemoImages:
    """Draws the demo images: a flat colour of its own per product and view, with the
    product's name and the view number on it, as a 16-colour PNG (about 1 KB).

    Fast enough for thousands (under half a millisecond each, as long as writing the file
    takes): each distinct word is rasterised once (greyscale, quantised to 16 levels), an
    image is words pasted onto a blank canvas, whose palette maps the 16 levels from the
    background colour to the text colour: antialiased text, without an RGB image to quantise.
    """

    SIZE = (320, 240)
    LEVELS = 16
    # Measuring text costs more than drawing it: wrap by length. 20 characters of the
    # seed's words take at most 231 px of the 320; three lines at most, and the view's.
    CHARACTERS_PER_LINE = 20

    def __init__(self, storage) -> None:
        self.storage = storage
        self.font = ImageFont.load_default(size=20)
        self.line_height = 26
        self.space = round(self.font.getlength(" "))
        self.to_level = [(value * (self.LEVELS - 1) + 127) // 255 for value in range(256)]
        self.words: dict[str, Image.Image] = {}
        self.directories: set[Path] = set()
        self.written = 0

    def word(self, text: str) -> Image.Image:
        if text not in self.words:
            mask = Image.new("L", (max(1, round(self.font.getlength(text))), self.line_height))
            ImageDraw.Draw(mask).text((0, 3), text, fill=255, font=self.font)
            self.words[text] = mask.point(self.to_level)
        return self.words[text]

    def render(self, lines: list[str], background, ink) -> bytes:
        canvas = Image.new("L", self.SIZE, 0)
        top = (self.SIZE[1] - self.line_height * len(lines)) // 2
        for number, line in enumerate(lines):
            words = [self.word(text) for text in line.split()]
            left = (self.SIZE[0] - sum(word.width + self.space for word in words)
                    + self.space) // 2
            for word in words:
                canvas.paste(word, (left, top + number * self.line_height))
                left += word.width + self.space
        palette = []
        for level in range(self.LEVELS):
            share = level / (self.LEVELS - 1)
            palette += [round(b + (i - b) * share) for b, i in zip(background, ink, strict=True)]
        canvas.putpalette(palette)
        buffer = io.BytesIO()
        canvas.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def ensure(self, name: str, product_name: str, position: int, rng: random.Random) -> None:
        """Write image `name` unless the storage has it already (`rng` picks its colours)."""
        if self.storage.exists(name):
            return
        hue = rng.random()
        background = rgb(hue, 0.25 + 0.3 * rng.random(), 0.9 + 0.08 * rng.random())
        ink = rgb(hue, 0.6, 0.22)
        lines = [*textwrap.wrap(product_name, self.CHARACTERS_PER_LINE), "",
                 f"view {position + 1}"]
        self.written += self.write(name, self.render(lines, background, ink))

    def write(self, name: str, data: bytes) -> bool:
        """Store `data` as `name` unless it exists; False if it did."""
        try:
            path = Path(self.storage.path(name))
        except NotImplementedError:  # a remote storage
            saved = self.storage.save(name, ContentFile(data))
            if saved == name:
                return True
            self.storage.delete(saved)  # another process wrote `name` meanwhile
            return False
        # Straight to the file system: Storage.save() costs twice the system calls (a
        # directory check, a lock, a chmod), half a second more for bin/run's 4,000 images.
        if path.parent not in self.directories:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.directories.add(path.parent)
        try:
            with open(path, "xb") as file:
                file.write(data)
        except FileExistsError:
            return False
        return True


def rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


class Command(BaseCommand):
    help = "Seed a deterministic demo catalog (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--products", type=int, default=2000)
        parser.add_argument("--users", type=int, default=40)
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--if-empty", action="store_true",
            help="When products already exist, only write demo image files that are missing.",
        )

    def handle(self, *args, seed: int, products: int, users: int, quiet: bool, **options):
        rng = random.Random(seed)
        self.seed = seed
        self.quiet = quiet or options["verbosity"] == 0
        self.images = DemoImages(ProductImage._meta.get_field("image").storage)
        if options["if_empty"] and Product.objects.exists():
            self.restore_images()
            return
        with transaction.atomic():
            people = self.seed_users(users)
            leaves = self.seed_categories()
            catalog = self.seed_products(rng, products, leaves, people)
            self.seed_images(catalog)
            self.seed_reviews(catalog, people)
            self.seed_favorites_and_orders(catalog, people)
        if not self.quiet:
            self.stdout.write(self.style.SUCCESS(
                f"Catalog ready: {Product.objects.count()} products "
                f"({self.images.written} image files written), "
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
        """The categories of TREE; returns the leaves. `self.nouns`: leaf pk -> noun."""
        leaves: list[Category] = []
        self.nouns: dict[int, str] = {}

        def plant(name: str, parent: Category | None, children: dict | str) -> None:
            category, _ = Category.objects.get_or_create(
                slug=slugify(name), defaults={"name": name, "parent": parent}
            )
            if isinstance(children, str):
                leaves.append(category)
                self.nouns[category.pk] = children
                return
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
                name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {self.nouns[category.pk]}"
                article = "An" if name[0] in "AEIOU" else "A"
                batch.append(Product(
                    name=name,
                    slug=f"{slugify(name)}-{number + 1}",
                    description=f"{article} {name.lower()} from our {category.name.lower()} range.",
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
        """One to three images per product that has none, their files written as well."""
        self.restore_images()
        have_images = set(ProductImage.objects.values_list("product_id", flat=True))
        width, height = DemoImages.SIZE
        images = []
        for product in self.progress(catalog, "images"):
            if product.pk in have_images:
                continue
            for position in range(self.rng_for("images", product.slug).randint(1, 3)):
                name = demo_image_name(product.slug, position)
                self.images.ensure(name, product.name, position, self.image_rng(name))
                images.append(ProductImage(
                    product=product,
                    image=name,
                    # Known sizes: nothing opens the files to measure them.
                    width=width,
                    height=height,
                    alt_text=f"{product.name}, view {position + 1}",
                    is_primary=position == 0,
                    position=position,
                ))
        ProductImage.objects.bulk_create(images, batch_size=BATCH)

    def restore_images(self) -> None:
        """Give the demo images already in the database their files, where missing.

        For a MEDIA_ROOT emptied since, and for rows of older seeds, which recorded .jpg
        names and wrote no files: those are renamed to the .png written now, and measured.
        """
        width, height = DemoImages.SIZE
        restored = []
        for pk, name, measured, position, slug, product_name in ProductImage.objects.filter(
            image__startswith=f"{DEMO_IMAGE_DIR}/"
        ).values_list("pk", "image", "width", "position", "product__slug", "product__name"):
            expected = demo_image_name(slug, position)
            self.images.ensure(expected, product_name, position, self.image_rng(expected))
            if name != expected or measured != width:
                restored.append(ProductImage(pk=pk, image=expected, width=width, height=height))
        ProductImage.objects.bulk_update(restored, ["image", "width", "height"],
                                         batch_size=BATCH)

    def image_rng(self, name: str) -> random.Random:
        return self.rng_for("image", name)

    def seed_reviews(self, catalog, people) -> None:
        reviews = []
        for product in self.progress(catalog, "reviews"):
            rng = self.rng_for("reviews", product.slug)
            for author in rng.sample(people, rng.randint(0, min(8, len(people)))):
                rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 3, 5, 5])[0]
                reviews.append(Review(
                    product=product, author=author, rating=rating,
                    title=rng.choice(REVIEW_TITLES[rating]),
                    body=f"{rating} star{'s' * (rating > 1)} for the {product.name.lower()}.",
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
