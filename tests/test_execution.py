"""Tests for PromiseExecutionContext and the per-request DataLoader machinery.

Uses a small standalone graphene schema (no Django models, no database), so the
file runs with or without pytest-django (``-p no:django``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import graphene
import pytest
from graphql import (
    ExecutionContext,
    ExecutionResult,
    GraphQLResolveInfo,
    build_schema,
    execute,
    parse,
)
from graphql.pyutils import is_awaitable as default_is_awaitable
from promise import Promise

from dataloaders.loader import Loader
from dataloaders.registry import LoaderRegistry, get_loader, get_registry
from schema.execution import PromiseExecutionContext, PromiseStalledError

# -- Data --------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    friend_id: int
    pet_ids: tuple[int, ...]


@dataclass(frozen=True)
class Pet:
    id: int
    name: str
    owner_id: int


def _people() -> dict[int, Person]:
    people = {
        i: Person(i, f"Person {i}", friend_id=i + 10, pet_ids=(100 + i,)) for i in range(1, 40)
    }
    people[4] = Person(4, "Lonely", friend_id=99, pet_ids=())  # friend 99 does not exist
    return people


PEOPLE = _people()
PETS = {100 + i: Pet(100 + i, f"Pet {i}", owner_id=i) for i in range(1, 40)}


class Context:
    """Per-execution GraphQL context; records what the loaders were asked."""

    def __init__(self, sync: bool = False) -> None:
        self.sync = sync  # resolve directly instead of through loaders (baseline)
        self.events: list[tuple[Any, ...]] = []

    def batches(self, loader_class: type[Loader]) -> list[list[Any]]:
        return [
            event[2]
            for event in self.events
            if event[0] == "batch" and event[1] == loader_class.context_key
        ]


# -- Loaders -----------------------------------------------------------------


class RecordingLoader(Loader):
    """Records every batch on the context, then delegates to ``fetch``."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        self.context.events.append(("batch", self.context_key, list(keys)))
        return self.fetch(keys)

    def fetch(self, keys: list[Any]) -> list[Any]:
        raise NotImplementedError


class PersonLoader(RecordingLoader):
    def fetch(self, keys: list[int]) -> list[Any]:
        return [PEOPLE.get(key) or LookupError(f"No person {key}.") for key in keys]


class PetLoader(RecordingLoader):
    def fetch(self, keys: list[int]) -> list[Any]:
        return [PETS.get(key) or LookupError(f"No pet {key}.") for key in keys]


class PetsByOwnerLoader(RecordingLoader):
    def fetch(self, keys: list[int]) -> list[Any]:
        return [[PETS[pet_id] for pet_id in PEOPLE[key].pet_ids] for key in keys]


class NicknameLoader(RecordingLoader):
    def fetch(self, keys: list[int]) -> list[Any]:
        return [None if key % 2 else f"Nick {key}" for key in keys]


class RatingLoader(RecordingLoader):
    def fetch(self, keys: list[int]) -> list[Any]:
        raise RuntimeError("Rating service is down.")


def fetch(info: GraphQLResolveInfo, loader_class: type[Loader], key: Any) -> Any:
    """Load through the loader, or (baseline mode) call batch_load right away.

    The baseline returns exactly what the loader would settle with: a value, an
    Exception instance (graphql-core raises it), or raises for a failed batch.
    """
    loader = get_loader(info, loader_class)
    if info.context.sync:
        return loader.batch_load([key])[0]
    return loader.load(key)


# -- Schema ------------------------------------------------------------------


class Explosion(BaseException):
    """Stands for KeyboardInterrupt and friends, which no executor may swallow."""


class Named(graphene.Interface):
    name = graphene.String(required=True)

    @classmethod
    def resolve_type(cls, instance: Any, info: GraphQLResolveInfo) -> type:
        return PersonType if isinstance(instance, Person) else PetType


