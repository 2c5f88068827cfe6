"""Differential test: our executor returns exactly what graphql-core's reference returns.

On the real schema and the `catalog` fixture, every document is executed twice:

- reference: stock graphql-core (`graphql.execute_sync` with its own `ExecutionContext`),
  DATALOADER_BATCHING off (every load runs at once, so each Promise is settled when a resolver
  returns it) and a graphql-core middleware that unwraps those settled Promises;
- ours: `schema.execution.PromiseExecutionContext` through `graphql.execute`, batching on,
  as the view runs it (schema/view.py).

Both get what the view builds for a request: its context (`get_context`: the HttpRequest, with
the user `accounts.auth.authenticate_request` leaves on it), root value and middleware. The
comparison is of `ExecutionResult.formatted` (data, error messages, paths, locations,
extensions; as JSON, so key and error order count too), and of the response payload after
the pipeline's error handling (`OperationResult.of` and `errors.format_error`), codes
included.

Documents:

(a) every GraphQL query document written in the suite's test files (string literals that
    parse, are executable and validate against the schema; mutations and subscriptions are
    left out), as an anonymous viewer, a signed-in non-staff user and staff;
(b) generated variants of them (graphql-core visitors below): every field aliased, selection
    sets moved into named fragments, into inline fragments, `@skip`/`@include` (literal and
    from variables) on some fields, `__typename` in every selection set, and all of these
    combined;
(c) documents that fail: non-null errors propagating through lists and non-null fields,
    errors inside lists with their paths, `node(id:)` of hidden, unknown and malformed IDs,
    abstract types, root non-null errors that null `data`; and a few mutations, each run
    rolled back.
"""
from __future__ import annotations

import ast
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import RequestFactory, override_settings
from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    ExecutableDefinitionNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    build_schema,
    execute,
    execute_sync,
    get_named_type,
    parse,
    print_ast,
    type_from_ast,
    validate,
    visit,
)
from graphql_relay import to_global_id
from promise import Promise

from accounts.auth import authenticate_request
from dataloaders.loader import Loader
from dataloaders.registry import get_loader
from schema.execution import PromiseExecutionContext
from schema.pipeline import OperationResult
from schema.schema import schema as graphene_schema
from schema.view import VitrineGraphQLView

SCHEMA: GraphQLSchema = graphene_schema.graphql_schema
TESTS = Path(__file__).resolve().parent
VIEWERS = ("anonymous", "other", "staff")


# -- Running one document both ways ------------------------------------------------------


class PendingPromiseInReference(BaseException):
    """A resolver returned a pending Promise although batching is off: the reference is wrong.

    A BaseException, so graphql-core does not turn it into a field error.
    """


def is_deferred(value: Any) -> bool:
    """A `promise.Promise`, or any value with promise's API (the loaders' own deferred)."""
    kind = type(value)
    return isinstance(value, Promise) or all(
        hasattr(kind, attribute) for attribute in ("then", "is_pending", "get")
    )


def settled(value: Any) -> Any:
    """The value of a settled Promise (raising its reason if rejected); other values as is."""
    if is_deferred(value):
        if value.is_pending:
            raise PendingPromiseInReference(f"{value!r} is pending with DATALOADER_BATCHING off")
        return value.get()
    return value


def unwrap_settled_promises(next_: Callable, root: Any, info: Any, **args: Any) -> Any:
    """graphql-core middleware of the reference: resolvers' settled Promises become values.

    A list of Promises (one per item) becomes the list of their values, a rejected item its
    exception instance, which graphql-core raises as that item's error.
    """
    value = settled(next_(root, info, **args))
    if isinstance(value, list | tuple) and any(is_deferred(item) for item in value):
        items = []
        for item in value:
            try:
                items.append(settled(item))
            except Exception as error:
                items.append(error)
        value = items
    return value


VIEW = VitrineGraphQLView()


def request_for(user: Any):
    """What the view executes with for a request by `user`: context, root value, middleware."""
    request = RequestFactory().post("/graphql/", content_type="application/json")
    request.user = user or AnonymousUser()  # AuthenticationMiddleware's part
    authenticate_request(request)  # the view's first step: no credentials, so the session
    return VIEW.get_context(request), VIEW.get_root_value(request), VIEW.get_middleware(request)


