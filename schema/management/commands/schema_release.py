"""Cut a schema release: write the live SDL to schema/releases/<version>.graphql.

    manage.py schema_release 1.1            # check against the last release, then write 1.1
    manage.py schema_release --check        # only compare the live schema with the last release
    manage.py schema_release 1.0 --force    # rewrite a baseline that is not published yet
    manage.py schema_release 2.0 --allow-breaking   # a new major version may break the last

Refuses a version lower than the last release's, an existing baseline without --force, and a
live schema with changes the deprecation policy does not allow (docs/schema-evolution.md).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from schema import contract


class Command(BaseCommand):
    help = "Write the live schema's SDL as the baseline of a release (schema/releases/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", nargs="?", help="the release, like 1.1")
        parser.add_argument("--check", action="store_true",
                            help="only report the live schema against the last release")
        parser.add_argument("--force", action="store_true",
                            help="overwrite an existing baseline (never a published one)")
        parser.add_argument("--allow-breaking", action="store_true",
                            help="write a new major version that breaks the last release")
        parser.add_argument("--date", dest="released", type=date.fromisoformat, default=None,
                            help="the release date, YYYY-MM-DD (default: today)")
        parser.add_argument("--dir", dest="directory", type=Path, default=contract.RELEASES_DIR,
                            help="where the baselines are (default: schema/releases/)")

    def handle(self, *args: Any, version: str | None = None, check: bool = False,
               force: bool = False, allow_breaking: bool = False, released: date | None = None,
               directory: Path = contract.RELEASES_DIR, **options: Any) -> None:
        from schema.schema import schema

        released = released or date.today()
        history = contract.releases(directory) if directory.is_dir() else []

        if check:
            if not history:
                raise CommandError(f"No release baseline in {directory}.")
            verdict = contract.check_against_releases(history, schema.graphql_schema,
                                                      today=released)
            self.stdout.write(verdict.report())
            if not verdict.ok:
                raise CommandError("The live schema breaks the last release.")
            return

        if not version:
            raise CommandError("Name the release (schema_release 1.1) or pass --check.")
        try:
            key = contract.version_key(version)
        except ValueError as error:
            raise CommandError(str(error)) from error
        path = directory / f"{version}.graphql"
        if path.exists() and not force:
            raise CommandError(f"{path} exists: a published baseline is never rewritten "
                               "(--force rewrites one that is not published yet).")
        if history and key < contract.version_key(history[-1].version):
            raise CommandError(f"{version} is older than the last release, "
                               f"{history[-1].version}.")

        previous = [release for release in history if contract.version_key(release.version) < key]
        if previous:
            verdict = contract.check_against_releases(previous, schema.graphql_schema,
                                                      today=released)
            self.stdout.write(verdict.report())
            new_major = key[0] > contract.version_key(previous[-1].version)[0]
            if allow_breaking and not new_major:
                raise CommandError("--allow-breaking is only for a new major version.")
            if not verdict.ok and not allow_breaking:
                raise CommandError(f"Not released: the live schema breaks {previous[-1].version}"
                                   " (a new major version with --allow-breaking may).")

        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(contract.release_sdl(version, released, schema.graphql_schema))
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} (release {version}, {released})."))
        if contract.CURRENT_RELEASE != version:
            self.stdout.write(f'Now set CURRENT_RELEASE = "{version}" in schema/contract.py '
                              "and add a section for it to CHANGELOG.md.")