class PersonType(graphene.ObjectType):
    class Meta:
        name = "Person"
        interfaces = (Named,)

    id = graphene.Int(required=True)
    friend = graphene.Field(lambda: PersonType)
    required_friend = graphene.NonNull(lambda: PersonType)
    pets = graphene.List(graphene.NonNull(lambda: PetType))
    pet_list = graphene.List(lambda: PetType)
    rating = graphene.Int()
    nickname = graphene.String(required=True)

    @staticmethod
    def resolve_friend(person: Person, info: GraphQLResolveInfo) -> Any:
        return fetch(info, PersonLoader, person.friend_id)

    @staticmethod
    def resolve_required_friend(person: Person, info: GraphQLResolveInfo) -> Any:
        return fetch(info, PersonLoader, person.friend_id)

    @staticmethod
    def resolve_pets(person: Person, info: GraphQLResolveInfo) -> Any:
        return fetch(info, PetsByOwnerLoader, person.id)

    @staticmethod
    def resolve_pet_list(person: Person, info: GraphQLResolveInfo) -> Any:
        return [fetch(info, PetLoader, pet_id) for pet_id in (*person.pet_ids, 999)]

    @staticmethod
    def resolve_rating(person: Person, info: GraphQLResolveInfo) -> Any:
        return fetch(info, RatingLoader, person.id)

    @staticmethod
    def resolve_nickname(person: Person, info: GraphQLResolveInfo) -> Any:
        return fetch(info, NicknameLoader, person.id)

    secret = graphene.String(required=True)

    @staticmethod
    def resolve_secret(person: Person, info: GraphQLResolveInfo) -> Any:
        raise PermissionError("Secret.")  # synchronously, unlike every loader field


class PetType(graphene.ObjectType):
    class Meta:
        name = "Pet"
        interfaces = (Named,)

    id = graphene.Int(required=True)
    owner = graphene.Field(PersonType)

    @staticmethod
    def resolve_owner(pet: Pet, info: GraphQLResolveInfo) -> Any:
        return fetch(info, PersonLoader, pet.owner_id)

    strict_owner = graphene.NonNull(PersonType)
    resolve_strict_owner = resolve_owner

    explode = graphene.String()

    @staticmethod
    def resolve_explode(pet: Pet, info: GraphQLResolveInfo) -> Any:
        raise Explosion  # not an Exception: must not become a field error


def _named_loader(ids_key: int) -> type[Loader]:
    return PetLoader if ids_key >= 100 else PersonLoader


class Query(graphene.ObjectType):
    person = graphene.Field(PersonType, id=graphene.Int(required=True))
    strict_person = graphene.NonNull(PersonType, id=graphene.Int(required=True))
    people = graphene.List(PersonType, ids=graphene.List(graphene.NonNull(graphene.Int)))
    strict_people = graphene.List(
        graphene.NonNull(PersonType), ids=graphene.List(graphene.NonNull(graphene.Int))
    )
    named = graphene.List(Named, ids=graphene.List(graphene.NonNull(graphene.Int)))
    person_name = graphene.String(id=graphene.Int(required=True))
    stuck = graphene.String()
    async_field = graphene.String()
    best_friend_name = graphene.String(id=graphene.Int(required=True))
    strict_best_friend_name = graphene.String(required=True, id=graphene.Int(required=True))

    @staticmethod
    def resolve_person(root: Any, info: GraphQLResolveInfo, id: int) -> Any:
        return fetch(info, PersonLoader, id)

    resolve_strict_person = resolve_person

    @staticmethod
    def resolve_people(root: Any, info: GraphQLResolveInfo, ids: list[int]) -> Any:
        return [fetch(info, PersonLoader, id_) for id_ in ids]

    resolve_strict_people = resolve_people

    @staticmethod
    def resolve_named(root: Any, info: GraphQLResolveInfo, ids: list[int]) -> Any:
        return [fetch(info, _named_loader(id_), id_) for id_ in ids]

    @staticmethod
    def resolve_person_name(root: Any, info: GraphQLResolveInfo, id: int) -> Any:
        return get_loader(info, PersonLoader).load(id).then(lambda person: person.name)

    @staticmethod
    def resolve_best_friend_name(root: Any, info: GraphQLResolveInfo, id: int) -> Any:
        """A Promise that follows another loader's Promise, one level later."""
        loader = get_loader(info, PersonLoader)
        return (
            loader.load(id)
            .then(lambda person: loader.load(person.friend_id))
            .then(lambda friend: None if friend.id % 2 else friend.name)
        )

    resolve_strict_best_friend_name = resolve_best_friend_name

    @staticmethod
    def resolve_stuck(root: Any, info: GraphQLResolveInfo) -> Any:
        return Promise()  # nothing will ever settle this

    @staticmethod
    async def resolve_async_field(root: Any, info: GraphQLResolveInfo) -> str:
        return "never"


