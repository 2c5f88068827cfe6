"""Text and integers in arguments: what no database stores alike is refused before execution.

A lone surrogate (`"\\ud800"`, which JSON can escape but UTF-8 cannot encode) and control
characters other than tab, line feed and carriage return (NUL above all: PostgreSQL refuses
it in text, SQLite stores it) have no place in a catalog's names, slugs, searches, reviews or
tokens. Every string a client gives an argument is checked here, in one place, whatever
carries it (a literal in the document or a variable), for every transport and database alike:
BAD_USER_INPUT naming the argument (`extensions.field`: the argument, or for a mutation's
`input` the path inside it, `name` or `items.0.product`, as the payload's `errors` name
fields).

An `Int` variable (or a list of them) outside the 32 bits GraphQL's Int has is refused here too,
naming its argument: graphql-core would refuse it only while executing, after the cost of
`first: 10000000000` had been computed (MAX_NODES_EXCEEDED instead of the client's mistake).
Ints inside input objects are left to graphql-core's coercion, whose message names their
path (`input.stock`).

Cheap by construction: what a document's operation can carry is worked out once per
operation (kept as long as the parsed document) and is, per request, the variables whose type
can hold a string, and the `Int` variables; a literal with a bad character refuses the
document whenever it comes. The catalog page (`$first: Int!`) costs a dictionary lookup and
one comparison. Other values (booleans, floats, enums) are never looked at: their types refuse
what does not fit while the variables are coerced.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLInt,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.utilities import type_from_ast

from schema.errors import BAD_USER_INPUT, RequestRefused

# C0 controls but tab, LF and CR; DEL and the C1 controls; UTF-16 surrogates, which in a
# Python string are always lone halves (JSON's escaped pairs decode to one code point).
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Scalars whose values are never strings: their coercion refuses a string on its own.
NOT_TEXT = (GraphQLInt, GraphQLFloat, GraphQLBoolean)

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

CACHE_SIZE = 1000


@dataclass(frozen=True)
class InputPlan:
    """What one operation's arguments can carry that needs a look per request."""

    literal_problem: tuple[str, str] | None
    """(argument path, what is wrong) of a literal string that is refused, if any."""
    variables: tuple[tuple[str, str], ...]
    """(variable name, argument path it is given to) for variables that can hold text."""
    int_variables: tuple[tuple[str, str], ...] = ()
    """The same for variables of type Int (or lists of Int)."""

    @property
    def checks_nothing(self) -> bool:
        return self.literal_problem is None and not self.variables and not self.int_variables


def check_arguments(schema: GraphQLSchema, document: DocumentNode,
                    operation: OperationDefinitionNode, variables: dict[str, Any] | None) -> None:
    """Refuse the operation (BAD_USER_INPUT naming the argument) when a string given to an
    argument holds a lone surrogate or a control character, or an Int variable is out of
    range."""
    plan = plan_for(schema, document, operation)
    if plan.checks_nothing:
        return
    if plan.literal_problem is not None:
        path, problem = plan.literal_problem
        raise _refusal(path, problem)
    if not variables:
        return
    for name, path in plan.variables:
        value = variables.get(name)
        if value is None:
            continue
        found = _first_problem(value, path)
        if found is not None:
            raise _refusal(*found)
    for name, path in plan.int_variables:
        out_of_range = _first_int_out_of_range(variables.get(name), path)
        if out_of_range is not None:
            raise RequestRefused(
                BAD_USER_INPUT,
                f"`{out_of_range[0]}` must be an Int from {INT_MIN} to {INT_MAX}, "
                f"got {out_of_range[1]}.",
                field=out_of_range[0],
            )


def problem_of(text: str) -> str | None:
    """What makes `text` unstorable, or None."""
    match = UNSTORABLE.search(text)
    if match is None:
        return None
    character = match.group()
    if "\ud800" <= character <= "\udfff":
        return f"holds a lone UTF-16 surrogate (U+{ord(character):04X})"
    return f"holds the control character U+{ord(character):04X}"