def run_reference(document: DocumentNode, user: Any, variables: dict | None,
                  operation_name: str | None) -> ExecutionResult:
    with override_settings(DATALOADER_BATCHING=False):
        context, root, middleware = request_for(user)
        return execute_sync(
            SCHEMA, document, root_value=root, context_value=context,
            variable_values=variables, operation_name=operation_name,
            middleware=[*(middleware or ()), unwrap_settled_promises],
            # A Promise (awaitable) slipping through makes execute_sync raise; any other
            # deferred value would be completed as a wrong value: a difference, never a pass.
            check_sync=True,
        )


def run_ours(document: DocumentNode, user: Any, variables: dict | None,
             operation_name: str | None) -> ExecutionResult:
    with override_settings(DATALOADER_BATCHING=True):
        context, root, middleware = request_for(user)
        result = execute(  # as schema/view.py calls it
            SCHEMA, document, root_value=root, context_value=context,
            variable_values=variables, operation_name=operation_name, middleware=middleware,
            execution_context_class=PromiseExecutionContext,
        )
    assert isinstance(result, ExecutionResult), f"not a result: {result!r}"
    return result


def as_json(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)


def outcome(result: ExecutionResult) -> dict[str, str]:
    """What is compared: the raw formatted result, and the view's payload and codes."""
    raw = as_json(result.formatted)
    payload = OperationResult.of(result).payload()
    codes = [error.get("extensions", {}).get("code") for error in payload.get("errors", ())]
    return {"formatted": raw, "payload": as_json(payload), "codes": as_json(codes)}


@dataclass
class Case:
    """One execution to compare: a document, as whom, with which variables."""

    origin: str
    document: DocumentNode
    viewer: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    mutation: bool = False
    expect: Callable[[ExecutionResult], None] | None = field(default=None, repr=False)

    def describe(self) -> str:
        return (
            f"{self.origin} as {self.viewer}, operation {self.operation_name!r}, "
            f"variables {self.variables!r}:\n{print_ast(self.document)}"
        )


def execute_both(case: Case, users: dict) -> tuple[ExecutionResult, ExecutionResult]:
    user = users.get(case.viewer)
    args = (case.document, user, case.variables, case.operation_name)
    if not case.mutation:
        return run_reference(*args), run_ours(*args)
    results = []
    for run in (run_reference, run_ours):
        with transaction.atomic():  # each run sees the data as it was, not the other's writes
            results.append(run(*args))
            transaction.set_rollback(True)
    return results[0], results[1]


def compare(cases: list[Case], users: dict) -> None:
    """Execute every case both ways; fail listing the cases whose outcomes differ."""
    assert cases
    differences = []
    for case in cases:
        reference, ours = execute_both(case, users)
        expected, actual = outcome(reference), outcome(ours)
        if case.expect is not None:
            case.expect(reference)  # the case tests what it means to (checked once)
        if expected != actual:
            key = next(key for key in expected if expected[key] != actual[key])
            differences.append(
                f"--- {case.describe()}\n--- reference {key}:\n{expected[key][:3000]}\n"
                f"--- ours:\n{actual[key][:3000]}"
            )
    assert not differences, (
        f"{len(differences)} of {len(cases)} executions differ from graphql-core's:\n\n"
        + "\n\n".join(differences[:3])
    )


# -- (a) The suite's documents -------------------------------------------------------------


@dataclass(frozen=True)
class SuiteDocument:
    origin: str  # file:line of the first occurrence
    source: str
    operation_names: tuple[str | None, ...]


def string_literals(path: Path) -> Iterator[tuple[int, str]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError):  # a file being edited: its own tests fail
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
            yield node.lineno, node.value


def query_document(source: str) -> DocumentNode | None:
    """The document if `source` is a valid executable document of queries only."""
    try:
        document = parse(source)
    except (GraphQLSyntaxError, RecursionError):
        return None
    if not all(isinstance(d, ExecutableDefinitionNode) for d in document.definitions):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations or any(op.operation != OperationType.QUERY for op in operations):
        return None
    if validate(SCHEMA, document):
        return None
    return document


@functools.cache
def suite_documents() -> tuple[SuiteDocument, ...]:
    """The suite's query documents, deduplicated by their printed form, in a stable order."""
    found: dict[str, SuiteDocument] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        for line, source in string_literals(path):
            document = query_document(source)
            if document is None:
                continue
            printed = print_ast(document)
            if printed in found:
                continue
            operations = [
                d for d in document.definitions if isinstance(d, OperationDefinitionNode)
            ]
            names = tuple(op.name.value if op.name else None for op in operations)
            found[printed] = SuiteDocument(f"{path.name}:{line}", printed, names)
    return tuple(found.values())