class Mutation(graphene.ObjectType):
    remember = graphene.Field(PersonType, id=graphene.Int(required=True))
    remember_strict = graphene.NonNull(PersonType, id=graphene.Int(required=True))

    @staticmethod
    def resolve_remember(root: Any, info: GraphQLResolveInfo, id: int) -> Any:
        info.context.events.append(("mutate", id))
        return fetch(info, PersonLoader, id)

    resolve_remember_strict = resolve_remember


SCHEMA = graphene.Schema(query=Query, mutation=Mutation, types=[PersonType, PetType])


def run(query: str, context: Context | None = None, **kwargs: Any) -> ExecutionResult:
    kwargs.setdefault("execution_context_class", PromiseExecutionContext)
    return SCHEMA.execute(query, context_value=context or Context(), **kwargs)


def paths(result: ExecutionResult) -> list[list[Any]]:
    return [error.path for error in result.errors or []]


# -- Batching ----------------------------------------------------------------


def test_sibling_fields_share_one_batch_call() -> None:
    context = Context()
    result = run(
        "{ a: person(id: 1) { name } b: person(id: 2) { name } c: person(id: 3) { name } }",
        context,
    )

    assert result.errors is None
    assert result.data == {
        "a": {"name": "Person 1"},
        "b": {"name": "Person 2"},
        "c": {"name": "Person 3"},
    }
    assert context.batches(PersonLoader) == [[1, 2, 3]]


def test_nested_levels_batch_once_per_level() -> None:
    context = Context()
    result = run(
        "{ people(ids: [1, 2, 3]) { name friend { name friend { name } } pets { name } } }",
        context,
    )

    assert result.errors is None
    assert result.data["people"][2] == {
        "name": "Person 3",
        "friend": {"name": "Person 13", "friend": {"name": "Person 23"}},
        "pets": [{"name": "Pet 3"}],
    }
    # 3 levels of people for 3 parents -> 3 calls; other loaders batch alongside.
    assert context.batches(PersonLoader) == [[1, 2, 3], [11, 12, 13], [21, 22, 23]]
    assert context.batches(PetsByOwnerLoader) == [[1, 2, 3]]


def test_same_key_is_loaded_once_and_shared() -> None:
    context = Context()
    result = run(
        "{ a: person(id: 1) { name } b: person(id: 1) { id } c: personName(id: 1) }", context
    )

    assert result.data == {"a": {"name": "Person 1"}, "b": {"id": 1}, "c": "Person 1"}
    assert context.batches(PersonLoader) == [[1]]
    loader = get_loader(context, PersonLoader)
    assert loader.load(1) is loader.load(1)


def test_max_batch_size_splits_batches() -> None:
    class SmallPersonLoader(PersonLoader):
        max_batch_size = 2

    context = Context()
    promise = get_loader(context, SmallPersonLoader).load_many([1, 2, 3])
    assert get_registry(context).dispatch_pending() is True
    assert [person.id for person in promise.get()] == [1, 2, 3]
    assert context.batches(SmallPersonLoader) == [[1, 2], [3]]
    assert get_registry(context).dispatch_pending() is False


# -- Errors ------------------------------------------------------------------


def test_failing_batch_errors_only_its_fields() -> None:
    context = Context()
    result = run("{ people(ids: [1, 2]) { name rating } person(id: 3) { name } }", context)

    assert result.data == {
        "people": [{"name": "Person 1", "rating": None}, {"name": "Person 2", "rating": None}],
        "person": {"name": "Person 3"},
    }
    assert paths(result) == [["people", 0, "rating"], ["people", 1, "rating"]]
    assert {error.message for error in result.errors} == {"Rating service is down."}
    assert context.batches(RatingLoader) == [[1, 2]]
    # promise's failed_dispatch does not cache keys of a failed batch.
    assert get_loader(context, RatingLoader)._promise_cache == {}


