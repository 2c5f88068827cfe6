"""The schema documents itself: its description, and `@specifiedBy` on the custom scalars.

graphene 3.4 declares neither; schema/contract.py sets them on the built graphql-core schema.
Introspection answers them (`__schema { description }`, `__type { specifiedByURL }`), the
committed schema.graphql prints them, and the scalars behave as their descriptions say.
"""
from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from graphql import build_schema

from schema import errors
from schema.contract import SCALARS, SCHEMA_DESCRIPTION
from schema.schema import schema

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"
SPECIFIED_BY = {
    "DateTime": "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    "Decimal": "https://speleotrove.com/decimal/daconvs.html",
    "Upload": "https://github.com/jaydenseric/graphql-multipart-request-spec",
    "GenericScalar": "https://www.rfc-editor.org/rfc/rfc8259",
}


def test_introspection_answers_the_schema_description(gql):
    data = gql.data("{ __schema { description } }")
    assert data["__schema"]["description"] == SCHEMA_DESCRIPTION


@pytest.mark.parametrize("name", sorted(SPECIFIED_BY))
def test_introspection_answers_the_scalars_specified_by_url(gql, name):
    data = gql.data('query($name: String!) { __type(name: $name) { kind specifiedByURL '
                    'description } }', {"name": name})
    assert data["__type"] == {"kind": "SCALAR", "specifiedByURL": SPECIFIED_BY[name],
                              "description": SCALARS[name].description}


def test_only_the_custom_scalars_have_a_specified_by_url(gql):
    data = gql.data("{ __schema { types { name kind specifiedByURL } } }")
    urls = {t["name"]: t["specifiedByURL"] for t in data["__schema"]["types"]
            if t["specifiedByURL"] is not None}
    assert urls == SPECIFIED_BY
    assert all(t["kind"] == "SCALAR" for t in data["__schema"]["types"] if t["name"] in urls)


def test_committed_sdl_prints_the_description_and_specified_by():
    text = SDL_PATH.read_text()
    for name, url in SPECIFIED_BY.items():
        assert f'scalar {name} @specifiedBy(url: "{url}")' in text
    assert text.startswith('"""\nVitrine is a product catalog')
    committed = build_schema(text)
    assert committed.description == SCHEMA_DESCRIPTION
    assert {name: committed.type_map[name].specified_by_url for name in SPECIFIED_BY} == \
        SPECIFIED_BY


def test_the_description_names_real_error_codes_and_the_page_limit():
    codes = set(re.findall(r"`([A-Z][A-Z_]{4,})`", SCHEMA_DESCRIPTION))
    assert {"BAD_USER_INPUT", "NOT_FOUND", "UNAUTHENTICATED", "THROTTLED"} <= codes
    assert codes <= {value for value in vars(errors).values() if isinstance(value, str)}
    limit = settings.GRAPHENE["RELAY_CONNECTION_MAX_LIMIT"]
    assert f"at most {limit} items a page" in SCHEMA_DESCRIPTION
    for needle in ("Authorization: Bearer", "X-API-Key", "tokenAuth", "createApiKey",
                   "`first`/`after`", "extensions.code", "FieldError"):
        assert needle in SCHEMA_DESCRIPTION, needle
    for name in ("tokenAuth", "refreshToken", "createApiKey"):
        assert name in schema.graphql_schema.mutation_type.fields, name


def test_the_scalars_behave_as_described():
    decimal = schema.graphql_schema.type_map["Decimal"]
    assert decimal.serialize(Decimal("5.00")) == "5.00"
    assert decimal.parse_value("19.99") == Decimal("19.99")
    date_time = schema.graphql_schema.type_map["DateTime"]
    instant = datetime.datetime(2027, 1, 1, 9, 30, 0, 250000, tzinfo=datetime.UTC)
    assert date_time.serialize(instant) == "2027-01-01T09:30:00.250000+00:00"
    assert date_time.serialize(instant.replace(microsecond=0)) == "2027-01-01T09:30:00+00:00"
    assert date_time.parse_value("2027-01-01T10:30:00+01:00") == instant.replace(microsecond=0)
    assert date_time.parse_value("2027-01-01T09:30:00Z") == instant.replace(microsecond=0)


def test_decimal_answers_are_strings_over_http(gql, catalog):
    data = gql.data("{ products(first: 1) { edges { node { price createdAt } } } }")
    node = data["products"]["edges"][0]["node"]
    assert isinstance(node["price"], str) and re.fullmatch(r"\d+\.\d\d", node["price"])
    assert node["createdAt"].endswith("+00:00")
    datetime.datetime.fromisoformat(node["createdAt"])
