"""The schema as documentation for client developers and as a contract with them.

- `document(graphql_schema)` gives the schema its description and the custom scalars their
  `@specifiedBy` URL and a description of their wire format. graphene 3.4 takes neither (its
  `Scalar` has no `specified_by_url`, its `Schema` no `description`), so they are set on the
  graphql-core types graphene built, once, at the end of schema/schema.py.
- Releases: `schema/releases/<version>.graphql` is the SDL of each released version, written by
  `manage.py schema_release <version>`. `check_against_releases` compares the live schema with
  the last release under the deprecation policy (docs/schema-evolution.md): nothing a release
  shipped may be removed or changed incompatibly, except what that release already marked
  `@deprecated`, and that only DEPRECATION_PERIOD after the first release that deprecated it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import cast

from graphql import (
    BreakingChange,
    BreakingChangeType,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    get_named_type,
    print_schema,
)

# -- Documentation ---------------------------------------------------------------------------

SCHEMA_DESCRIPTION = """\
Vitrine is a product catalog: products and their categories, images and reviews, favorites, \
and orders. It answers GraphQL over HTTP at `/graphql/` (POST JSON; GET for queries) and \
subscriptions over websockets on the same path.

Authentication: without a credential you are anonymous and see the published catalog. Apps \
send `Authorization: Bearer <token>` with a JWT from the `tokenAuth` mutation (renewed with \
`refreshToken`); scripts send `X-API-Key: vit_…` with a key from `createApiKey`. A credential \
that is sent but not valid is refused with HTTP 401 and `UNAUTHENTICATED`, never treated as \
anonymous.

Pagination: lists that grow are Relay connections. Page forward with `first`/`after`, backward \
with `last`/`before`, at most 100 items a page. Cursors are opaque and valid only for the \
ordering they came from; `totalCount` is counted only when you select it.

Errors: every entry of `errors` carries a stable `extensions.code`, such as `BAD_USER_INPUT`, \
`NOT_FOUND` (also for what you may not see), `UNAUTHENTICATED`, `FORBIDDEN`, \
`MAX_COST_EXCEEDED` or `THROTTLED` (HTTP 429 with `Retry-After`). Mutations report invalid \
input in their payload instead, as `errors: [FieldError!]!` with `field`, `message` and \
`code`. Responses carry `extensions.cost`: what the query cost and what your budget has left.