def test_the_suite_has_query_documents_to_compare():
    documents = suite_documents()
    files = {document.origin.split(":")[0] for document in documents}
    # About 110 from 20 files today: far fewer means the collector broke.
    assert len(documents) >= 60, [document.origin for document in documents]
    assert len(files) >= 15, files


class Ids:
    """Global IDs and slugs of the catalog fixture, for variables and error documents."""

    def __init__(self, catalog: dict, users: dict) -> None:
        products, categories = catalog["products"], catalog["categories"]
        self.product = {key: to_global_id("Product", p.pk) for key, p in products.items()}
        self.category = {key: to_global_id("Category", c.pk) for key, c in categories.items()}
        self.user = {key: to_global_id("User", u.pk) for key, u in users.items()}
        reviews = {review.title: review for review in products["cans"].reviews.all()}
        reviews.update({review.title: review for review in products["draft"].reviews.all()})
        self.review = {title: to_global_id("Review", r.pk) for title, r in reviews.items()}
        image = products["cans"].images.get()
        self.image = to_global_id("ProductImage", image.pk)
        self.slug = {key: p.slug for key, p in products.items()}
        self.unknown_product = to_global_id("Product", 999_999)

    def as_dict(self) -> dict[str, str]:
        values = {f"product_{key}": value for key, value in self.product.items()}
        values.update({f"category_{key}": value for key, value in self.category.items()})
        values.update({f"user_{key}": value for key, value in self.user.items()})
        values.update({f"review_{key.lower()}": value for key, value in self.review.items()})
        values.update({f"slug_{key}": value for key, value in self.slug.items()})
        values.update(image=self.image, unknown_product=self.unknown_product)
        return values


def variable_sets(document: DocumentNode, ids: Ids) -> list[dict[str, Any] | None]:
    """Values for the document's variables: none at all, and a set of plausible ones.

    Values are picked by name (and type): a product ID for `id`, a page size for `first`...
    Unknown input objects and lists stay unset. Wrong guesses (a product ID where a
    category ID is expected) only make both executions fail alike.
    """
    definitions = [
        definition
        for operation in document.definitions
        if isinstance(operation, OperationDefinitionNode)
        for definition in operation.variable_definitions
    ]
    if not definitions:
        return [None]
    by_name: dict[str, Any] = {
        "id": ids.product["cans"], "product": ids.product["cans"],
        "category": ids.category["headphones"], "slug": ids.slug["cans"],
        "first": 2, "last": 1, "n": 2, "offset": 1, "s": "Studio", "search": "head",
        "name": "Mystery Novel", "nameIcontains": "head", "orderBy": "price",
        "price": "99.00", "priceGte": "10", "priceLte": "500", "inStock": True,
        "isPublished": True,
    }
    by_type = {"Int": 1, "String": "studio", "Boolean": True, "ID": ids.product["amp"],
               "Decimal": "15.00", "Float": 1.5}
    values: dict[str, Any] = {}
    for definition in definitions:
        variable = definition.variable.name.value
        graphql_type = type_from_ast(SCHEMA, definition.type)
        named = get_named_type(graphql_type)
        nullable = getattr(graphql_type, "of_type", None) if isinstance(
            graphql_type, GraphQLNonNull) else graphql_type
        if isinstance(named, GraphQLInputObjectType) or isinstance(nullable, GraphQLList):
            continue
        if variable in by_name:
            values[variable] = by_name[variable]
        elif named.name in by_type:
            values[variable] = by_type[named.name]
    return [None, values]


def suite_cases(ids: Ids, viewers: tuple[str, ...], transform=None, variables=None,
                name: str = "") -> list[Case]:
    cases = []
    for index, suite_document in enumerate(suite_documents()):
        document = parse(suite_document.source)
        if transform is not None:
            document = transform(document)
            problems = validate(SCHEMA, document)
            assert not problems, f"{name} of {suite_document.origin}: {problems}"
        viewer = viewers[index % len(viewers)]
        for values in variable_sets(document, ids):
            values = {**(values or {}), **(variables or {})} or None
            for operation_name in suite_document.operation_names:
                cases.append(Case(f"{name or 'suite'} {suite_document.origin}", document,
                                  viewer, values, operation_name))
    return cases


@pytest.mark.parametrize("viewer", VIEWERS)
def test_suite_documents_match_graphql_core(catalog, users, viewer):
    compare(suite_cases(Ids(catalog, users), (viewer,)), users)


# -- (b) Generated variants ----------------------------------------------------------------


def clone(node, **changes):
    """A shallow copy of an AST node with some attributes changed."""
    copy = node.__copy__()
    for key, value in changes.items():
        setattr(copy, key, value)
    return copy


