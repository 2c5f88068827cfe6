"""The schema is the API's contract with clients.

- schema.graphql is the live schema, committed: it is current (regenerated on purpose).
- schema/releases/<version>.graphql is what each release promised. The live schema may add to
  the last release, not break it: graphql-core's `find_breaking_changes` against the baseline
  fails the suite, except removals of what the release had deprecated once the deprecation
  period is over (schema/contract.py, docs/schema-evolution.md). `find_dangerous_changes` are
  allowed and listed (a warning in the test report) for CHANGELOG.md.
"""
from __future__ import annotations

import re
import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from graphql import GraphQLEnumType, GraphQLSchema, build_schema, print_schema

from schema import contract
from schema.contract import (
    CURRENT_RELEASE,
    DEPRECATION_PERIOD,
    Release,
    check_against_releases,
    deprecations,
)
from schema.schema import schema

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"
REGENERATE = "regenerate it: DEBUG=1 .venv/bin/python manage.py graphql_schema"


class SchemaChanges(UserWarning):
    """What the live schema changes since the last release, allowed but worth a changelog line."""


def committed_schema():
    return build_schema(SDL_PATH.read_text())


def without(graphql_schema: GraphQLSchema, *coordinates: str) -> GraphQLSchema:
    """A copy of the schema without these fields, arguments or enum values."""
    copy = build_schema(print_schema(graphql_schema))
    for coordinate in coordinates:
        type_name, name, arg = re.fullmatch(r"(\w+)\.(\w+)(?:\((\w+):\))?", coordinate).groups()
        type_ = copy.type_map[type_name]
        if arg:
            del type_.fields[name].args[arg]
        elif isinstance(type_, GraphQLEnumType):
            del type_.values[name]
        else:
            del type_.fields[name]
    return copy


# -- schema.graphql is current ----------------------------------------------------------------


def test_committed_sdl_matches_the_live_schema():
    live = print_schema(schema.graphql_schema)
    committed = print_schema(committed_schema())
    assert live == committed, f"schema.graphql is stale; {REGENERATE}"


# -- The live schema keeps the last release's contract ----------------------------------------


def test_the_current_release_is_the_latest_baseline():
    history = contract.releases()
    assert history, "no baseline in schema/releases/: manage.py schema_release 1.0"
    assert [release.version for release in history][-1] == CURRENT_RELEASE, (
        "schema/contract.py's CURRENT_RELEASE must name the latest schema/releases/ baseline"
    )
    assert history[0].version == "1.0"


def test_live_schema_has_no_breaking_change_against_the_last_release():
    verdict = check_against_releases(contract.releases(), schema.graphql_schema)

    assert verdict.release == CURRENT_RELEASE
    assert verdict.ok, verdict.report() + (
        "\nKeep what the release shipped: deprecate it instead (docs/schema-evolution.md)."
    )
    if verdict.dangerous or verdict.removed_deprecated:
        print(verdict.report())
        warnings.warn(verdict.report(), SchemaChanges, stacklevel=1)


@pytest.mark.parametrize("coordinate", [
    "Product.slug",                 # an output field
    "Query.products(first:)",       # an argument
    "OrderStatus.CANCELLED",        # an enum value
])
def test_removing_what_the_release_did_not_deprecate_is_breaking(coordinate):
    """Guards the guard: a deliberate break in a copy of the live schema is caught."""
    verdict = check_against_releases(contract.releases(), without(schema.graphql_schema,
                                                                  coordinate))
    assert not verdict.ok
    assert len(verdict.breaking) == 1, verdict.report()
    assert "it was not deprecated in the last release" in verdict.breaking[0]


def test_removing_what_the_release_deprecated_waits_for_the_deprecation_period():
    history = contract.releases()
    last = history[-1]
    deprecated = sorted(deprecations(last.schema))
    # 1.0 deprecates `orderBy` for `sortBy` and `category` for `categoryId`.
    assert deprecated, f"release {last.version} deprecates nothing to try the policy with"
    live_without = without(schema.graphql_schema, *deprecated)

    early = check_against_releases(history, live_without,
                                   today=last.released + DEPRECATION_PERIOD - timedelta(days=1))
    assert len(early.breaking) == len(deprecated), early.report()
    assert all("removable from" in line for line in early.breaking)

    due = check_against_releases(history, live_without, today=last.released + DEPRECATION_PERIOD)
    assert due.ok, due.report()
    assert len(due.removed_deprecated) == len(deprecated)


# -- The policy, on small schemas --------------------------------------------------------------

V1 = """
type Query {
  shelf: Shelf
  old: String @deprecated(reason: "Use `new`.")
  new: String
  legacy: Legacy @deprecated(reason: "Use `shelf`.")
  search(text: String, first: Int = 10, q: String @deprecated(reason: "Use `text`.")): [String!]
  status: Status
}
type Shelf { name: String }
type Legacy { name: String }
enum Status { OPEN CLOSED ARCHIVED @deprecated(reason: "Use CLOSED.") }
"""
JAN = date(2027, 1, 1)


def release(version: str, released: date, sdl: str) -> Release:
    return Release(version, released, build_schema(sdl))


def check(sdl: str, *, today: date, history: list[Release] | None = None):
    return check_against_releases(history or [release("1.0", JAN, V1)], build_schema(sdl),
                                  today=today)


def drop(sdl: str, *lines: str) -> str:
    for line in lines:
        assert line in sdl, line
        sdl = sdl.replace(line, "", 1)
    return sdl


