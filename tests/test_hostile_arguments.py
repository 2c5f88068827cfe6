"""Every argument of every root field, given hostile values: never INTERNAL, the same on
PostgreSQL and SQLite.

The cases are generated from the schema: each argument of each Query and Mutation field, and
each field of their input objects (recursively, list items included), gets

- text values no database stores alike (a lone surrogate, NUL, BEL), as a variable and as a
  literal: BAD_USER_INPUT whose `extensions.field` is the argument (schema/inputs.py; a
  literal lone surrogate does not even parse);
- for Int, ID and cursor (`after`, `before`) arguments, integers out of range (2**31, 2**63,
  10**20, -(2**63)-1), global IDs beyond any key (`Product:99999999999999999999999`,
  `Category:9223372036854775808`) and an offset cursor of 10**20: BAD_USER_INPUT naming the
  argument (in `extensions.field` or the message);
- the Int range's own bounds (2**31-1, -2**31), which are valid Ints: anything but INTERNAL.

The other required arguments get valid values, the viewer is a superuser (so permission
checks pass and the value reaches the resolver), and each request runs in a transaction that
is rolled back. The outcomes (codes and fields, top level and in payload `errors`) are
compared between PostgreSQL (the suite's database) and SQLite (a fresh database in a
subprocess, as tests/test_sqlite_smoke.py runs it).
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent.parent

TEXT_VALUES = {"surrogate": "\ud800x", "nul": "\u0000", "bel": "a\u0007b"}
OUT_OF_RANGE = {"2^31": 2**31, "2^63": 2**63, "10^20": 10**20, "-2^63-1": -(2**63) - 1}
INT_BOUNDS = {"max-int": 2**31 - 1, "min-int": -(2**31)}
BIG_IDS = {"product-10^23": ("Product", "99999999999999999999999"),
           "category-2^63": ("Category", "9223372036854775808")}
CURSORS = {"offset-10^20": base64.b64encode(f"arrayconnection:{10**20}".encode()).decode()}
CURSOR_ARGUMENTS = ("after", "before")
# Types whose values are not text: a string is theirs to refuse (coercion, validation).
NOT_TEXT_TYPES = ("Int", "Float", "Boolean", "Decimal", "DateTime", "ProductOrderField",
                  "OrderDirection", "WebhookEventType")

# The type a baseline ID argument names, by argument name, else by the root field's name.
ID_TYPES_BY_ARGUMENT = {"product": "Product", "category": "Category", "categoryId": "Category"}
ID_TYPES_BY_FIELD = [("redeliver", "WebhookDelivery"), ("Webhook", "WebhookEndpoint"),
                     ("Review", "Review"), ("ApiKey", "ApiKey"), ("Order", "Order")]


@dataclass
class Case:
    name: str
    query: str
    variables: dict[str, Any]
    target: str
    """The argument's path as errors name it: `slug`, `ids.0`, `name` (inside `input`)."""
    kind: str
    """text | text-literal | number | id | cursor | bound"""
    type_name: str = "String"
    """The named type at the target."""

    @property
    def leaf(self) -> str:
        return [part for part in self.target.split(".") if not part.isdigit()][-1]


# -- Generating the cases --------------------------------------------------------------------