def name(value: str) -> NameNode:
    return NameNode(value=value)


def directive(directive_name: str, condition) -> DirectiveNode:
    return DirectiveNode(
        name=name(directive_name),
        arguments=(ArgumentNode(name=name("if"), value=condition),),
    )


class AliasEverything(Visitor):
    """Every field gets an alias (`v_` + its response name), __typename included."""

    def enter_field(self, node: FieldNode, *_args):
        return clone(node, alias=name("v_" + (node.alias or node.name).value))


class WithTypes(Visitor):
    """A visitor that knows the named type of the selection set it leaves."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info

    def selection_type(self):
        return get_named_type(self.type_info.get_type())

    def root_type(self, node: OperationDefinitionNode):
        return SCHEMA.get_root_type(node.operation)


class IntoNamedFragments(WithTypes):
    """Every selection set becomes a spread of a new named fragment holding it."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__(type_info)
        self.fragments: list[FragmentDefinitionNode] = []

    def wrap(self, selection_set: SelectionSetNode, type_name: str) -> SelectionSetNode:
        fragment_name = f"VitrineFragment{len(self.fragments)}"
        self.fragments.append(FragmentDefinitionNode(
            name=name(fragment_name),
            type_condition=NamedTypeNode(name=name(type_name)),
            selection_set=selection_set,
            directives=(),
        ))
        return SelectionSetNode(selections=(
            FragmentSpreadNode(name=name(fragment_name), directives=()),
        ))

    def leave_field(self, node: FieldNode, *_args):
        if node.selection_set is None:
            return None
        return clone(node, selection_set=self.wrap(node.selection_set,
                                                   self.selection_type().name))

    def leave_operation_definition(self, node: OperationDefinitionNode, *_args):
        return clone(node, selection_set=self.wrap(node.selection_set,
                                                   self.root_type(node).name))