def test_policy_allows_removing_deprecated_fields_arguments_and_values_after_six_months():
    live = drop(V1, '  old: String @deprecated(reason: "Use `new`.")\n',
                ', q: String @deprecated(reason: "Use `text`.")',
                ' ARCHIVED @deprecated(reason: "Use CLOSED.")')
    assert check(live, today=JAN + timedelta(days=183)).removed_deprecated == [
        "FIELD_REMOVED: Query.old was removed. (deprecated since 1.0 (2027-01-01))",
        "ARG_REMOVED: Query.search arg q was removed. (deprecated since 1.0 (2027-01-01))",
        "VALUE_REMOVED_FROM_ENUM: ARCHIVED was removed from enum type Status. "
        "(deprecated since 1.0 (2027-01-01))",
    ]
    early = check(live, today=JAN + timedelta(days=30))
    assert len(early.breaking) == 3
    assert "removable from 2027-07-03" in early.breaking[0]


def test_policy_counts_the_period_from_the_first_release_that_deprecated_it():
    history = [release("1.0", JAN, V1), release("1.1", JAN + timedelta(days=90), V1)]
    live = drop(V1, '  old: String @deprecated(reason: "Use `new`.")\n')
    assert check(live, history=history, today=JAN + timedelta(days=183)).ok
    # Deprecated only since 1.1 (not in 1.0): the period starts at 1.1.
    v1_plain = V1.replace('old: String @deprecated(reason: "Use `new`.")', "old: String")
    history = [release("1.0", JAN, v1_plain), release("1.1", JAN + timedelta(days=90), V1)]
    assert not check(live, history=history, today=JAN + timedelta(days=183)).ok
    assert check(live, history=history, today=JAN + timedelta(days=90 + 183)).ok


def test_policy_refuses_removing_or_changing_what_the_release_did_not_deprecate():
    """Deprecating and removing in the same release would be removing without notice."""
    live = drop(V1, "  new: String\n")
    assert check(live, today=JAN + timedelta(days=999)).breaking == [
        "FIELD_REMOVED: Query.new was removed. (it was not deprecated in the last release)"
    ]
    # Deprecated is no licence to change: only removal waits out the period.
    live = V1.replace('q: String @deprecated', 'q: Int @deprecated')
    assert check(live, today=JAN + timedelta(days=999)).breaking == [
        "ARG_CHANGED_KIND: Query.search arg q has changed type from String to Int."
    ]


def test_policy_lets_a_type_go_with_the_deprecated_field_that_used_it():
    live = drop(V1, '  legacy: Legacy @deprecated(reason: "Use `shelf`.")\n',
                "type Legacy { name: String }\n")
    verdict = check(live, today=JAN + timedelta(days=200))
    assert verdict.ok, verdict.report()
    assert [line.split(":")[0] for line in verdict.removed_deprecated] == [
        "TYPE_REMOVED", "FIELD_REMOVED"]
    # Shelf is used by a field that is not deprecated: removing both is two breaks.
    live = drop(V1, "  shelf: Shelf\n", "type Shelf { name: String }\n")
    assert len(check(live, today=JAN + timedelta(days=200)).breaking) == 2


def test_dangerous_changes_are_allowed_and_listed():
    live = V1.replace("ARCHIVED", "REOPENED ARCHIVED").replace(
        "first: Int = 10", "first: Int = 20")
    verdict = check(live, today=JAN)
    assert verdict.ok
    assert sorted(line.split(":")[0] for line in verdict.dangerous) == [
        "ARG_DEFAULT_VALUE_CHANGE", "VALUE_ADDED_TO_ENUM"]
    assert "Dangerous changes (allowed; note them in CHANGELOG.md):" in verdict.report()


# -- manage.py schema_release ------------------------------------------------------------------


def test_schema_release_writes_the_live_sdl_with_its_header(tmp_path):
    call_command("schema_release", "1.0", "--dir", str(tmp_path), "--date", "2027-01-01")

    written = contract.read_release(tmp_path / "1.0.graphql")
    assert written.version == "1.0" and written.released == date(2027, 1, 1)
    assert print_schema(written.schema) == print_schema(schema.graphql_schema)
    with pytest.raises(CommandError, match="never rewritten"):
        call_command("schema_release", "1.0", "--dir", str(tmp_path))
    call_command("schema_release", "1.0", "--dir", str(tmp_path), "--force")
    with pytest.raises(CommandError, match="older than the last release"):
        call_command("schema_release", "0.9", "--dir", str(tmp_path))
    with pytest.raises(CommandError, match="numbers and dots"):
        call_command("schema_release", "v2", "--dir", str(tmp_path))


def test_schema_release_refuses_a_release_that_breaks_the_last_one(tmp_path):
    baseline = contract.release_sdl("1.0", date(2027, 1, 1), schema.graphql_schema)
    (tmp_path / "1.0.graphql").write_text(
        baseline.replace("type Query {\n", "type Query {\n  gone: String\n", 1))

    with pytest.raises(CommandError, match=r"breaks 1\.0"):
        call_command("schema_release", "1.1", "--dir", str(tmp_path))
    assert not (tmp_path / "1.1.graphql").exists()
    with pytest.raises(CommandError, match="breaks the last release"):
        call_command("schema_release", "--check", "--dir", str(tmp_path))
    # Only a new major version may break the last release, and only when told to.
    with pytest.raises(CommandError, match="only for a new major version"):
        call_command("schema_release", "1.1", "--allow-breaking", "--dir", str(tmp_path))
    call_command("schema_release", "2.0", "--allow-breaking", "--dir", str(tmp_path))
    assert [release.version for release in contract.releases(tmp_path)] == ["1.0", "2.0"]
    call_command("schema_release", "--check", "--dir", str(tmp_path))


def test_schema_release_check_reports_on_the_committed_releases(capsys):
    call_command("schema_release", "--check")
    assert f"Live schema against release {CURRENT_RELEASE}:" in capsys.readouterr().out
