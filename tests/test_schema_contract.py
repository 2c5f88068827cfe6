"""The committed schema.graphql is the API's contract with clients."""
from pathlib import Path

from graphql import BreakingChangeType, build_schema, find_breaking_changes, print_schema

from schema.schema import schema

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"
REGENERATE = "regenerate it: DEBUG=1 .venv/bin/python manage.py graphql_schema"


def committed_schema():
    return build_schema(SDL_PATH.read_text())


def test_committed_sdl_matches_the_live_schema():
    live = print_schema(schema.graphql_schema)
    committed = print_schema(committed_schema())
    assert live == committed, f"schema.graphql is stale; {REGENERATE}"


def test_live_schema_has_no_breaking_change_against_the_committed_sdl():
    # Compare SDL with SDL: graphene's scalar classes would read as a "changed kind".
    live = build_schema(print_schema(schema.graphql_schema))
    changes = find_breaking_changes(committed_schema(), live)
    assert not changes, (
        "Breaking changes for clients:\n"
        + "\n".join(f"- {change.type.name}: {change.description}" for change in changes)
        + f"\nIf intended, {REGENERATE} and say so in the changelog."
    )


def test_breaking_change_finder_catches_a_removed_field():
    """Guards the guard: removing a field from the contract is reported as breaking."""
    without_slug = SDL_PATH.read_text().replace("  slug: String!\n", "", 1)
    changes = find_breaking_changes(committed_schema(), build_schema(without_slug))
    assert [change.type for change in changes] == [BreakingChangeType.FIELD_REMOVED]