class IntoInlineFragments(WithTypes):
    """Every selection set goes into an inline fragment, in turn: `... on Node { ... on Type }`
    (an abstract type around an object type; `... on Type` for other types), `... on Type`
    and a bare `...`."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__(type_info)
        self.count = 0

    def wrap(self, selection_set: SelectionSetNode, graphql_type) -> SelectionSetNode:
        self.count += 1
        kind = self.count % 3

        def inline(type_name: str | None, inner: SelectionSetNode) -> InlineFragmentNode:
            return InlineFragmentNode(
                type_condition=NamedTypeNode(name=name(type_name)) if type_name else None,
                selection_set=inner, directives=(),
            )

        if kind == 0:
            fragment = inline(None, selection_set)
        else:
            fragment = inline(graphql_type.name, selection_set)
            node_interface = SCHEMA.get_type("Node")
            if (kind == 1 and isinstance(graphql_type, GraphQLObjectType)
                    and node_interface in graphql_type.interfaces):
                fragment = inline("Node", SelectionSetNode(selections=(fragment,)))
        return SelectionSetNode(selections=(fragment,))

    def leave_field(self, node: FieldNode, *_args):
        if node.selection_set is None:
            return None
        return clone(node, selection_set=self.wrap(node.selection_set, self.selection_type()))

    def leave_operation_definition(self, node: OperationDefinitionNode, *_args):
        return clone(node, selection_set=self.wrap(node.selection_set, self.root_type(node)))


INCLUDE_VARIABLE, SKIP_VARIABLE = "vitrineInclude", "vitrineSkip"


class SkipAndInclude(Visitor):
    """`@skip`/`@include` on some selections, literal and from variables.

    In each selection set: the 2nd, 5th... selection gets `@skip(if: true)`, the 3rd, 6th...
    `@include(if: $vitrineInclude)`; the first leaf field is repeated with `@skip(if:
    $vitrineSkip) @include(if: $vitrineInclude)` (merged with the original unless left out)
    and with `@include(if: false)`. Each operation defines `$vitrineInclude: Boolean!` and
    `$vitrineSkip: Boolean = false`.
    """

    def leave_selection_set(self, node: SelectionSetNode, *_args):
        selections = []
        for index, selection in enumerate(node.selections):
            added = ()
            if index % 3 == 1:
                added = (directive("skip", BooleanValueNode(value=True)),)
            elif index % 3 == 2:
                added = (directive("include", VariableNode(name=name(INCLUDE_VARIABLE))),)
            selections.append(clone(selection, directives=(*selection.directives, *added)))
        # Repeating a leaf only: repeating subtrees at every level would grow exponentially.
        leaves = [
            selection for selection in node.selections
            if isinstance(selection, FieldNode) and selection.selection_set is None
        ]
        if leaves:
            first = leaves[0]
            selections.append(clone(first, directives=(
                *first.directives, directive("skip", VariableNode(name=name(SKIP_VARIABLE))),
                directive("include", VariableNode(name=name(INCLUDE_VARIABLE))),
            )))
            selections.append(clone(first, directives=(
                *first.directives, directive("include", BooleanValueNode(value=False)),
            )))
        return clone(node, selections=tuple(selections))

    def leave_operation_definition(self, node: OperationDefinitionNode, *_args):
        boolean = NamedTypeNode(name=name("Boolean"))
        definitions = (
            VariableDefinitionNode(
                variable=VariableNode(name=name(INCLUDE_VARIABLE)),
                type=NonNullTypeNode(type=boolean), directives=(),
            ),
            VariableDefinitionNode(
                variable=VariableNode(name=name(SKIP_VARIABLE)), type=boolean,
                default_value=BooleanValueNode(value=False), directives=(),
            ),
        )
        return clone(node, variable_definitions=(*node.variable_definitions, *definitions))


class TypenameEverywhere(Visitor):
    """`__typename` first in every selection set (root included)."""

    def leave_selection_set(self, node: SelectionSetNode, *_args):
        typename = FieldNode(name=name("__typename"), arguments=(), directives=())
        return clone(node, selections=(typename, *node.selections))


def alias_everything(document: DocumentNode) -> DocumentNode:
    return visit(document, AliasEverything())


def into_named_fragments(document: DocumentNode) -> DocumentNode:
    type_info = TypeInfo(SCHEMA)
    visitor = IntoNamedFragments(type_info)
    edited = visit(document, TypeInfoVisitor(type_info, visitor))
    return DocumentNode(definitions=(*edited.definitions, *visitor.fragments))


def into_inline_fragments(document: DocumentNode) -> DocumentNode:
    type_info = TypeInfo(SCHEMA)
    return visit(document, TypeInfoVisitor(type_info, IntoInlineFragments(type_info)))


def skip_and_include(document: DocumentNode) -> DocumentNode:
    return visit(document, SkipAndInclude())


def typename_everywhere(document: DocumentNode) -> DocumentNode:
    return visit(document, TypenameEverywhere())


def everything(document: DocumentNode) -> DocumentNode:
    for transform in (typename_everywhere, skip_and_include, alias_everything,
                      into_inline_fragments, into_named_fragments):
        document = transform(document)
    return document


DIRECTIVE_VARIABLES = (
    {INCLUDE_VARIABLE: True, SKIP_VARIABLE: False},
    {INCLUDE_VARIABLE: False, SKIP_VARIABLE: True},
)
# name -> (transform, extra variable sets). Each variant runs every suite document once,
# as one viewer in turn, so that all viewers see every variant.
VARIANTS: dict[str, tuple[Callable, tuple[dict | None, ...]]] = {
    "aliased": (alias_everything, (None,)),
    "named-fragments": (into_named_fragments, (None,)),
    "inline-fragments": (into_inline_fragments, (None,)),
    "skip-include": (skip_and_include, DIRECTIVE_VARIABLES),
    "typename": (typename_everywhere, (None,)),
    "everything": (everything, DIRECTIVE_VARIABLES[:1]),
}


def test_transformers_do_what_they_say():
    document = parse("{ products(first: 1) { edges { node { id n: name } } } }")
    assert print_ast(alias_everything(document)) == print_ast(parse(
        "{ v_products: products(first: 1) { v_edges: edges { v_node: node "
        "{ v_id: id v_n: name } } } }"
    ))
    assert print_ast(typename_everywhere(document)) == print_ast(parse(
        "{ __typename products(first: 1) { __typename edges { __typename node "
        "{ __typename id n: name } } } }"
    ))
    named = into_named_fragments(document)
    assert [d.type_condition.name.value for d in named.definitions[1:]] == [
        "Product", "ProductEdge", "ProductConnection", "Query",
    ]
    inline = print_ast(into_inline_fragments(document))
    assert "... on Node {" in inline and "... on ProductEdge {" in inline
    assert "... {" in inline
    skipped = print_ast(skip_and_include(document))
    assert "n: name @skip(if: true)" in skipped
    assert "id @skip(if: $vitrineSkip) @include(if: $vitrineInclude)" in skipped
    assert "id @include(if: false)" in skipped
    assert "query ($vitrineInclude: Boolean!, $vitrineSkip: Boolean = false)" in skipped
    for transform, _ in VARIANTS.values():
        assert not validate(SCHEMA, transform(document))


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_of_suite_documents_match_graphql_core(catalog, users, variant):
    transform, variable_choices = VARIANTS[variant]
    ids = Ids(catalog, users)
    cases = []
    for variables in variable_choices:
        cases += suite_cases(ids, VIEWERS, transform, variables, variant)
    compare(cases, users)


# -- (c) Documents that fail ------------------------------------------------------------------


def has_errors(*codes: str) -> Callable[[ExecutionResult], None]:
    """The reference result has errors with these codes (so the case fails as meant)."""

    def check(result: ExecutionResult) -> None:
        payload = OperationResult.of(result).payload()
        found = [error["extensions"]["code"] for error in payload.get("errors", ())]
        assert sorted(set(found)) == sorted(set(codes)), (found, result.formatted)

    return check


def data_is_null(*codes: str) -> Callable[[ExecutionResult], None]:
    def check(result: ExecutionResult) -> None:
        assert result.data is None, result.formatted
        has_errors(*codes)(result)

    return check


ERROR_DOCUMENTS: dict[str, tuple[str, Callable | None]] = {
    # A resolver raising for bad input in a non-null field, for every product of a list:
    # `reviews` is non-null, so each edge's `node` is nulled, with an error per item path.
    "reviews(first: 0) in a list": (
        "{ products(first: 10) { totalCount edges { cursor node { name"
        " reviews(first: 0) { totalCount } } } } }",
        has_errors("BAD_USER_INPUT"),
    ),
    "bad cursor in a list": (
        "{ products { edges { node { name reviews(after: \"bogus\") { edges { node"
        " { title } } } } } } }",
        has_errors("BAD_USER_INPUT"),
    ),
    # Some items fail and some do not: only products with reviews reach the nested
    # `reviews(first: 101)` (through each review's product, a loaded non-null field).
    "mixed items": (
        "{ popularProducts(first: 10) { name reviews(first: 1) { totalCount edges { node"
        " { title author { username } product { name reviews(first: 101) { totalCount } }"
        " } } } } }",
        has_errors("BAD_USER_INPUT"),
    ),
    # Through several non-null levels after a dispatch: reviews -> Product! -> [Product!]!
    # -> relatedProducts (non-null) -> the nullable node.
    "deep propagation after a load": (
        "{ products { edges { node { name relatedProducts(first: 3) { name"
        " reviews(last: 0) { totalCount } } } } } }",
        None,
    ),
    "deep propagation, sibling survives": (
        "{ a: category(slug: \"headphones\") { name products { edges { node { name"
        " relatedProducts { name reviews(first: 0) { totalCount } } } } } }"
        " b: category(slug: \"audio\") { name children { name parent { name } } } }",
        None,
    ),
    # A non-null root field failing nulls all of `data`, whatever the other fields did.
    "root non-null error": (
        "{ categories { name children { name } } popularProducts(first: 0) { name }"
        " products { totalCount } }",
        data_is_null("BAD_USER_INPUT"),
    ),
    # ... also when the error comes after a dispatch, through lists of non-null items:
    # reviews -> Product! -> [Product!]! (relatedProducts, loaded) -> Product! ->
    # [Product!]! (popularProducts) -> data.
    "root non-null error after a load": (
        "{ categories { name } popularProducts(first: 3) { name relatedProducts(first: 2)"
        " { name reviews(first: 0) { totalCount } } } }",
        data_is_null("BAD_USER_INPUT"),
    ),
    "root non-null errors, first wins": (
        "{ recommendations(first: -1) { name } popularProducts(first: 1000) { name } }",
        data_is_null("BAD_USER_INPUT"),
    ),
    "non-null list of a loaded parent": (
        "{ product(id: \"%(product_cans)s\") { name relatedProducts(first: 0) { name } }"
        " other: product(id: \"%(product_amp)s\") { name } }",
        has_errors("BAD_USER_INPUT"),
    ),
    "viewer-only root field": (
        "{ myApiKeys { name } categories { name } }",
        None,
    ),
    "orders of the viewer": (
        "{ myOrders(first: 2) { totalCount edges { node { id status items { quantity"
        " product { name } } } } } me { username email } }",
        None,
    ),
    # node(id:): the Node interface, resolved to its object type; hidden, unknown, malformed
    # and wrongly typed IDs; several at once so errors and nulls land in the right places.
    "node of every kind": (
        "{ p: node(id: \"%(product_cans)s\") { __typename id ... on Product { name"
        " category { name ancestors { name } } } }"
        " c: node(id: \"%(category_headphones)s\") { __typename ... on Category { name"
        " ancestors { slug } children { name } parent { parent { name } } } }"
        " r: node(id: \"%(review_good)s\") { __typename id ... on Review { rating author"
        " { username } product { name } } }"
        " u: node(id: \"%(user_creator)s\") { __typename id ... on User { username email } }"
        " i: node(id: \"%(image)s\") { __typename ... on ProductImage { altText isPrimary } } }",
        None,
    ),
    "node of hidden and unknown ids": (
        "{ draft: node(id: \"%(product_draft)s\") { id ... on Product { name } }"
        " hiddenReview: node(id: \"%(review_hidden)s\") { id ... on Review { title } }"
        " unknown: node(id: \"%(unknown_product)s\") { id }"
        " garbage: node(id: \"not-an-id\") { id }"
        " input: node(id: \"%(input_type_id)s\") { id }"
        " visible: node(id: \"%(product_novel)s\") { id ... on Product { name } } }",
        None,
    ),
    "product and category lookups that fail": (
        "{ a: product(id: \"%(category_audio)s\") { name }"
        " b: product(slug: \"%(slug_draft)s\") { name }"
        " c: product(id: \"%(product_draft)s\") { name }"
        " d: product { name }"
        " e: category(id: \"%(product_cans)s\") { name }"
        " f: category(slug: \"nope\") { name }"
        " g: product(id: \"%(product_cans)s\") { name } }",
        None,
    ),
    "errors inside nested lists": (
        "{ categories { name children { name products(first: 2) { edges { node { name"
        " relatedProducts(first: 101) { name } } } } } } }",
        None,
    ),
    "abstract type with fragments": (
        "query Q { a: node(id: \"%(product_buds)s\") { ...NodeBits } b:"
        " node(id: \"%(category_books)s\") { ...NodeBits } } fragment NodeBits on Node {"
        " __typename id ... on Product { slug isAvailable reviews { totalCount } }"
        " ... on Category { slug products { totalCount } } }",
        None,
    ),
    "variables that do not coerce": (
        "query Q($first: Int!) { products(first: $first) { totalCount } }",
        None,
    ),
}
ERROR_VARIABLES = {
    "variables that do not coerce": {"first": "ten"},
}


def error_cases(ids: Ids, viewers: tuple[str, ...]) -> list[Case]:
    values = {**ids.as_dict(), "input_type_id": to_global_id("CreateProductInput", 1)}
    cases = []
    for viewer in viewers:
        for label, (source, expect) in ERROR_DOCUMENTS.items():
            document = parse(source % values)
            assert not validate(SCHEMA, document), label
            variables = ERROR_VARIABLES.get(label)
            cases.append(Case(label, document, viewer, variables, expect=expect))
            # And with every transformation at once (aliases, fragments, directives...).
            cases.append(Case(f"everything of {label}", everything(document), viewer,
                              {**(variables or {}), **DIRECTIVE_VARIABLES[0]}))
    return cases


@pytest.mark.parametrize("viewer", (*VIEWERS, "creator"))
def test_failing_documents_match_graphql_core(catalog, users, viewer):
    compare(error_cases(Ids(catalog, users), (viewer,)), users)


# List nullability, as graphql-core's tests check it (tests/execution/test_lists.py and
# test_nonnull.py; async there, so not run by test_graphql_core_execution.py). The real schema
# never puts a null or an exception at an item position itself, so this part uses a schema of
# its own: each list type, with items null or failing, given plainly, loaded one by one
# through a DataLoader (pending Promises for us, settled ones for the reference) or loaded as
# a whole.

LIST_TYPES = ("[Int]", "[Int]!", "[Int!]", "[Int!]!", "[[Int!]]", "[[Int]!]!")
LIST_VALUES = {
    "values": [1, 2],
    "a null item": [1, None, 2],
    "a failing item": [1, RuntimeError("bad item"), 2],
    "null": None,
    "a failing list": RuntimeError("bad list"),
    "empty": [],
}
LIST_DOCUMENTS = (
    "{ other listField }",
    "{ wrapper { listField other } other }",
    "{ strictWrapper { listField } other }",
    "{ wrappers { listField } }",
)


class ListItemLoader(Loader):
    """Key: a position of context["values"], or "all" for the whole value."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        values = self.context["values"]
        return [values if key == "all" else values[key] for key in keys]


