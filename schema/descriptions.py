"""Descriptions for the fields graphene-django converts from model fields.

graphene-django describes a converted field only with its model field's `help_text` (which
would need migrations to change). `describe_fields` sets the descriptions on the fields it
converted, leaving their types, nullability and resolvers exactly as they are, so the schema
changes only in its descriptions. tests/test_schema_descriptions.py checks that nothing is left
undescribed.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from graphene import Dynamic

T = TypeVar("T", bound=type)


def _described(get_field: Callable[..., Any], description: str, **kwargs: Any) -> Any:
    field = get_field(**kwargs)
    if field is not None:
        field.description = description
    return field


def describe_fields(**descriptions: str) -> Callable[[T], T]:
    """Class decorator for a DjangoObjectType: `description` for each named field (snake_case
    names, as in `Meta.fields`). Foreign keys are converted lazily (graphene's `Dynamic`): their
    description is set when the schema builds them. An unknown name fails at import."""

    def decorate(graphene_type: T) -> T:
        meta = graphene_type._meta  # type: ignore[attr-defined]
        fields = meta.fields
        for name, description in descriptions.items():
            if name not in fields:
                raise KeyError(f"{graphene_type.__name__} has no field {name!r} to describe")
            if any(name in interface._meta.fields for interface in meta.interfaces):
                # The interface's field object is shared by every type implementing it.
                raise ValueError(f"{name!r} comes from an interface: describe it there")
            field = fields[name]
            if isinstance(field, Dynamic):
                fields[name] = Dynamic(
                    partial(_described, field.type, description), with_schema=field.with_schema
                )
            else:
                field.description = description
        return graphene_type

    return decorate