def test_per_key_exception_errors_only_that_field() -> None:
    context = Context()
    result = run("{ a: person(id: 1) { name } b: person(id: 99) { name } }", context)

    assert result.data == {"a": {"name": "Person 1"}, "b": None}
    assert paths(result) == [["b"]]
    assert result.errors[0].message == "No person 99."
    assert result.errors[0].locations[0].line == 1
    assert context.batches(PersonLoader) == [[1, 99]]


def test_wrong_batch_length_rejects_every_key() -> None:
    class ShortLoader(Loader):
        def batch_load(self, keys: list[int]) -> list[int]:
            return keys[:1]

    context = Context()
    promises = [get_loader(context, ShortLoader).load(key) for key in (1, 2)]
    get_registry(context).dispatch_pending()
    assert all(promise.is_rejected for promise in promises)
    assert "same length" in str(promises[0].reason)


def test_non_null_rejection_nulls_the_parent() -> None:
    result = run("{ person(id: 4) { name requiredFriend { name } } other: person(id: 1) { name } }")

    assert result.data == {"person": None, "other": {"name": "Person 1"}}
    assert paths(result) == [["person", "requiredFriend"]]
    assert result.errors[0].message == "No person 99."


def test_non_null_rejection_can_null_the_whole_response() -> None:
    result = run("{ person(id: 1) { name } strictPerson(id: 4) { requiredFriend { name } } }")

    assert result.data is None
    assert paths(result) == [["strictPerson", "requiredFriend"]]


def test_list_of_promises_with_item_errors() -> None:
    context = Context()
    result = run(
        "{ person(id: 1) { petList { name } } people(ids: [2, 99]) { name }"
        " strictPeople(ids: [3, 98]) { name } }",
        context,
    )

    assert result.data == {
        "person": {"petList": [{"name": "Pet 1"}, None]},
        "people": [{"name": "Person 2"}, None],
        "strictPeople": None,
    }
    assert paths(result) == [
        ["person", "petList", 1],
        ["people", 1],
        ["strictPeople", 1],
    ]
    assert context.batches(PersonLoader) == [[1, 2, 99, 3, 98]]
    assert context.batches(PetLoader) == [[101, 999]]


def test_interface_field_resolving_to_promises() -> None:
    context = Context()
    result = run(
        """{ named(ids: [1, 101, 99]) {
              __typename name
              ... on Person { friend { name } }
              ... on Pet { owner { name } }
        } }""",
        context,
    )

    assert result.data == {
        "named": [
            {"__typename": "Person", "name": "Person 1", "friend": {"name": "Person 11"}},
            {"__typename": "Pet", "name": "Pet 1", "owner": {"name": "Person 1"}},
            None,
        ]
    }
    assert paths(result) == [["named", 2]]
    # Pet 101's owner (1) is already cached; friend 11 is the only new key.
    assert context.batches(PersonLoader) == [[1, 99], [11]]
    assert context.batches(PetLoader) == [[101]]