def nested(value: Any, list_type: str) -> Any:
    """The value for a list type: for a list of lists, each item becomes a list of it."""
    if list_type.startswith("[[") and isinstance(value, list):
        return [item if isinstance(item, Exception) or item is None else [item, item]
                for item in value]
    return value


def list_field(how: str) -> Callable:
    def resolve(info: Any) -> Any:
        values = info.context["values"]
        loader = get_loader(info.context, ListItemLoader)
        if how == "plainly" or (not isinstance(values, list) and how == "one by one"):
            return values
        if how == "as a whole":
            return loader.load("all")
        return [loader.load(index) for index in range(len(values))]

    return resolve


@functools.cache
def list_schema(list_type: str) -> GraphQLSchema:
    return build_schema(f"""
        type Query {{
          listField: {list_type}  other: String
          wrapper: Wrapper  strictWrapper: Wrapper!  wrappers: [Wrapper!]
        }}
        type Wrapper {{ listField: {list_type}  other: String }}
    """)


def run_list_case(executor: str, list_type: str, value: Any, how: str, source: str):
    schema, document = list_schema(list_type), parse(source)
    wrapper = {"listField": list_field(how), "other": "ok"}
    root = {**wrapper, "wrapper": wrapper, "strictWrapper": wrapper,
            "wrappers": [wrapper, wrapper]}
    context: dict[str, Any] = {"values": nested(value, list_type)}
    if executor == "reference":
        with override_settings(DATALOADER_BATCHING=False):
            return execute_sync(schema, document, root, context,
                                middleware=[unwrap_settled_promises], check_sync=True)
    with override_settings(DATALOADER_BATCHING=True):
        return execute(schema, document, root, context,
                       execution_context_class=PromiseExecutionContext)


