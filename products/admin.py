from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from products import inventory
from products.models import Category, Favorite, Product, ProductImage, Review

ADJUST_STOCK = "adjust_stock_by"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0


class ProductForm(forms.ModelForm):
    """A product's stock moves by a relative adjustment once the product exists: a number
    typed over the one the form showed would undo every order placed while it was open."""

    adjust_stock_by = forms.IntegerField(
        required=False,
        help_text="Units to add (a delivery), or to remove when negative. Applied to the "
        "stock as it is when you save, so orders placed meanwhile are kept.",
    )

    class Meta:
        model = Product
        fields = ["name", "description", "price", "stock", "is_published", "popularity_score",
                  "category", "created_by"]

    def clean_adjust_stock_by(self) -> int | None:
        """Refuse at once what would take the stock below 0 as this form read it; the same
        check runs again under the lock when saving."""
        delta = self.cleaned_data[ADJUST_STOCK]
        if delta and self.instance.stock + delta < 0:
            raise ValidationError(
                "Only %(stock)s in stock: remove at most that many.",
                code=inventory.OUT_OF_STOCK, params={"stock": self.instance.stock},
            )
        return delta


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "stock", "is_published", "created_at"]
    list_filter = ["is_published", "category"]
    search_fields = ["name", "description"]
    readonly_fields = ["slug", "created_at", "updated_at"]
    autocomplete_fields = ["category", "created_by"]
    inlines = [ProductImageInline]
    form = ProductForm

    def get_readonly_fields(self, request, obj=None):
        """`stock` is typed in for a new product only; afterwards it is adjusted."""
        readonly = [*super().get_readonly_fields(request, obj)]
        return readonly if obj is None else [*readonly, "stock"]

    def get_fields(self, request, obj=None):
        """The stock, then (for an existing product) its adjustment, last."""
        fields = [f for f in super().get_fields(request, obj) if f not in ("stock", ADJUST_STOCK)]
        return [*fields, "stock"] if obj is None else [*fields, "stock", ADJUST_STOCK]

    def save_model(self, request, obj, form, change) -> None:
        """Apply the adjustment through products.inventory under the lock orders take, then
        save the other fields without `stock`: the value read for this form may be stale."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        delta = form.cleaned_data.get(ADJUST_STOCK)
        if delta:
            try:
                inventory.adjust(obj, delta, announce=False)  # the save below announces it
            except ValidationError as error:  # orders took the units since the form's check
                self.message_user(request, f"Stock not adjusted: {' '.join(error.messages)}",
                                  messages.ERROR)
            else:
                self.message_user(request, f"Stock adjusted by {delta:+d}: now {obj.stock}.")
        obj.save(update_fields=[
            field.name for field in Product._meta.concrete_fields
            if not field.primary_key and field.name != "stock"
        ])

    def get_queryset(self, request):
        # Admin is a read path too, so it applies the one rule; today only active staff get
        # in, and the rule shows them everything.
        return super().get_queryset(request).visible_to(request.user)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "author", "rating", "created_at"]
    list_filter = ["rating"]
    raw_id_fields = ["product", "author"]


@admin.register(Favorite)
class FavoriteAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "created_at"]
    raw_id_fields = ["product", "user"]
