"""Static query cost and node count, computed before execution (Shopify's model, with GitHub's
node count).

Rules (the README's "Limits" section has the table):

- scalar and enum fields cost 0; `__typename` and introspection fields cost 0;
- an object field costs 1, except the bookkeeping types `*Edge` and `PageInfo` (0);
- a connection field (an object type named `*Connection` with `edges`) costs 2, and what is
  selected under its `edges`/`nodes` counts once per item it may return: `first`/`last`
  (the larger if both), or GRAPHQL_MAX_PAGE_SIZE (100) when neither is given;
- a plain list of objects counts its children once per item: its `first` argument when it has
  one, else the length of its `ids` argument when it has one (`nodes(ids:)`: a list literal
  or a variable, a single value counting 1), else GRAPHQL_COST_LIST_SIZES["Type.field"], else
  GRAPHQL_COST_DEFAULT_LIST_SIZE;
- a root mutation field costs GRAPHQL_COST_MUTATION (10) on top of what it selects;
- `@skip`/`@include` are honoured, literal or from variables; fragments and inline fragments
  are expanded (fragments on different types of an abstract field are all counted: an upper
  bound).

Nodes (like GitHub's node limit) are the objects the query may return through lists and
connections: each list's item count multiplied by the item counts of the lists above it.
`products(first: 50) { edges { node { reviews(first: 10) { edges { node { id } } } } } }` may
return 50 + 50 x 10 = 550 nodes.

`compile_plan` turns an operation into a `CostPlan` once per document (cached with it by
schema/document_cache.py); a plan only needs the request's variables to give a number, and
a plan that reads no variable remembers its number.

Actual cost (refunded to the throttle bucket) applies the same rules to the response data:
each list counts the items it really returned, null objects count nothing. It is capped at the
requested cost.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

from schema import errors
from schema.errors import RequestRefused

INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
FREE_TYPES_SUFFIX = "Edge"
FREE_TYPES = frozenset({"PageInfo"})
# List arguments whose length is how many items a list field returns (`nodes(ids:)`).
LENGTH_ARGUMENTS = ("ids",)

# (include?, literal, variable name): `@skip(if: ...)` is (False, ...), `@include` (True, ...).
Condition = tuple[bool, bool | None, str | None]


@dataclass(frozen=True, slots=True)
class Count:
    """How many items a list field may return: the largest given source, else a default.

    Sources are integer constants, integer variables (`first: $n`) and variables whose list
    length counts (`ids: $ids`; a single value is coerced to a list of one)."""

    constants: tuple[int, ...]
    variables: tuple[str, ...]
    default: int
    lengths: tuple[str, ...] = ()

    def value(self, variables: dict[str, Any]) -> int:
        values = [*self.constants]
        for name in self.variables:
            value = variables.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                values.append(max(value, 0))
        for name in self.lengths:
            value = variables.get(name)
            if isinstance(value, list):
                values.append(len(value))
            elif value is not None:
                values.append(1)
        return max(values) if values else self.default


@dataclass(frozen=True, slots=True)
class PlanField:
    key: str
    own: int
    count: Count | None  # None: a single object
    children: tuple[Any, ...]
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanFragment:
    name: str
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanInline:
    children: tuple[Any, ...]
    conditions: tuple[Condition, ...] = ()


@dataclass
class CostPlan:
    root: tuple[Any, ...]
    fragments: dict[str, tuple[Any, ...]]
    variable_defaults: dict[str, Any]
    uses_variables: bool
    _static: tuple[int, int] | None = field(default=None, repr=False)
    _flat: dict[int, tuple[PlanField, ...]] = field(default_factory=dict, repr=False)
    _costly: dict[int, bool] = field(default_factory=dict, repr=False)

    def evaluate(self, variables: dict[str, Any] | None) -> tuple[int, int]:
        """(requested cost, nodes) for these variables."""
        if self._static is not None:
            return self._static
        values = {**self.variable_defaults, **(variables or {})}
        result = _Evaluator(self, values).level(self.root)
        if not self.uses_variables:
            self._static = result
        return result

    def actual_cost(self, data: Any, variables: dict[str, Any] | None) -> int:
        values = {**self.variable_defaults, **(variables or {})}
        return _actual(self, self.root, data, values)


# -- Compiling ------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.page_size = settings.GRAPHQL_MAX_PAGE_SIZE
        self.list_size = settings.GRAPHQL_COST_DEFAULT_LIST_SIZE
        self.list_sizes = settings.GRAPHQL_COST_LIST_SIZES
        self.mutation_cost = settings.GRAPHQL_COST_MUTATION
        self.uses_variables = False
        self.fragment_nodes = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }

    def fragments(self) -> dict[str, tuple[Any, ...]]:
        compiled = {}
        for name, definition in self.fragment_nodes.items():
            fragment_type = self.schema.get_type(definition.type_condition.name.value)
            compiled[name] = self.selection_set(fragment_type, definition.selection_set)
        return compiled

    def conditions(self, directives: tuple[DirectiveNode, ...] | None) -> tuple[Condition, ...]:
        found: list[Condition] = []
        for directive in directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            for argument in directive.arguments:
                if argument.name.value != "if":
                    continue
                value = argument.value
                if isinstance(value, VariableNode):
                    self.uses_variables = True
                    found.append((name == "include", None, value.name.value))
                elif isinstance(value, BooleanValueNode):
                    found.append((name == "include", value.value, None))
        return tuple(found)

    def count(self, field_def: Any, node: FieldNode, default: int) -> Count:
        constants: list[int] = []
        variables: list[str] = []
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        for name in ("first", "last"):
            if name not in field_def.args:
                continue
            value = given.get(name)
            if isinstance(value, IntValueNode):
                constants.append(max(int(value.value), 0))
            elif isinstance(value, VariableNode):
                self.uses_variables = True
                variables.append(value.name.value)
            elif value is None:
                arg_default = field_def.args[name].default_value
                if isinstance(arg_default, int):  # Undefined (no default) is not an int
                    constants.append(arg_default)
        lengths: list[str] = []
        for name in LENGTH_ARGUMENTS:
            value = given.get(name)
            if name not in field_def.args or value is None or isinstance(value, NullValueNode):
                continue
            if isinstance(value, ListValueNode):
                constants.append(len(value.values))
            elif isinstance(value, VariableNode):
                self.uses_variables = True
                lengths.append(value.name.value)
            else:
                constants.append(1)
        return Count(tuple(constants), tuple(variables), default, tuple(lengths))

    def selection_set(
        self,
        parent_type: Any,
        selection_set: SelectionSetNode | None,
        connection_count: Count | None = None,
        root_cost: int = 0,
    ) -> tuple[Any, ...]:
        if selection_set is None or parent_type is None:
            return ()
        items: list[Any] = []
        for selection in selection_set.selections:
            item: PlanField | PlanFragment | PlanInline | None
            if isinstance(selection, FieldNode):
                item = self.field(parent_type, selection, connection_count, root_cost)
            elif isinstance(selection, FragmentSpreadNode):
                item = PlanFragment(selection.name.value, self.conditions(selection.directives))
            elif isinstance(selection, InlineFragmentNode):
                inline_type = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent_type
                )
                item = PlanInline(
                    self.selection_set(
                        inline_type, selection.selection_set, connection_count, root_cost
                    ),
                    self.conditions(selection.directives),
                )
            else:  # pragma: no cover
                item = None
            if item is not None:
                items.append(item)
        return tuple(items)

    def field(
        self,
        parent_type: Any,
        node: FieldNode,
        connection_count: Count | None,
        root_cost: int,
    ) -> PlanField | None:
        name = node.name.value
        if name in INTROSPECTION_FIELDS:
            return None
        field_def = getattr(parent_type, "fields", {}).get(name)
        if field_def is None:
            return None
        named_type = get_named_type(field_def.type)
        if is_leaf_type(named_type):
            return None
        wrapped = field_def.type
        if isinstance(wrapped, GraphQLNonNull):
            wrapped = wrapped.of_type
        is_list = isinstance(wrapped, GraphQLList)
        is_connection = (
            isinstance(named_type, GraphQLObjectType)
            and named_type.name.endswith("Connection")
            and "edges" in named_type.fields
        )
        if is_connection:
            own = 2
        elif named_type.name in FREE_TYPES or named_type.name.endswith(FREE_TYPES_SUFFIX):
            own = 0
        else:
            own = 1
        own += root_cost
        count = None
        if connection_count is not None and name in ("edges", "nodes"):
            count = connection_count
        elif is_list:
            default = self.list_sizes.get(f"{parent_type.name}.{name}", self.list_size)
            count = self.count(field_def, node, default)
        child_connection = self.count(field_def, node, self.page_size) if is_connection else None
        children = self.selection_set(named_type, node.selection_set, child_connection)
        return PlanField(
            node.alias.value if node.alias else name,
            own,
            count,
            children,
            self.conditions(node.directives),
        )


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> CostPlan:
    compiler = _Compiler(schema, document)
    root_type = schema.get_root_type(operation.operation)
    root_cost = compiler.mutation_cost if operation.operation == OperationType.MUTATION else 0
    root = compiler.selection_set(root_type, operation.selection_set, root_cost=root_cost)
    fragments = compiler.fragments()
    defaults = {}
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            defaults[definition.variable.name.value] = value_from_ast_untyped(
                definition.default_value
            )
    return CostPlan(root, fragments, defaults, compiler.uses_variables)


# -- Evaluating -----------------------------------------------------------------------------


def _skipped(conditions: tuple[Condition, ...], variables: dict[str, Any]) -> bool:
    for include, literal, variable in conditions:
        value = literal if variable is None else variables.get(variable)
        if not isinstance(value, bool):
            continue  # an invalid value fails variable coercion before execution
        if value != include:
            return True
    return False


class _Evaluator:
    """Walks a plan once; each field's children are evaluated once (they do not depend on
    their parents), and a fragment spread twice in one selection set counts once, as in
    execution: fragment "bombs" stay linear."""

    def __init__(self, plan: CostPlan, variables: dict[str, Any]) -> None:
        self.plan = plan
        self.variables = variables
        self.memo: dict[int, tuple[int, int]] = {}

    def level(self, items: tuple[Any, ...]) -> tuple[int, int]:
        cost = nodes = 0
        visited: set[str] = set()
        pending = list(reversed(items))
        while pending:
            item = pending.pop()
            if item.conditions and _skipped(item.conditions, self.variables):
                continue
            if isinstance(item, PlanField):
                key = id(item.children)
                if key not in self.memo:
                    self.memo[key] = self.level(item.children) if item.children else (0, 0)
                child_cost, child_nodes = self.memo[key]
                if item.count is None:
                    cost += item.own + child_cost
                    nodes += child_nodes
                else:
                    many = item.count.value(self.variables)
                    cost += many * (item.own + child_cost)
                    nodes += many + many * child_nodes
            elif isinstance(item, PlanFragment):
                if item.name not in visited:
                    visited.add(item.name)
                    pending.extend(reversed(self.plan.fragments.get(item.name, ())))
            else:
                pending.extend(reversed(item.children))
        return cost, nodes


def _flat_fields(plan: CostPlan, items: tuple[Any, ...]) -> tuple[PlanField, ...]:
    """The fields of one selection with fragments expanded (each once, as in execution),
    their conditions carried onto the fields. Memoized on the plan."""
    flat = plan._flat.get(id(items))
    if flat is not None:
        return flat
    fields: list[PlanField] = []
    visited: set[str] = set()

    def expand(selection: tuple[Any, ...], conditions: tuple[Condition, ...]) -> None:
        for item in selection:
            combined = conditions + item.conditions
            if isinstance(item, PlanField):
                fields.append(replace(item, conditions=combined) if conditions else item)
            elif isinstance(item, PlanFragment):
                if item.name not in visited:
                    visited.add(item.name)
                    expand(plan.fragments.get(item.name, ()), combined)
            else:
                expand(item.children, combined)

    expand(items, ())
    flat = plan._flat[id(items)] = tuple(fields)
    return flat


def _costs_something(plan: CostPlan, items: tuple[Any, ...]) -> bool:
    """Whether any field of this selection, or below it, costs points (memoized): the
    actual cost need not walk what costs nothing, such as an object's scalars."""
    costly = plan._costly.get(id(items))
    if costly is None:
        costly = plan._costly[id(items)] = any(
            item.own or _costs_something(plan, item.children)
            for item in _flat_fields(plan, items)
        )
    return costly


