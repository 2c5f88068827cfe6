import graphene
from graphene_django.registry import get_global_registry

from accounts.viewer import NotAuthenticated, is_signed_in
from orders import services
from orders.models import Order
from orders.types import OrderType
from products.models import Product
from schema.pagination import BoundedConnectionField, validate_page_args
from schema.per_viewer import per_viewer


def _product_type():
    # The catalog's GraphQL type, found through graphene-django's registry rather than by
    # importing another app's GraphQL module.
    return get_global_registry().get_type_for_model(Product)


class Query(graphene.ObjectType):
    my_orders = per_viewer(
        BoundedConnectionField(OrderType, description="The viewer's orders, newest first.")
    )
    recommendations = per_viewer(graphene.List(
        graphene.NonNull(_product_type),
        required=True,
        first=graphene.Int(default_value=10, description="How many, 1 to 100; 10 by default."),
        description=(
            "Products from categories the viewer ordered from that they have not bought, "
            "best rated first. Empty for anonymous viewers."
        ),
    ))

    def resolve_my_orders(self, info, **kwargs):
        if not is_signed_in(info.context.user):
            raise NotAuthenticated("Sign in to see your orders.")
        return Order.objects.filter(user=info.context.user)

    def resolve_recommendations(self, info, first):
        validate_page_args({"first": first})
        return services.recommendations(info.context.user, first)
