"""The schema is the API's documentation: every part of it a client reads says something.

The walker visits every named type (graphql's built-in scalars and introspection types
aside), every field of object and interface types with each of its arguments, every input
field and every enum value, plus custom directives and their arguments, and reports each
path without a description. A text graphene or graphene-django writes for everything alike
("The ID of the object", "An enumeration.", the scalars' stock docstrings, a choice's bare
label) tells a client nothing about this API, so it counts as a gap too.

Accepted generic texts: graphene's `PageInfo` type and fields ("When paginating forwards,
are there more items?", ...). They say correctly what Relay's fields mean; anything more
specific to this server is welcome but not required.
"""
from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    specified_directives,
)

from schema.schema import schema

BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}

# Texts graphene, graphene-django and the scalars' docstrings give every schema alike.
PLACEHOLDERS = {
    "An enumeration.",
    "An object with an ID",
    "The ID of the object",
    "The item at the end of the edge",
    "A cursor for use in pagination",
    "Pagination data for this connection.",
    "Contains the nodes in this connection.",
    "Ordering",  # django-filter's OrderingFilter label
    "A file sent with the request following the GraphQL multipart request spec.",
    "The `DateTime` scalar type represents a DateTime\nvalue as specified by\n"
    "[iso8601](https://en.wikipedia.org/wiki/ISO_8601).",
    "The `Date` scalar type represents a Date\nvalue as specified by\n"
    "[iso8601](https://en.wikipedia.org/wiki/ISO_8601).",
    "The `Time` scalar type represents a Time value as\nspecified by\n"
    "[iso8601](https://en.wikipedia.org/wiki/ISO_8601).",
    "The `Decimal` scalar type represents a python Decimal.",
    "The `GenericScalar` scalar type represents a generic\nGraphQL scalar value that could be:\n"
    "String, Boolean, Int, Float, List or Object.",
    "Allows use of a JSON String for input / output from the GraphQL schema.\n\n"
    "Use of this type is *not recommended* as you lose the benefits of having a defined, "
    "static\nschema (one of the key benefits of GraphQL).",
}
PLACEHOLDER_PATTERNS = [re.compile(r"A Relay edge containing a `\w+` and its cursor\.")]

def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def says_nothing(description: str | None, name: str) -> bool:
    """No description, a stock text, or just the thing's own name (a choice's bare label)."""
    text = (description or "").strip()
    if not text or text in PLACEHOLDERS:
        return True
    if any(pattern.fullmatch(text) for pattern in PLACEHOLDER_PATTERNS):
        return True
    return _letters(text) == _letters(name)


def gaps(graphql_schema: GraphQLSchema) -> list[str]:
    """Every path in the schema whose description says nothing, in schema order."""
    found: list[str] = []

    def check(path: str, description: str | None, name: str) -> None:
        if says_nothing(description, name):
            found.append(path)

    for name, named_type in graphql_schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        check(name, named_type.description, name)
        if isinstance(named_type, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in named_type.fields.items():
                check(f"{name}.{field_name}", field.description, field_name)
                for arg_name, arg in field.args.items():
                    check(f"{name}.{field_name}({arg_name}:)", arg.description, arg_name)
        elif isinstance(named_type, GraphQLInputObjectType):
            for field_name, field in named_type.fields.items():
                check(f"{name}.{field_name}", field.description, field_name)
        elif isinstance(named_type, GraphQLEnumType):
            for value_name, value in named_type.values.items():
                check(f"{name}.{value_name}", value.description, value_name)

    specified = {directive.name for directive in specified_directives}
    for directive in graphql_schema.directives:
        if directive.name in specified:
            continue
        check(f"@{directive.name}", directive.description, directive.name)
        for arg_name, arg in directive.args.items():
            check(f"@{directive.name}({arg_name}:)", arg.description, arg_name)
    return found


def test_every_part_of_the_schema_is_described():
    missing = gaps(schema.graphql_schema)
    assert not missing, (
        f"{len(missing)} parts of the schema say nothing to clients (add a `description=`):\n"
        + "\n".join(f"- {path}" for path in missing)
    )


def test_the_walker_finds_every_kind_of_gap():
    """Guards the guard: each kind of schema element, undescribed or stock, is reported."""
    sdl = '''
        """Things."""
        type Query {
          """A thing."""
          thing(
            """The ID of the object"""
            id: ID!
            flag: Boolean
          ): Thing
          bare: Int
        }
        type Thing {
          """Items matching, over all pages."""
          count: Int
        }
        """An enumeration."""
        enum Status {
          """Pending"""
          PENDING
          """Paid, not yet shipped."""
          PAID
        }
        """Input."""
        input Filter {
          """A category's global ID."""
          category: ID
          name: String
        }
        """The `Decimal` scalar type represents a python Decimal."""
        scalar Decimal
        directive @cached(seconds: Int) on FIELD_DEFINITION
    '''
    found = gaps(build_schema(sdl))
    assert found == [
        "Query.thing(id:)",
        "Query.thing(flag:)",
        "Query.bare",
        "Thing",
        "Status",
        "Status.PENDING",
        "Filter.name",
        "Decimal",
        "@cached",
        "@cached(seconds:)",
    ]
