"""Keyset (seek) cursors: a page continues after the last row seen, not after an offset.

An offset cursor ("the 50th row") repeats or skips rows when rows are created or deleted
between two page loads. A keyset cursor carries the row's values of every column the
connection is ordered by, the primary key last, and the next page is the rows ordered after
those values: `WHERE (price, id) > (:price, :id)`, written as the expanded OR form that every
database understands. Inserts and deletes elsewhere in the list then neither repeat nor skip
a row.

A cursor is signed (django.core.signing, salted) so that a client cannot forge one: a cursor
that was altered, or that belongs to another ordering or another kind of row, is
BAD_USER_INPUT. The ordering and the rows' model are part of the signed value, so a cursor read
under `orderBy: "price"` is refused under `"name"`, and a product cursor among reviews.
Ordering columns must be non-null (checked when a cursor is made): NULLs do not compare.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.core import signing
from django.db.models import Field, Model, Q, QuerySet

from schema.errors import BadUserInput

SIGNER = signing.Signer(salt="vitrine.cursor")


@dataclass(frozen=True)
class Ordering:
    """The columns a list is ordered by, each (field name, descending), the primary key last,
    and the model of its rows: a cursor of products is no position among reviews."""

    columns: tuple[tuple[str, bool], ...]
    model_label: str = ""

    @classmethod
    def of(cls, queryset: QuerySet[Model]) -> Ordering:
        """The queryset's ordering (or its model's default), made total by the primary key."""
        names = list(queryset.query.order_by or queryset.model._meta.ordering or ())
        columns: list[tuple[str, bool]] = []
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"Keyset pagination orders by field names, not {name!r}.")
            descending = name.startswith("-")
            field = name.lstrip("-")
            columns.append(("pk" if field in ("pk", "id") else field, descending))
            if columns[-1][0] == "pk":
                break
        else:
            columns.append(("pk", columns[-1][1] if columns else False))
        return cls(tuple(columns), queryset.model._meta.label_lower)

    @property
    def key(self) -> str:
        order = ",".join(("-" if descending else "") + name for name, descending in self.columns)
        return f"{self.model_label}:{order}"

    def order_by(self, *, reverse: bool = False) -> list[str]:
        return [
            ("-" if descending != reverse else "") + name for name, descending in self.columns
        ]

    def attnames(self, model: type[Model]) -> tuple[str, ...]:
        """The columns a row needs for its cursor."""
        return tuple(_field(model, name).attname for name, _ in self.columns)

    def values_of(self, row: Model) -> list[Any]:
        return [getattr(row, name) for name, _ in self.columns]

    def seek(self, values: Sequence[Any], *, after: bool) -> Q:
        """Rows ordered after (or before) the row with these values.

        (a, b, pk) > (x, y, z) is a > x, or a = x and b > y, or a = x and b = y and pk > z;
        a descending column compares the other way.
        """
        condition = Q()
        equal: dict[str, Any] = {}
        for (name, descending), value in zip(self.columns, values, strict=True):
            lookup = "gt" if descending != after else "lt"
            condition |= Q(**equal, **{f"{name}__{lookup}": value})
            equal[name] = value
        return condition


def encode(ordering: Ordering, row: Model) -> str:
    return SIGNER.sign_object([ordering.key, *map(_json_value, ordering.values_of(row))])


def decode(cursor: str, ordering: Ordering, model: type[Model], *, argument: str) -> list[Any]:
    """The ordering values a cursor carries, checked and converted back to Python values."""
    try:
        key, *values = SIGNER.unsign_object(cursor)
    except (signing.BadSignature, ValueError, TypeError):
        raise BadUserInput(f"`{argument}` is not a valid cursor.", field=argument) from None
    if key != ordering.key or len(values) != len(ordering.columns):
        raise BadUserInput(
            f"`{argument}` is a cursor of another ordering or list; start again from the first "
            "page.",
            field=argument,
        )
    fields = [_field(model, name) for name, _ in ordering.columns]
    return [field.to_python(value) for field, value in zip(fields, values, strict=True)]


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    """An ordering column's model field (ordering columns are concrete fields)."""
    return model._meta.pk if name == "pk" else cast("Field[Any, Any]", model._meta.get_field(name))


def _json_value(value: Any) -> Any:
    if value is None:
        raise ValueError("Keyset ordering columns must not be null.")
    if isinstance(value, (Decimal, datetime.datetime, datetime.date)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value
