"""graphql-core's own execution tests, run against PromiseExecutionContext.

The source distribution of the installed graphql-core version (its wheel has no tests) is
fetched once with pip into var/graphql-core/ (git-ignored) and its execution tests run in a
pytest subprocess with tests/graphql_core_suite/vitrine_graphql_core_plugin.py, which makes
our execution context the default of ``execute``, ``execute_sync``, ``graphql`` and
``graphql_sync`` (see the plugin for how, and for the deselected tests and their reasons).

The subprocess needs pytest-describe (graphql-core's tests are ``describe_*`` blocks): it is
fetched with pip into var/graphql-core/ too and put on the subprocess's path only, since in
the venv it would also collect the suite's own functions named ``describe``. Its async tests
are deselected, so pytest-asyncio is not needed, and the plugin stands in for
pytest-benchmark's fixture (the benchmarks run once, as tests).

Without network the download fails: locally the test skips; under CI=true, where nothing may
skip, it fails.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from tests.live_server import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = Path(__file__).resolve().parent / "graphql_core_suite"
PLUGIN = "vitrine_graphql_core_plugin"
CACHE = ROOT / "var" / "graphql-core"
VERSION = importlib.metadata.version("graphql-core")
# graphql-core's tests are pytest-describe blocks (describe_* functions).
PYTEST_DESCRIBE = "3.2.0"

# graphql-core test files that execute operations. tests/execution/ is the executor's own
# suite; the others execute documents through graphql_sync/execute_sync (introspection
# included). Files about parsing, validation or schema building are not run: they never get
# to an execution context.
TEST_PATHS = [
    "tests/execution",
    "tests/test_star_wars_query.py",
    "tests/test_star_wars_introspection.py",
    "tests/test_hide_suggestions.py",
    "tests/test_user_registry.py",
    "tests/type/test_introspection.py",
    "tests/type/test_enum.py",
    "tests/type/test_custom_scalars.py",
    "tests/utilities/test_build_client_schema.py",
    "tests/pyutils/test_description.py",
    "tests/benchmarks/test_execution_sync.py",
    "tests/benchmarks/test_repeated_fields.py",
    "tests/benchmarks/test_introspection_from_schema.py",
]

# Passing tests today (3.2.14): fewer means tests went missing, not that they pass.
MIN_PASSED = 300
# Executions built on PromiseExecutionContext (or a subclass) today: 284.
MIN_EXECUTIONS = 250
SUBPROCESS_TIMEOUT = 300


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False,
    )


def fetched(target: Path, what: str, fetch) -> Path:
    """`target`, made once by `fetch(work)` in a temporary folder renamed into place."""
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=".fetch-") as work:
        result, made = fetch(Path(work))
        if result.returncode != 0 or made is None:
            skip_or_fail(f"Could not fetch {what} with pip:\n"
                        f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        try:
            made.rename(target)  # atomic: a concurrent run may have won, which is as good
        except OSError:
            if not target.is_dir():
                raise
    return target


def fetch_sdist() -> Path:
    """graphql-core's unpacked source distribution of the installed version."""

    def fetch(work: Path):
        download = pip("download", "--no-binary", ":all:", "--no-deps",
                       f"graphql-core=={VERSION}", "-d", str(work))
        archives = list(work.glob("graphql*core-*.tar.gz"))
        if download.returncode != 0 or len(archives) != 1:
            return download, None
        with tarfile.open(archives[0]) as archive:
            archive.extractall(work / "unpacked", filter="data")
        (top,) = (work / "unpacked").iterdir()
        if not (top / "tests" / "execution").is_dir():
            pytest.fail(f"{archives[0].name} has no tests/execution/ folder.")
        return download, top

    return fetched(CACHE / f"graphql_core-{VERSION}", f"graphql-core {VERSION}'s sdist", fetch)


def fetch_pytest_describe() -> Path:
    """A folder holding pytest-describe, for the subprocess's PYTHONPATH only.

    Not a test dependency of the project: installed in the venv, pytest-describe would
    collect the suite's own functions named describe* (tests/test_http_audit.py).
    """

    def fetch(work: Path):
        install = pip("install", "--no-deps", "--target", str(work / "site"),
                      f"pytest-describe=={PYTEST_DESCRIBE}")
        return install, work / "site" if (work / "site" / "pytest_describe").is_dir() else None

    return fetched(CACHE / f"pytest-describe-{PYTEST_DESCRIBE}", "pytest-describe", fetch)


def run_suite(sdist: Path, plugins: Path, work: Path) -> tuple[subprocess.CompletedProcess, dict]:
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\n")  # not graphql-core's setup.cfg: it needs plugins we lack
    summary_file = work / "summary.json"
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "COV_CORE_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(PLUGIN_DIR), str(plugins), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["VITRINE_GRAPHQL_CORE_SUMMARY"] = str(summary_file)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Only the plugins named here: not the venv's (pytest-django, xdist, the project's own).
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [
        sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(sdist),
        "-p", "no:cacheprovider", "-p", "pytest_describe.plugin", "-p", PLUGIN,
        "--run-slow", "-q", "-rfEs", "--color=no", *TEST_PATHS,
    ]
    process = subprocess.run(
        command, cwd=sdist, env=env, capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT, check=False,
    )
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return process, summary


def test_graphql_core_execution_suite_passes_with_promise_execution_context(tmp_path):
    process, summary = run_suite(fetch_sdist(), fetch_pytest_describe(), tmp_path)
    output = f"{process.stdout[-6000:]}\n{process.stderr[-3000:]}"

    assert process.returncode == 0, f"graphql-core's tests failed with our executor:\n{output}"
    counts = summary["counts"]
    assert set(counts) == {"passed"}, (counts, output)  # no skip, xfail, error or failure
    assert counts["passed"] >= MIN_PASSED, (counts, output)
    assert summary["collected"] == counts["passed"], summary  # collected after deselection
    # Every deselection the plugin lists still names a test: none hides a renamed one.
    assert summary["unused_deselections"] == [], summary["unused_deselections"]
    assert all(summary["deselected"].values()), "every deselection has a reason"
    # The tests really ran our class (ExecutionContext of every graphql module patched).
    assert "graphql.execution.execute" in summary["patched_modules"], summary["patched_modules"]
    assert summary["executions_with_promise_execution_context"] >= MIN_EXECUTIONS, summary

    reasons = Counter(summary["deselected"].values())
    print(f"graphql-core {VERSION}: {counts['passed']} passed, "
          f"{len(summary['deselected'])} deselected")
    for reason, number in reasons.most_common():
        print(f"  {number} deselected: {reason}")