def generate_cases(ids: dict[str, int]) -> list[Case]:
    """Every case for the schema; `ids` are primary keys of existing rows, by type name."""
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        get_named_type,
        get_nullable_type,
        is_list_type,
        is_non_null_type,
    )

    from schema.schema import schema

    graphql_schema = schema.graphql_schema
    cases: list[Case] = []

    def baseline(type_, name: str, field_name: str) -> Any:
        """A valid value of a required input."""
        nullable = get_nullable_type(type_)
        if is_list_type(nullable):
            return [] if not isinstance(get_named_type(nullable), GraphQLEnumType) else [
                baseline(nullable.of_type, name, field_name)]
        named = get_named_type(nullable)
        if isinstance(named, GraphQLInputObjectType):
            return {key: baseline(field.type, key, field_name)
                    for key, field in named.fields.items() if is_non_null_type(field.type)}
        if isinstance(named, GraphQLEnumType):
            return next(iter(named.values))
        return {
            "Int": 1, "Float": 1.0, "Boolean": False, "Decimal": "1.00",
            "DateTime": "2099-01-01T00:00:00+00:00", "Upload": None,
            "ID": global_id(id_type(name, field_name), ids),
        }.get(named.name, "x")

    def leaves(type_, path: list[str]):
        """(path, named type) of every scalar position inside an argument's type; list items
        at index 0."""
        nullable = get_nullable_type(type_)
        if is_list_type(nullable):
            yield from leaves(nullable.of_type, [*path, "0"])
            return
        named = get_named_type(nullable)
        if isinstance(named, GraphQLInputObjectType):
            for key, field in named.fields.items():
                yield from leaves(field.type, [*path, key])
        else:
            yield path, named

    def build(type_, rest: list[str], value: Any, name: str, field_name: str) -> Any:
        """A value of `type_` holding `value` at the path `rest` inside it."""
        if not rest:
            return value
        nullable = get_nullable_type(type_)
        if is_list_type(nullable):
            return [build(nullable.of_type, rest[1:], value, name, field_name)]
        named = get_named_type(nullable)
        container = baseline(nullable, name, field_name)
        key = rest[0]
        container[key] = build(named.fields[key].type, rest[1:], value, key, field_name)
        return container

    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        operation = "mutation" if root is graphql_schema.mutation_type else "query"
        for field_name, field in root.fields.items():
            required = {name: baseline(arg.type, name, field_name)
                        for name, arg in field.args.items() if is_non_null_type(arg.type)}
            document = Document(operation, field_name, field, select(field.type))
            for arg_name, arg in field.args.items():
                for path, named in leaves(arg.type, [arg_name]):
                    if named.name == "Upload":
                        continue
                    values = [("text", label, text) for label, text in TEXT_VALUES.items()]
                    if named.name in ("Int", "ID") or path[-1] in CURSOR_ARGUMENTS:
                        values += [("number", label, n) for label, n in OUT_OF_RANGE.items()]
                    if named.name == "Int":
                        values += [("bound", label, n) for label, n in INT_BOUNDS.items()]
                    if named.name == "ID":
                        values += [("id", label, to_global_id(type_name, pk))
                                   for label, (type_name, pk) in BIG_IDS.items()]
                    if path[-1] in CURSOR_ARGUMENTS and named.name == "String":
                        values += [("cursor", label, cursor) for label, cursor in CURSORS.items()]
                    target = ".".join(path[1:] if arg_name == "input" else path)
                    name = f"{root.name}.{field_name}({'.'.join(path)})"
                    for kind, label, value in values:
                        arguments = {**required,
                                     arg_name: build(arg.type, path[1:], value, arg_name,
                                                     field_name)}
                        query, variables = document.with_variables(arguments)
                        cases.append(Case(f"{name} {label}", query, variables, target, kind,
                                          named.name))
                        literal_query = document.with_literals(arguments)
                        if kind == "text" and literal_query is not None:
                            cases.append(Case(f"{name} {label} literal", literal_query, {},
                                              target, "text-literal", named.name))
    return cases


def to_global_id(type_name: str, pk: Any) -> str:
    from graphql_relay import to_global_id as relay_global_id

    return relay_global_id(type_name, str(pk))


def id_type(argument: str, field_name: str) -> str:
    if argument in ID_TYPES_BY_ARGUMENT:
        return ID_TYPES_BY_ARGUMENT[argument]
    for fragment, type_name in ID_TYPES_BY_FIELD:
        if fragment.lower() in field_name.lower():
            return type_name
    return "Product"


def global_id(type_name: str, ids: dict[str, int]) -> str:
    return to_global_id(type_name, ids.get(type_name, 1))


def select(type_) -> str:
    """A selection that makes the field's resolver (and its connection's query) run."""
    from graphql import get_named_type, is_leaf_type

    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    fields = getattr(named, "fields", {})
    parts = ["__typename"]
    if "id" in fields:
        parts.append("id")
    if "edges" in fields:
        parts.append("edges { cursor }")
    if "errors" in fields:
        parts.append("errors { field code }")
    return "{ " + " ".join(parts) + " }"


