import graphene

from accounts.types import UserType


class Query(graphene.ObjectType):
    me = graphene.Field(UserType, description="The signed-in user; null when anonymous.")

    def resolve_me(self, info):
        user = info.context.user
        return user if user.is_authenticated else None
