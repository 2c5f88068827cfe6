import graphene
from graphene_django import DjangoConnectionField

from orders.models import Order
from orders.types import OrderType
from schema.errors import Unauthenticated


class Query(graphene.ObjectType):
    my_orders = DjangoConnectionField(OrderType, description="The viewer's orders, newest first.")

    def resolve_my_orders(self, info, **kwargs):
        if not info.context.user.is_authenticated:
            raise Unauthenticated("Sign in to see your orders.")
        return Order.objects.filter(user=info.context.user)