@pytest.mark.parametrize("list_type", LIST_TYPES)
def test_list_nullability_matches_graphql_core(list_type):
    differences = []
    for label, value in LIST_VALUES.items():
        for how in ("plainly", "one by one", "as a whole"):
            for source in LIST_DOCUMENTS:
                expected = as_json(run_list_case("reference", list_type, value, how,
                                                 source).formatted)
                actual = as_json(run_list_case("ours", list_type, value, how,
                                               source).formatted)
                if expected != actual:
                    differences.append(f"{label} {how}, {source}:\n{expected}\n!=\n{actual}")
    assert not differences, "\n\n".join(differences[:3])


# Mutations run serially; each run is rolled back, so both start from the same data. Only
# fields that do not depend on the run are selected (no new IDs: PostgreSQL sequences do not
# roll back; no timestamps).
MUTATIONS: dict[str, tuple[str, str]] = {
    "favorite, then a hidden product": ("other", (
        "mutation { a: toggleFavorite(input: {product: \"%(product_cans)s\"}) { favorited"
        " errors { field code } product { name } }"
        " b: toggleFavorite(input: {product: \"%(product_draft)s\"})"
        " { favorited errors { field code } product { name } }"
        " c: toggleFavorite(input: {product: \"%(product_novel)s\"}) { favorited } }"
    )),
    "updates seen by the next mutation": ("staff", (
        "mutation { a: updateProduct(input: {id: \"%(product_amp)s\", name: \"Valve Amp\"})"
        " { errors { field code } product { name price } } b: updateProduct(input:"
        " {id: \"%(product_amp)s\", price: \"-1\"}) { errors { field message code } product"
        " { name } } c: updateProduct(input: {id: \"%(product_amp)s\", price: \"450.00\"})"
        " { product { name price category { name } reviews { totalCount } } } }"
    )),
    "refused mutations": ("anonymous", (
        "mutation { toggleFavorite(input: {product: \"%(product_cans)s\"}) { favorited }"
        " updateProduct(input: {id: \"%(product_cans)s\", name: \"X\"}) { product { name } }"
        " addReview(input: {product: \"not-an-id\", rating: 9, title: \"\"}) { errors"
        " { field code } } }"
    )),
    # `b` reads isFavorited after `a` toggled it: what `a` loaded must not be served to `b`.
    "a later mutation field reads what an earlier one changed": ("other", (
        "mutation { a: toggleFavorite(input: {product: \"%(product_cans)s\"}) { favorited"
        " product { isFavorited } } b: toggleFavorite(input: {product:"
        " \"%(product_cans)s\"}) { favorited product { isFavorited } } }"
    )),
}


def mutation_cases(mutations: dict[str, tuple[str, str]], catalog, users) -> list[Case]:
    values = Ids(catalog, users).as_dict()
    return [
        Case(label, parse(source % values), viewer, mutation=True)
        for label, (viewer, source) in mutations.items()
    ]


def test_mutations_match_graphql_core(catalog, users):
    compare(mutation_cases(MUTATIONS, catalog, users), users)