@dataclass
class Document:
    """One root field's operation, its arguments as variables or as literals."""

    operation: str
    field_name: str
    field: Any
    selection: str

    def with_variables(self, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        definitions = ", ".join(f"${name}: {self.field.args[name].type}" for name in arguments)
        passed = ", ".join(f"{name}: ${name}" for name in arguments)
        return self._document(definitions and f"({definitions})", passed), arguments

    def with_literals(self, arguments: dict[str, Any]) -> str | None:
        """None when the arguments have no literal (a required Upload: files are variables)."""
        try:
            passed = ", ".join(f"{name}: {literal(value, self.field.args[name].type)}"
                               for name, value in arguments.items())
        except NoLiteral:
            return None
        return self._document("", passed)

    def _document(self, definitions: str, passed: str) -> str:
        call = f"{self.field_name}({passed})" if passed else self.field_name
        return f"{self.operation}{definitions} {{ {call} {self.selection} }}"


class NoLiteral(Exception):
    pass


def literal(value: Any, type_) -> str:
    """`value` as a GraphQL literal of `type_` (enum values bare, strings escaped)."""
    from graphql import (
        GraphQLEnumType,
        get_named_type,
        get_nullable_type,
        is_list_type,
        is_non_null_type,
    )
    from graphql.language.print_string import print_string

    nullable = get_nullable_type(type_)
    if value is None:
        if is_non_null_type(type_):
            raise NoLiteral
        return "null"
    if isinstance(value, list):
        item_type = nullable.of_type if is_list_type(nullable) else nullable
        return "[" + ", ".join(literal(item, item_type) for item in value) + "]"
    named = get_named_type(nullable)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {literal(item, named.fields[key].type)}"
                               for key, item in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(named, GraphQLEnumType):
        return value
    return print_string(value)


# -- Running them ------------------------------------------------------------------------------


def seed() -> tuple[Any, dict[str, int]]:
    """A superuser and one row of each type the ID arguments name."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from accounts.models import ApiKey
    from orders.models import Order
    from products.models import Category, Product, Review
    from webhooks.models import WebhookEndpoint

    User = get_user_model()
    admin = User.objects.create_superuser("hostile-admin", "admin@example.com", None)
    category = Category.objects.create(name="Hostile", slug="hostile")
    product = Product.objects.create(name="Target", description="A product.",
                                     price=Decimal("10.00"), stock=5, is_published=True,
                                     category=category, created_by=admin)
    review = Review.objects.create(product=product, author=admin, rating=4, title="Fine")
    order = Order.objects.create(user=admin)
    key = ApiKey.objects.create(name="k", owner=admin, prefix="hostileprefix", secret_hash="0")
    endpoint = WebhookEndpoint.objects.create(url="https://example.com/hook", secret="s")
    ids = {"Category": category.pk, "Product": product.pk, "Review": review.pk,
           "Order": order.pk, "ApiKey": key.pk, "WebhookEndpoint": endpoint.pk}
    return admin, ids


def outcome(body: dict) -> list[list[Any]]:
    """What a response says, without its wording: (code, field) of each error, top level
    and in mutation payloads."""
    found = [[(error.get("extensions") or {}).get("code"),
              (error.get("extensions") or {}).get("field")] for error in body.get("errors", [])]
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict):
            found += [["payload:" + error["code"], error["field"]]
                      for error in value.get("errors") or ()]
    return sorted(found, key=json.dumps)


def run_cases() -> tuple[list[Case], dict[str, dict]]:
    """Seed, then send every case (each in a rolled-back transaction); the response bodies."""
    from django.db import transaction
    from django.test import Client
    from django.test.utils import override_settings

    admin, ids = seed()
    cases = generate_cases(ids)
    client = Client()
    client.force_login(admin)
    bodies: dict[str, dict] = {}
    with override_settings(GRAPHQL_THROTTLE_ENABLED=False):
        for case in cases:
            with transaction.atomic():
                response = client.post("/graphql/", {"query": case.query,
                                                     "variables": case.variables},
                                       content_type="application/json")
                transaction.set_rollback(True)
            assert response["Content-Type"].startswith("application/json"), (
                case.name, response.status_code, response.content[:300])
            bodies[case.name] = {"status": response.status_code, **response.json()}
    return cases, bodies


SQLITE_SNIPPET = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from tests.test_hostile_arguments import run_cases
cases, bodies = run_cases()
sys.stdout.write("RESULT " + json.dumps(bodies))
"""


def run_on_sqlite(tmp_path: Path) -> dict[str, dict]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'hostile.sqlite3'}",
           "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "project.settings",
           "LOG_LEVEL": "CRITICAL"}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_TEST_NAME", None)
    completed = subprocess.run([sys.executable, "-c", SQLITE_SNIPPET], cwd=PROJECT, env=env,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-5000:]
    return json.loads(completed.stdout.split("RESULT ", 1)[1])


