from django.contrib import admin

from accounts.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created through the API (the plain key is shown once); here they can be
    inspected and deactivated, never read back."""

    list_display = ["name", "owner", "prefix", "is_active", "expires_at", "last_used",
                    "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["owner", "prefix", "last_used", "created_at"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request) -> bool:
        return False
