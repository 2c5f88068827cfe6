"""Typed client codegen: the documented client operations (tests/clients/operations/*.graphql)
and the TypeScript types GraphQL Code Generator writes for them from the live server.

- Each operation file holds one named operation, valid against the committed schema.graphql;
  the queries and mutations run without errors (Django's test client, the test catalog).
- `graphql-codegen` (tests/clients/codegen-types.mjs: the `typescript` and
  `typescript-operations` plugins) given the live server's URL declares a result type and a
  variables type for every operation (`CatalogPageQuery`, `CatalogPageQueryVariables`, ...).
- `tsc --noEmit --strict` compiles the generated types with codegen-usage.ts (a client that
  types its variables and reads its results) without an error, and with codegen-misuse.ts
  (a field that does not exist, one the document does not select, an unchecked null, wrong
  variables) gives exactly the errors that file marks: the types constrain clients.

Needs the Node clients (bin/setup-clients); under CI=true a missing one fails, never skips.
"""
from __future__ import annotations

import json
import re

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate
from graphql_relay import to_global_id

from tests.conftest import GraphQLClient, error_codes
from tests.live_server import BASE_DIR, CLIENTS_DIR, needs_node_clients, run_node

pytest_plugins = ["tests.live_server"]
pytestmark = pytest.mark.django_db

OPERATIONS_DIR = CLIENTS_DIR / "operations"
# File name -> (operation type, operation name).
OPERATIONS = {
    "catalog-page.graphql": ("query", "CatalogPage"),
    "product-by-slug.graphql": ("query", "ProductBySlug"),
    "sign-in.graphql": ("mutation", "SignIn"),
    "create-product.graphql": ("mutation", "CreateProduct"),
    "product-updated.graphql": ("subscription", "ProductUpdated"),
}
USAGE, MISUSE = "codegen-usage.ts", "codegen-misuse.ts"
# tsc --pretty false: "file.ts(line,column): error TSnnnn: message".
DIAGNOSTIC = re.compile(r"^(?P<file>[^(\s]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): ",
                        re.M)
EXPECTED_ERROR = re.compile(r"// expect (TS\d+)\s*$")


def operation_documents() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(OPERATIONS_DIR.glob("*.graphql"))}


def generated_type_names(kind: str, name: str) -> tuple[str, str]:
    """What typescript-operations calls an operation's result and variables types."""
    result = name + kind.capitalize()
    return result, result + "Variables"


def expected_errors() -> set[tuple[int, str]]:
    """The (line, code) of each `// expect TSnnnn` mark of codegen-misuse.ts."""
    lines = (CLIENTS_DIR / MISUSE).read_text().splitlines()
    return {(number, mark.group(1)) for number, line in enumerate(lines, 1)
            if (mark := EXPECTED_ERROR.search(line))}


# -- The documents (no Node) ----------------------------------------------------------------


def test_each_operation_file_is_one_named_operation_valid_against_the_schema():
    contract = build_schema((BASE_DIR / "schema.graphql").read_text())
    documents = operation_documents()
    assert set(documents) == set(OPERATIONS)
    for file, text in documents.items():
        document = parse(text)
        operation, = document.definitions
        assert isinstance(operation, OperationDefinitionNode), file
        assert (operation.operation.value, operation.name.value) == OPERATIONS[file]
        assert validate(contract, document) == [], file
        assert text.startswith("# "), f"{file} should say what the operation is for"


def test_the_documented_operations_run(catalog, users):
    documents = operation_documents()
    anonymous = GraphQLClient()

    page = anonymous.data(documents["catalog-page.graphql"], {"first": 2})["products"]
    assert page["totalCount"] == 4 and len(page["edges"]) == 2
    assert page["pageInfo"]["hasNextPage"] is True
    rest = anonymous.data(documents["catalog-page.graphql"],
                          {"after": page["pageInfo"]["endCursor"]})["products"]
    assert len(rest["edges"]) == 2
    assert [e["node"]["name"] for e in anonymous.data(
        documents["catalog-page.graphql"], {"search": "amplifier"})["products"]["edges"]
    ] == ["Tube Amplifier"]

    cans = catalog["products"]["cans"]
    product = anonymous.data(documents["product-by-slug.graphql"], {"slug": cans.slug})["product"]
    assert product["name"] == "Studio Headphones"
    assert [a["name"] for a in product["category"]["ancestors"]] == ["Electronics", "Audio"]
    assert {e["node"]["title"] for e in product["reviews"]["edges"]} == {"Good", "Great"}
    draft = catalog["products"]["draft"]
    hidden = anonymous.execute(documents["product-by-slug.graphql"], {"slug": draft.slug})
    assert hidden["data"] == {"product": None}
    assert error_codes(hidden) == ["NOT_FOUND"]

    signed_in = anonymous.data(documents["sign-in.graphql"],
                               {"input": {"username": "staff", "password": "pw"}})["tokenAuth"]
    assert signed_in["errors"] == [] and signed_in["token"]
    assert signed_in["user"]["username"] == "staff"

    created = GraphQLClient(users["staff"]).data(documents["create-product.graphql"], {"input": {
        "name": "Desk Lamp", "price": "49.90", "stock": 3,
        "category": to_global_id("Category", catalog["categories"]["books"].pk),
    }})["createProduct"]
    assert created["errors"] == []
    assert created["product"]["name"] == "Desk Lamp"
    assert created["product"]["category"]["name"] == "Books"


# -- Codegen and tsc ----------------------------------------------------------------------


@needs_node_clients
@pytest.mark.node
def test_codegen_types_compile_strictly_and_reject_wrong_use(asgi_server):
    report = run_node("codegen-types.mjs", asgi_server, timeout=120,
                      env={"CLIENT_FILES": json.dumps([USAGE, MISUSE])})

    codegen = report["codegen"]
    assert codegen["status"] == 0, codegen
    operations = report["generated"]["operations.ts"]
    schema_types = report["generated"]["schema-types.ts"]
    assert operations and schema_types, report["generated"]
    for kind, name in OPERATIONS.values():
        for type_name in generated_type_names(kind, name):
            assert f"export type {type_name} = " in operations, type_name
    # The schema's own types (the typescript plugin), which operations.ts imports its inputs from.
    assert "export type Product = Node & {" in schema_types
    assert "export type TokenAuthInput = {" in schema_types
    assert "import type * as Types from './schema-types';" in operations
    assert "input: Types.TokenAuthInput;" in operations
    # Decimal is a string, and no result field is `any`.
    assert "price: string" in operations
    assert "any" not in re.findall(r"\w+", operations)

    assert report["tscVersion"].startswith("Version 7."), report["tscVersion"]
    usage = report["compilations"][USAGE]
    assert (usage["status"], usage["stdout"], usage["stderr"]) == (0, "", ""), usage

    misuse = report["compilations"][MISUSE]
    assert misuse["status"] not in (0, None), misuse
    errors = [(m["file"], int(m["line"]), m["code"]) for m in DIAGNOSTIC.finditer(misuse["stdout"])]
    assert errors, misuse
    # Only the marked lines, each with its error: no error from the generated files, none
    # elsewhere (an import that does not resolve would be one).
    assert {file for file, _, _ in errors} == {MISUSE}, misuse["stdout"]
    assert {(line, code) for _, line, code in errors} == expected_errors(), misuse["stdout"]
    assert len(errors) == len(expected_errors()), misuse["stdout"]