# -- What must hold ------------------------------------------------------------------------


def names_target(error: dict, case: Case) -> bool:
    field = (error.get("extensions") or {}).get("field") or ""
    return (field == case.target or field.split(".")[-1] == case.leaf
            or f"{case.leaf}" in error.get("message", ""))


def problems(cases: list[Case], bodies: dict[str, dict]) -> list[str]:
    """The cases whose answer is INTERNAL (or uncoded, or a 5xx), or not the refusal due."""
    found = []
    for case in cases:
        body = bodies[case.name]
        errors = body.get("errors", [])
        codes = [(error.get("extensions") or {}).get("code") for error in errors]
        if body["status"] >= 500 or "INTERNAL" in codes or None in codes:
            found.append(f"{case.name}: {body}")
        elif case.kind != "bound" and not refused_as_due(case, errors, codes, body):
            found.append(f"{case.name}: {body}")
    return found


def refused_as_due(case: Case, errors: list[dict], codes: list[str], body: dict) -> bool:
    text_type = case.type_name not in NOT_TEXT_TYPES
    if case.kind in ("text", "text-literal") and text_type:
        # schema/inputs.py, before anything else: exactly one error, naming the argument.
        if case.kind == "text-literal" and codes == ["GRAPHQL_PARSE_FAILED"]:
            return True  # a lone surrogate escape is not GraphQL
        return codes == ["BAD_USER_INPUT"] and errors[0]["extensions"].get("field") == case.target
    if case.kind == "text-literal" and codes in (["GRAPHQL_PARSE_FAILED"],
                                                 ["GRAPHQL_VALIDATION_FAILED"]):
        return True  # not a literal of that type: the document is invalid
    if any(code == "BAD_USER_INPUT" and names_target(error, case)
           for code, error in zip(codes, errors, strict=True)):
        return True
    # A mutation's input problems come in its payload's `errors` (schema/mutations.py).
    return not errors and any(
        error["field"] == case.target
        for payload in (body.get("data") or {}).values() if isinstance(payload, dict)
        for error in payload.get("errors") or ()
    )


@pytest.fixture
def postgres_outcomes(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            cases, bodies = run_cases()
            transaction.set_rollback(True)
    return cases, bodies


def test_the_schema_has_cases_for_every_kind_of_argument(db):
    cases = generate_cases({})
    kinds = {case.kind for case in cases}
    assert kinds == {"text", "text-literal", "number", "id", "cursor", "bound"}
    targets = {case.name.split(" ")[0] for case in cases}
    for expected in ("Query.node(id)", "Query.products(search)", "Query.products(after)",
                     "Mutation.placeOrder(input.items.0.product)",
                     "Mutation.createProduct(input.name)", "Mutation.adjustStock(input.delta)"):
        assert expected in targets


def test_hostile_arguments_never_reach_internal_on_postgresql_or_sqlite(postgres_outcomes,
                                                                         tmp_path):
    cases, on_postgres = postgres_outcomes
    assert len(cases) > 300
    assert problems(cases, on_postgres) == []

    on_sqlite = run_on_sqlite(tmp_path)
    assert problems(cases, on_sqlite) == []
    differences = [
        f"{case.name}: PostgreSQL {outcome(on_postgres[case.name])}, "
        f"SQLite {outcome(on_sqlite[case.name])}"
        for case in cases
        if outcome(on_postgres[case.name]) != outcome(on_sqlite[case.name])
    ]
    assert differences == []
