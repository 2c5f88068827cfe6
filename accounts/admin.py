from django.contrib import admin, messages
from graphql_jwt.refresh_token.models import RefreshToken as PlainRefreshToken

from accounts import services
from accounts.models import ApiKey, RefreshToken

# graphql_jwt's table held refresh tokens in plain text; accounts.RefreshToken replaced it
# (migration 0002 moved its rows), so its admin would only show an empty, misleading list.
if admin.site.is_registered(PlainRefreshToken):
    admin.site.unregister(PlainRefreshToken)


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


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    """Issued by signing in and refreshing; here they can be inspected and revoked, a whole
    sign-in (family) at a time. Only hashes are stored, so no token can be read back."""

    list_display = ["user", "created", "revoked", "family"]
    list_filter = ["revoked"]
    search_fields = ["user__username", "family"]
    readonly_fields = ["user", "family", "created", "revoked"]
    exclude = ["token_hash"]
    actions = ["revoke_sign_ins"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens' sign-ins (their whole families)")
    def revoke_sign_ins(self, request, queryset) -> None:
        revoked = services.revoke_families(queryset.values_list("family", flat=True))
        self.message_user(request, f"{revoked} refresh tokens revoked.", messages.SUCCESS)
