from django.contrib import admin

from products.models import Category, Favorite, Product, ProductImage, Review


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "stock", "is_published", "created_at"]
    list_filter = ["is_published", "category"]
    search_fields = ["name", "description"]
    readonly_fields = ["slug", "created_at", "updated_at"]
    autocomplete_fields = ["category", "created_by"]
    inlines = [ProductImageInline]

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
