import graphene

from accounts.models import ApiKey
from accounts.types import ApiKeyType, UserType
from accounts.viewer import NotAuthenticated, is_signed_in
from schema.per_viewer import per_viewer


class Query(graphene.ObjectType):
    me = per_viewer(
        graphene.Field(UserType, description="The signed-in user; null when anonymous.")
    )
    my_api_keys = per_viewer(graphene.List(
        graphene.NonNull(ApiKeyType),
        required=True,
        description="The viewer's API keys, newest first (prefix only, never the secret).",
    ))

    def resolve_me(self, info):
        user = info.context.user
        return user if is_signed_in(user) else None

    def resolve_my_api_keys(self, info):
        user = info.context.user
        if not is_signed_in(user):
            raise NotAuthenticated("Sign in to see your API keys.")
        return ApiKey.objects.filter(owner=user)