def _refusal(path: str, problem: str) -> RequestRefused:
    """A request error, as for variables that do not coerce: nothing executed, no `data`."""
    return RequestRefused(BAD_USER_INPUT, f"`{path}` {problem}, which text may not contain.",
                          field=path)


def _first_problem(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        problem = problem_of(value)
        return None if problem is None else (path, problem)
    if isinstance(value, dict):
        for key, item in value.items():
            found = _first_problem(item, _inside(path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_problem(item, f"{path}.{index}")
            if found is not None:
                return found
    return None


def _first_int_out_of_range(value: Any, path: str) -> tuple[str, int] | None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_int_out_of_range(item, f"{path}.{index}")
            if found is not None:
                return found
    elif isinstance(value, int) and not isinstance(value, bool):
        if not INT_MIN <= value <= INT_MAX:
            return path, value
    return None


# -- Plans, once per operation ------------------------------------------------------------


_plans: OrderedDict[int, tuple[OperationDefinitionNode, InputPlan]] = OrderedDict()
_lock = threading.Lock()


def plan_for(schema: GraphQLSchema, document: DocumentNode,
             operation: OperationDefinitionNode) -> InputPlan:
    """The operation's plan; kept with a reference to the operation, so that its `id` cannot
    name another operation while it is cached."""
    key = id(operation)
    cached = _plans.get(key)  # a read needs no lock; the oldest plans go first
    if cached is not None and cached[0] is operation:
        return cached[1]
    plan = compile_plan(schema, document, operation)
    with _lock:
        _plans[key] = (operation, plan)
        while len(_plans) > CACHE_SIZE:
            _plans.popitem(last=False)
    return plan


def compile_plan(schema: GraphQLSchema, document: DocumentNode,
                 operation: OperationDefinitionNode) -> InputPlan:
    uses: dict[str, str] = {}
    literal_problem: tuple[str, str] | None = None
    fragments = [definition for definition in document.definitions
                 if isinstance(definition, FragmentDefinitionNode)]
    for path, value in _argument_values([operation, *fragments]):
        for site, node in _leaves(value, path):
            if isinstance(node, VariableNode):
                uses.setdefault(node.name.value, site)
            elif literal_problem is None and (problem := problem_of(node.value)):
                literal_problem = (site, problem)
    variables, int_variables = [], []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        site = uses.get(name, name)
        if definition.default_value is not None and literal_problem is None:
            for _, node in _leaves(definition.default_value, site):
                if isinstance(node, StringValueNode) and (problem := problem_of(node.value)):
                    literal_problem = (site, problem)
                    break
        named = get_named_type(type_from_ast(schema, definition.type))
        if named is GraphQLInt:
            int_variables.append((name, site))
        elif named is not None and not isinstance(named, GraphQLEnumType) and (
            named not in NOT_TEXT
        ):
            variables.append((name, site))
    return InputPlan(literal_problem, tuple(variables), tuple(int_variables))


def _argument_values(definitions: list[Any]) -> Iterator[tuple[str, ValueNode]]:
    """(argument path, value node) of every argument of every field and directive."""
    pending = list(definitions)
    while pending:
        node = pending.pop()
        for directive in getattr(node, "directives", None) or ():
            for argument in directive.arguments or ():
                yield argument.name.value, argument.value
        if isinstance(node, FieldNode):
            for argument in node.arguments or ():
                yield argument.name.value, argument.value
        if isinstance(node, FragmentSpreadNode):
            continue
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            pending.extend(selection_set.selections)


def _leaves(value: ValueNode, path: str) -> Iterator[tuple[str, Any]]:
    """(path, node) of the variables and string literals in a literal value."""
    if isinstance(value, (VariableNode, StringValueNode)):
        yield path, value
    elif isinstance(value, ListValueNode):
        for index, item in enumerate(value.values):
            yield from _leaves(item, f"{path}.{index}")
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _leaves(field.value, _inside(path, field.name.value))


def _inside(path: str, key: str) -> str:
    """The path of an input object's field: a mutation's `input` is left out of it."""
    return key if path == "input" else f"{path}.{key}"