def test_resolve_type_and_is_type_of_may_return_promises() -> None:
    class TypeNameLoader(RecordingLoader):
        def fetch(self, keys: list[str]) -> list[str]:
            return ["Dog" for _ in keys]

    class IsDogLoader(RecordingLoader):
        def fetch(self, keys: list[str]) -> list[bool]:
            return [key != "cat" for key in keys]

    schema = build_schema(
        """
        interface Named { name: String }
        type Dog implements Named { name: String }
        type Query { named: [Named] dog: Dog }
        """
    )
    schema.get_type("Named").resolve_type = lambda value, info, _type: get_loader(
        info, TypeNameLoader
    ).load(value["name"])
    schema.get_type("Dog").is_type_of = lambda value, info: get_loader(info, IsDogLoader).load(
        value["name"]
    )

    context = Context()
    result = execute(
        schema,
        parse("{ named { __typename name } dog { name } }"),
        root_value={"named": [{"name": "rex"}, {"name": "fido"}], "dog": {"name": "cat"}},
        context_value=context,
        execution_context_class=PromiseExecutionContext,
    )

    assert isinstance(result, ExecutionResult)
    assert result.data == {
        "named": [{"__typename": "Dog", "name": "rex"}, {"__typename": "Dog", "name": "fido"}],
        "dog": None,
    }
    assert [error.message for error in result.errors] == [
        "Expected value of type 'Dog' but got: {'name': 'cat'}."
    ]
    assert context.batches(TypeNameLoader) == [["rex", "fido"]]
    # "cat" was queued in the first pass; "rex"/"fido" were queued while the
    # TypeNameLoader batch resolved, before IsDogLoader's turn in the same round,
    # so they ride along in its batch.
    assert context.batches(IsDogLoader) == [["cat", "rex", "fido"]]


def test_promise_following_another_loaders_promise() -> None:
    context = Context()
    result = run(
        "{ a: bestFriendName(id: 1) b: bestFriendName(id: 2) c: person(id: 3) { name } }", context
    )

    assert result.errors is None
    assert result.data == {"a": None, "b": "Person 12", "c": {"name": "Person 3"}}
    assert context.batches(PersonLoader) == [[1, 2, 3], [11, 12]]

    result = run("{ person(id: 2) { name } strictBestFriendName(id: 1) }")
    assert result.data is None
    assert paths(result) == [["strictBestFriendName"]]


def test_synchronous_non_null_error_abandons_pending_siblings() -> None:
    """``secret`` fails while ``friend`` is pending: as with graphql-core's awaitables,
    the person is nulled at once and what ``friend`` would have reported is ignored."""
    context = Context()
    result = run("{ people(ids: [1, 2]) { friend { name rating } secret } }", context)

    assert result.data == {"people": [None, None]}
    assert paths(result) == [["people", 0, "secret"], ["people", 1, "secret"]]
    assert {error.message for error in result.errors} == {"Secret."}
    # Nothing waits for the abandoned friends any more: they are never dispatched.
    assert context.batches(PersonLoader) == [[1, 2]]
    assert context.batches(RatingLoader) == []


def test_non_exception_raised_after_a_dispatch_propagates() -> None:
    """Not swallowed by the promise library's queue, which then keeps working."""
    with pytest.raises(Explosion):
        run("{ person(id: 1) { pets { explode } } }")

    result = run("{ person(id: 1) { name personPets: pets { name } } }")
    assert result.errors is None
    assert result.data == {"person": {"name": "Person 1", "personPets": [{"name": "Pet 1"}]}}


@pytest.mark.parametrize(
    ("second_settles_first_with", "data", "errors"),
    [
        ("x", {"pair": {"first": "x", "second": "y", "third": "z"}}, []),
        (
            None,
            {"pair": None},
            [(["pair", "first"], "Cannot return null for non-nullable field Pair.first.")],
        ),
    ],
)
def test_promise_settled_by_a_later_sibling(
    second_settles_first_with: Any, data: dict[str, Any], errors: list[tuple[list[Any], str]]
) -> None:
    """Nothing to dispatch: the object settles while its fields are still being executed."""
    schema = build_schema(
        """
        type Pair { first: String! second: String third: String }
        type Query { pair: Pair }
        """
    )
    first = Promise()

    def settle_first(_info: GraphQLResolveInfo) -> str:
        first.do_resolve(second_settles_first_with)
        return "y"

    # graphql-core's default resolver calls a callable value with (info, **args).
    pair = {"first": lambda _info: first, "second": settle_first, "third": "z"}
    result = execute(
        schema,
        parse("{ pair { first second third } }"),
        root_value={"pair": pair},
        context_value=Context(),
        execution_context_class=PromiseExecutionContext,
    )

    assert isinstance(result, ExecutionResult)
    assert result.data == data
    assert [(error.path, error.message) for error in result.errors or []] == errors