Deprecated fields and arguments name their replacement in the deprecation reason and stay \
for at least one further release and six months."""


@dataclass(frozen=True)
class ScalarSpec:
    specified_by_url: str
    description: str


SCALARS = {
    "DateTime": ScalarSpec(
        # RFC 3339's `date-time`: the profile of ISO 8601 with a mandatory offset.
        "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
        "An instant as an RFC 3339 date-time string with its UTC offset, such as "
        "`2027-01-01T09:30:00Z` or `2027-01-01T10:30:00+01:00`. Answers are in UTC "
        "(`2027-01-01T09:30:00.250000+00:00`, fractional seconds only when not zero).",
    ),
    "Decimal": ScalarSpec(
        # The numeric strings of the General Decimal Arithmetic specification (the one
        # Python's decimal module implements): docs/scalars.md.
        "https://speleotrove.com/decimal/daconvs.html",
        "An exact decimal number as a JSON string, such as `\"19.99\"`, never a float. "
        "Answers keep the value's scale (`\"5.00\"`). Send strings too: a JSON float cannot "
        "hold most decimal fractions exactly. Integer literals are accepted.",
    ),
    "GenericScalar": ScalarSpec(
        "https://www.rfc-editor.org/rfc/rfc8259",
        "Any JSON value: an object, a list, a string, a number, a boolean or null. Used for "
        "the claims of a JWT (`payload`), whose keys are listed where it appears.",
    ),
    "Upload": ScalarSpec(
        "https://github.com/jaydenseric/graphql-multipart-request-spec",
        "A file sent with the request as a part of a multipart request (the GraphQL "
        "multipart request spec); its variable is `null` in `operations` and named in `map`. "
        "Input only.",
    ),
}


def document(graphql_schema: GraphQLSchema) -> GraphQLSchema:
    """Set the schema's description and the custom scalars' `@specifiedBy` and descriptions."""
    graphql_schema.description = SCHEMA_DESCRIPTION
    for name, spec in SCALARS.items():
        # SCALARS names scalar types.
        scalar = cast("GraphQLScalarType | None", graphql_schema.type_map.get(name))
        if scalar is None:
            raise LookupError(f"schema/contract.py documents a scalar {name} the schema lacks")
        scalar.specified_by_url = spec.specified_by_url
        scalar.description = spec.description
    return graphql_schema


# -- Releases --------------------------------------------------------------------------------

# The release the API is at: schema/releases/<CURRENT_RELEASE>.graphql is its baseline.
CURRENT_RELEASE = "1.0"
RELEASES_DIR = Path(__file__).resolve().parent / "releases"
# A deprecated field, argument, input field or enum value stays this long after the first
# release that shipped it deprecated, and at least until the release after that one.
DEPRECATION_PERIOD = timedelta(days=183)

VERSION = re.compile(r"^\d+(\.\d+)*$")
HEADER = re.compile(
    r"^# Vitrine GraphQL API (?P<version>\S+), released (?P<date>\d{4}-\d\d-\d\d)\."
)


def version_key(version: str) -> tuple[int, ...]:
    if not VERSION.match(version):
        raise ValueError(f"A release version is numbers and dots, like 1.0 or 1.1: {version!r}")
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Release:
    version: str
    released: date
    schema: GraphQLSchema


def release_sdl(version: str, released: date, graphql_schema: GraphQLSchema) -> str:
    """The text of a baseline file: a header naming the release and its date, then the SDL."""
    return (
        f"# Vitrine GraphQL API {version}, released {released.isoformat()}.\n"
        f"# Written by `manage.py schema_release {version}`; do not edit. The suite compares\n"
        "# the live schema with the latest release (docs/schema-evolution.md).\n\n"
        f"{print_schema(graphql_schema)}\n"
    )


def read_release(path: Path) -> Release:
    text = path.read_text()
    header = HEADER.match(text)
    if header is None or header["version"] != path.stem:
        raise ValueError(f"{path} does not start with '# Vitrine GraphQL API {path.stem}, "
                         "released YYYY-MM-DD.'")
    return Release(path.stem, date.fromisoformat(header["date"]), build_schema(text))


def releases(directory: Path = RELEASES_DIR) -> list[Release]:
    """Every release baseline in `directory`, oldest first."""
    paths = sorted(directory.glob("*.graphql"), key=lambda path: version_key(path.stem))
    return [read_release(path) for path in paths]


def deprecations(graphql_schema: GraphQLSchema) -> dict[str, str]:
    """Schema coordinate -> deprecation reason of everything marked `@deprecated`.

    Coordinates as in the GraphQL spec: `Type.field`, `Type.field(arg:)`, `Input.field`,
    `Enum.VALUE`.
    """
    found: dict[str, str] = {}
    for type_ in graphql_schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for name, field_ in type_.fields.items():
                if field_.deprecation_reason is not None:
                    found[f"{type_.name}.{name}"] = field_.deprecation_reason
                for arg_name, arg in field_.args.items():
                    if arg.deprecation_reason is not None:
                        found[f"{type_.name}.{name}({arg_name}:)"] = arg.deprecation_reason
        elif isinstance(type_, GraphQLInputObjectType):
            for name, input_field in type_.fields.items():
                if input_field.deprecation_reason is not None:
                    found[f"{type_.name}.{name}"] = input_field.deprecation_reason
        elif isinstance(type_, GraphQLEnumType):
            for name, value in type_.values.items():
                if value.deprecation_reason is not None:
                    found[f"{type_.name}.{name}"] = value.deprecation_reason
    return found


# graphql-core 3.2's descriptions of removals, read back into schema coordinates.
REMOVALS = {
    BreakingChangeType.FIELD_REMOVED: (re.compile(r"^(\w+)\.(\w+) was removed\.$"), "{}.{}"),
    BreakingChangeType.ARG_REMOVED: (
        re.compile(r"^(\w+)\.(\w+) arg (\w+) was removed\.$"), "{}.{}({}:)"),
    BreakingChangeType.VALUE_REMOVED_FROM_ENUM: (
        re.compile(r"^(\w+) was removed from enum type (\w+)\.$"), "{1}.{0}"),
    BreakingChangeType.TYPE_REMOVED: (re.compile(r"^(\w+) was removed\.$"), "{}"),
}


def removed_coordinate(change: BreakingChange) -> str | None:
    """What a removal removed, as a schema coordinate; None for any other breaking change."""
    removal = REMOVALS.get(change.type)
    if removal is None:
        return None
    pattern, template = removal
    match = pattern.match(change.description)
    return template.format(*match.groups()) if match else None


def references(graphql_schema: GraphQLSchema, type_name: str) -> set[str]:
    """Where `type_name` is used: field and argument coordinates, `implements X`, `X.member`."""
    used: set[str] = set()
    for type_ in graphql_schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for name, field_ in type_.fields.items():
                if get_named_type(field_.type).name == type_name:
                    used.add(f"{type_.name}.{name}")
                for arg_name, arg in getattr(field_, "args", {}).items():
                    if get_named_type(arg.type).name == type_name:
                        used.add(f"{type_.name}.{name}({arg_name}:)")
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            if type_.name == type_name and type_.interfaces:
                used.add(f"implements {', '.join(i.name for i in type_.interfaces)}")
        if isinstance(type_, GraphQLUnionType):
            if type_name in {member.name for member in type_.types}:
                used.add(f"{type_.name} member")
    for root in (graphql_schema.query_type, graphql_schema.mutation_type,
                 graphql_schema.subscription_type):
        if root is not None and root.name == type_name:
            used.add("root operation type")
    return used


@dataclass
class Verdict:
    """The live schema against the last release."""

    release: str
    breaking: list[str] = field(default_factory=list)  # refused: the suite fails on these
    removed_deprecated: list[str] = field(default_factory=list)  # allowed by the policy
    dangerous: list[str] = field(default_factory=list)  # allowed; for the changelog

    @property
    def ok(self) -> bool:
        return not self.breaking

    def report(self) -> str:
        sections = [
            ("Breaking changes (not allowed)", self.breaking),
            ("Deprecated and removed (allowed by the deprecation policy)",
             self.removed_deprecated),
            ("Dangerous changes (allowed; note them in CHANGELOG.md)", self.dangerous),
        ]
        lines = [f"Live schema against release {self.release}:"]
        for title, items in sections:
            if items:
                lines.append(f"{title}:")
                lines.extend(f"- {item}" for item in items)
        if len(lines) == 1:
            lines.append("no breaking or dangerous changes.")
        return "\n".join(lines)


def deprecated_since(history: list[Release], coordinate: str) -> Release | None:
    """The first release of the unbroken run, ending with the last one, that deprecates it."""
    since = None
    for release in reversed(history):
        if coordinate not in deprecations(release.schema):
            break
        since = release
    return since


def check_against_releases(history: list[Release], live: GraphQLSchema, *,
                           today: date | None = None) -> Verdict:
    """Compare `live` with the last release of `history` (oldest first) under the policy."""
    today = today or date.today()
    last = history[-1]
    # SDL against SDL: graphene's scalar classes would otherwise read as changed kinds.
    live = build_schema(print_schema(live))
    verdict = Verdict(last.version)

    def removable(coordinate: str) -> tuple[bool, str]:
        since = deprecated_since(history, coordinate)
        if since is None:
            return False, "it was not deprecated in the last release"
        allowed_from = since.released + DEPRECATION_PERIOD
        if today < allowed_from:
            return False, (f"deprecated since {since.version} ({since.released}); removable "
                           f"from {allowed_from} (docs/schema-evolution.md)")
        return True, f"deprecated since {since.version} ({since.released})"

    changes = find_breaking_changes(last.schema, live)
    removed = {removed_coordinate(change) for change in changes} - {None}
    for change in changes:
        coordinate = removed_coordinate(change)
        line = f"{change.type.name}: {change.description}"
        if coordinate is None:
            verdict.breaking.append(line)
            continue
        if change.type == BreakingChangeType.TYPE_REMOVED:
            # A type goes with the last deprecated fields and arguments that used it.
            uses = references(last.schema, coordinate)
            reasons = [removable(use) for use in sorted(uses)]
            if uses and uses <= removed and all(allowed for allowed, _ in reasons):
                verdict.removed_deprecated.append(
                    f"{line} (only its deprecated uses referred to it: {', '.join(sorted(uses))})")
            else:
                verdict.breaking.append(f"{line} (used by {', '.join(sorted(uses)) or 'nothing'})")
            continue
        allowed, reason = removable(coordinate)
        (verdict.removed_deprecated if allowed else verdict.breaking).append(f"{line} ({reason})")
    verdict.dangerous = [
        f"{change.type.name}: {change.description}"
        for change in find_dangerous_changes(last.schema, live)
    ]
    return verdict

