"""Who sees which product: the catalog's one visibility rule, written once, as data.

`alternatives(viewer)` is the rule: None when the viewer sees every product (staff), else the
conditions of which a visible product meets at least one (published; or, for a signed-in
viewer, created by them). Both forms of the rule derive from it, so they cannot disagree:

- `visible(queryset, viewer)`, the SQL filter every read path goes through (lists, node
  lookups, search, related and popular products, loaders, subscriptions, the admin);
- `can_see(viewer, product)`, the same test on a product already in memory (a live event's
  deleted product, a removal's previous state), without a query.

tests/test_visibility_rule.py checks them against each other for every kind of viewer and
product. A product the viewer may not see is reported exactly like one that does not exist.
"""
from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any, TypeVar

from django.db.models import Q, QuerySet

from accounts.viewer import is_signed_in, is_staff


def alternatives(viewer: Any) -> list[dict[str, Any]] | None:
    if is_staff(viewer):
        return None
    published = {"is_published": True}
    if is_signed_in(viewer):
        return [published, {"created_by_id": viewer.pk}]
    return [published]


QuerySetT = TypeVar("QuerySetT", bound=QuerySet[Any])


def visible(queryset: QuerySetT, viewer: Any) -> QuerySetT:
    conditions = alternatives(viewer)
    if conditions is None:
        return queryset
    return queryset.filter(reduce(or_, (Q(**condition) for condition in conditions)))


def can_see(viewer: Any, product: Any) -> bool:
    conditions = alternatives(viewer)
    return conditions is None or any(
        all(getattr(product, name) == value for name, value in condition.items())
        for condition in conditions
    )