def test_async_resolver_is_a_clear_field_error() -> None:
    result = run("{ asyncField person(id: 1) { name } }")

    assert result.data == {"asyncField": None, "person": {"name": "Person 1"}}
    assert "async resolvers are not supported" in result.errors[0].message


def test_unsettleable_promise_raises_instead_of_looping() -> None:
    with pytest.raises(PromiseStalledError, match="stuck"):
        run("{ stuck person(id: 1) { name } }")


# -- Mutations ---------------------------------------------------------------


def test_mutations_run_serially_and_settle_before_the_next() -> None:
    context = Context()
    result = run(
        "mutation { first: remember(id: 1) { name friend { name } } second: remember(id: 3)"
        " { name } }",
        context,
    )

    assert result.errors is None
    assert result.data == {
        "first": {"name": "Person 1", "friend": {"name": "Person 11"}},
        "second": {"name": "Person 3"},
    }
    assert context.events == [
        ("mutate", 1),
        ("batch", "PersonLoader", [1]),
        ("batch", "PersonLoader", [11]),
        ("mutate", 3),
        ("batch", "PersonLoader", [3]),
    ]


def test_failing_non_null_mutation_stops_the_remaining_ones() -> None:
    context = Context()
    result = run(
        "mutation { a: remember(id: 1) { name } b: rememberStrict(id: 99) { name }"
        " c: remember(id: 2) { name } }",
        context,
    )

    assert result.data is None
    assert paths(result) == [["b"]]
    assert ("mutate", 2) not in context.events


# -- Isolation and entry points ---------------------------------------------


def test_separate_executions_do_not_share_caches() -> None:
    first, second = Context(), Context()
    for context in (first, second):
        assert run("{ person(id: 1) { name } }", context).errors is None

    assert first.batches(PersonLoader) == [[1]]
    assert second.batches(PersonLoader) == [[1]]
    assert first.loaders is not second.loaders
    assert first.loaders.get(PersonLoader) is not second.loaders.get(PersonLoader)


def test_graphql_core_execute_entry_point() -> None:
    context = Context()
    result = execute(
        SCHEMA.graphql_schema,
        parse("{ a: person(id: 1) { name } b: person(id: 2) { name } }"),
        context_value=context,
        execution_context_class=PromiseExecutionContext,
    )

    assert isinstance(result, ExecutionResult)
    assert result.data == {"a": {"name": "Person 1"}, "b": {"name": "Person 2"}}
    assert context.batches(PersonLoader) == [[1, 2]]


def test_plain_graphql_core_does_not_understand_promises() -> None:
    """Why PromiseExecutionContext exists."""
    # graphql_sync (graphene's schema.execute) treats a loader's Deferred as a plain value:
    # graphene's String serializes it with str(), nothing is ever loaded.
    context = Context()
    result = run("{ personName(id: 1) }", context, execution_context_class=None)
    assert result.data["personName"] == "<Deferred pending>"
    assert context.events == []

    # graphql.execute's default predicate sees Promise.__await__, so it would turn
    # the execution into coroutines that await a Promise nobody ever dispatches.
    assert default_is_awaitable(Promise())
    assert not PromiseExecutionContext.is_awaitable(Promise())


# -- Same semantics as graphql-core without Promises ------------------------

