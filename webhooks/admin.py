"""The admin's view of webhooks: endpoints (why one was disabled), deliveries, and the same
actions as GraphQL (rotate a secret, send a test, redeliver), through webhooks.services."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from webhooks import services, signing
from webhooks.catalog import EVENT_TYPES
from webhooks.models import WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=list(EVENT_TYPES.items()), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        services.check_url(url)
        return url


def _run(modeladmin, request, queryset, action, done: str) -> None:
    for item in queryset:
        try:
            action(request.user, item.pk)
        except ValidationError as error:
            modeladmin.message_user(request, f"{item}: {' '.join(error.messages)}",
                                    messages.ERROR)
        else:
            modeladmin.message_user(request, f"{item}: {done}")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "is_active", "consecutive_failures", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["secret", "previous_secret_expires_at", "disabled_reason", "disabled_at",
                       "consecutive_failures", "created_at", "updated_at"]
    actions = ["rotate_secret", "send_test"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.secret = signing.new_secret()
        if change and "is_active" in form.changed_data and obj.is_active:
            obj.consecutive_failures, obj.disabled_reason, obj.disabled_at = 0, "", None
        super().save_model(request, obj, form, change)

    @admin.action(description="Rotate the secret (the old one signs for the grace period)")
    def rotate_secret(self, request, queryset) -> None:
        _run(self, request, queryset, services.rotate_secret, "new secret; see the endpoint.")

    @admin.action(description="Send a webhook.test event")
    def send_test(self, request, queryset) -> None:
        _run(self, request, queryset, services.send_test, "test event queued.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code",
                    "last_error", "next_attempt_at", "created_at"]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = ["endpoint", "event", "object_key", "status", "attempts",
                       "next_attempt_at", "locked_until", "last_attempt_at", "last_status_code",
                       "last_error", "response_excerpt", "delivered_at", "created_at", "body"]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Body sent")
    def body(self, delivery: WebhookDelivery) -> str:
        return delivery.event.body

    @admin.action(description="Redeliver (same webhook-id and body)")
    def redeliver(self, request, queryset) -> None:
        _run(self, request, queryset, services.redeliver, "queued again.")