def _actual(plan: CostPlan, items: tuple[Any, ...], data: Any, variables: dict[str, Any]
            ) -> int:
    """The cost rules applied to what execution returned (see the module docstring)."""
    if not isinstance(data, dict):
        return 0
    cost = 0
    for item in _flat_fields(plan, items):
        if item.conditions and _skipped(item.conditions, variables):
            continue
        value = data.get(item.key)
        if value is None:
            continue
        costly_children = bool(item.children) and _costs_something(plan, item.children)
        if item.count is None:
            cost += item.own
            if costly_children:
                cost += _actual(plan, item.children, value, variables)
            continue
        pending = [value]
        while pending:
            elements = pending.pop()
            for element in elements:
                if element is None:
                    continue
                if isinstance(element, list):
                    pending.append(element)
                    continue
                cost += item.own
                if costly_children:
                    cost += _actual(plan, item.children, element, variables)
    return cost


def check_cost(cost: int, nodes: int) -> None:
    """Refuse a request over the cost or node limit (both are settings)."""
    max_cost = settings.GRAPHQL_MAX_COST
    if cost > max_cost:
        raise RequestRefused(
            errors.MAX_COST_EXCEEDED,
            f"The query costs {cost} points; the limit is {max_cost}.",
            cost=cost,
            maximumCost=max_cost,
        )
    max_nodes = settings.GRAPHQL_MAX_NODES
    if nodes > max_nodes:
        raise RequestRefused(
            errors.MAX_NODES_EXCEEDED,
            f"The query may return {nodes} nodes; the limit is {max_nodes}.",
            nodes=nodes,
            maximumNodes=max_nodes,
        )