PARITY_QUERIES = [
    "{ person(id: 4) { name friend { name } } }",
    "{ person(id: 4) { name requiredFriend { name } } other: person(id: 1) { name } }",
    "{ person(id: 1) { name } strictPerson(id: 4) { requiredFriend { name } } }",
    "{ people(ids: [1, 99, 2]) { id name } strictPeople(ids: [1, 98]) { name } }",
    "{ person(id: 1) { petList { name owner { name } } pets { id } } }",
    "{ people(ids: [1, 2]) { name rating } }",
    "{ people(ids: [1, 2]) { name nickname } strictPeople(ids: [2, 3]) { nickname } }",
    """query Q { named(ids: [1, 101, 99]) { __typename ...N } }
       fragment N on Named { name ... on Person { f: friend { friend { name } } }
                             ... on Pet { owner { requiredFriend { name } } } }""",
    "{ person(id: 1) { friend { friend { friend { name } } } } }",
    # Deferred non-null errors: the first one nulls the parent, later ones are ignored.
    "{ person(id: 1) { nickname requiredFriend { nickname } } other: person(id: 2) { nickname } }",
    # ... propagating several levels up, through non-null fields and list items.
    "{ person(id: 20) { pets { strictOwner { requiredFriend { requiredFriend { name } } } } } }",
    "{ person(id: 20) { pets { owner { requiredFriend { requiredFriend { name } } } } } }",
    "{ strictPeople(ids: [1, 2]) { friend { requiredFriend { requiredFriend { requiredFriend"
    " { name } } } } } }",
    """{ named(ids: [1, 20, 120]) { name
           ... on Person { requiredFriend { requiredFriend { name } } }
           ... on Pet { strictOwner { requiredFriend { requiredFriend { name } } } } } }""",
    "mutation { a: remember(id: 1) { name } b: remember(id: 99) { name } }",
    (
        "mutation { a: remember(id: 1) { name } b: rememberStrict(id: 99) { name }"
        " c: remember(id: 2) { name } }"
    ),
    "mutation { a: remember(id: 20) { requiredFriend { requiredFriend { name } } }"
    " b: rememberStrict(id: 1) { friend { name } } }",
    # A non-null mutation failing only after a dispatch still stops the next ones.
    "mutation { a: rememberStrict(id: 20) { requiredFriend { requiredFriend { name } } }"
    " b: remember(id: 1) { name } }",
]


@pytest.mark.parametrize("query", PARITY_QUERIES)
def test_same_results_as_graphql_core(query: str) -> None:
    baseline = run(query, Context(sync=True), execution_context_class=ExecutionContext)
    ours_without_promises = run(query, Context(sync=True))
    ours_with_promises = run(query, Context())

    expected = json.dumps(baseline.formatted, sort_keys=True)
    assert json.dumps(ours_without_promises.formatted, sort_keys=True) == expected
    assert json.dumps(ours_with_promises.formatted, sort_keys=True) == expected


# -- Registry ----------------------------------------------------------------


def test_registry_helpers() -> None:
    class Custom(PersonLoader):
        context_key = "people"

    class Clash(PersonLoader):
        context_key = "people"

    context = Context()
    registry = get_registry(context)
    assert context.loaders is registry
    assert PersonLoader.context_key == "PersonLoader"
    assert registry.get(Custom) is get_loader(context, Custom)
    assert registry.get(Custom).context is context
    with pytest.raises(TypeError, match="already used"):
        registry.get(Clash)

    with pytest.raises(TypeError, match="Cannot attach"):
        get_registry({})  # a dict context has no attributes to hold it
    with pytest.raises(TypeError, match="context"):
        get_registry(None)


def test_a_loader_is_dispatched_by_the_context_registry() -> None:
    context = Context()
    loader = get_loader(context, PersonLoader)
    promise = loader.load(2)
    assert promise.is_pending and context.loaders.has_pending
    assert context.loaders.dispatch_pending() is True
    assert promise.get().name == "Person 2"


# -- Django view (only when pytest-django configured settings) -------------


def _django_configured() -> bool:
    try:
        from django.conf import settings
    except ImportError:
        return False
    return bool(settings.configured)


@pytest.mark.skipif(not _django_configured(), reason="Django settings not configured")
def test_graphene_django_view_uses_the_execution_context() -> None:
    from django.test import RequestFactory
    from graphene_django.views import GraphQLView

    view = GraphQLView(
        schema=SCHEMA, middleware=[], execution_context_class=PromiseExecutionContext
    )
    request = RequestFactory().post("/graphql")
    request.events = []  # the request is the context: give it what our loaders record to
    request.sync = False
    result = view.execute_graphql_request(
        request, {}, "{ a: person(id: 1) { name } b: person(id: 2) { name } }", None, None
    )

    assert result.errors is None
    assert result.data == {"a": {"name": "Person 1"}, "b": {"name": "Person 2"}}
    assert request.events == [("batch", "PersonLoader", [1, 2])]
    assert isinstance(request.loaders, LoaderRegistry)
