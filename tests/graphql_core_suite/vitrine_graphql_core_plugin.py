"""pytest plugin: run graphql-core's own tests with our execution context.

Loaded by tests/test_graphql_core_execution.py into a pytest subprocess that runs test files
of graphql-core's source distribution (``-p vitrine_graphql_core_plugin``, with this folder on
``PYTHONPATH``). It is not a conftest: the project's own test run never loads it, and
importing it changes nothing; the patch happens in ``pytest_configure``.

Every name graphql-core binds to ``ExecutionContext`` (``graphql.ExecutionContext``,
``graphql.execution.ExecutionContext``, the module global that ``execute`` falls back to,
...) is replaced by ``schema.execution.PromiseExecutionContext`` before any test module is
imported. So ``execute``, ``execute_sync``, ``graphql``, ``graphql_sync`` and
``introspection_from_schema`` run ours unless a test passes its own
``execution_context_class``, and a test that subclasses ``ExecutionContext`` (test_customize)
subclasses ours.

Deselected tests (deselected, never skipped; each listed with its reason in the summary):

- async tests (``async def`` or ``@mark.asyncio``): they await an awaitable result or run
  async resolvers, and ``PromiseExecutionContext`` is synchronous (``is_awaitable`` is always
  false; a coroutine returned by a resolver is a field error);
- the tests in ``DESELECTED``, each with its reason.

The summary (outcomes, deselections with reasons, how many executions ran on our class) is
written as JSON to the file named by ``VITRINE_GRAPHQL_CORE_SUMMARY``.
"""
from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from typing import Any

import pytest

ASYNC_REASON = (
    "async test (async def or mark.asyncio): awaits an awaitable result or runs async "
    "resolvers; PromiseExecutionContext is synchronous"
)

_ASYNC_RESOLVER_IN_SYNC_TEST = (
    "sync test with an async resolver, expecting graphql-core's handling of a coroutine "
    "(an awaitable result, or execute_sync raising 'GraphQL execution failed to complete "
    "synchronously.'); PromiseExecutionContext never awaits and reports the coroutine as "
    "a field error instead ('async resolvers are not supported')"
)

# Node id (or the node id of a whole file or describe block) -> why it does not apply.
DESELECTED: dict[str, str] = {
    "tests/execution/test_executor.py::describe_execute_handles_basic_execution_tasks::"
    "handles_sync_errors_combined_with_async_ones": _ASYNC_RESOLVER_IN_SYNC_TEST,
    "tests/execution/test_sync.py::describe_execute_synchronously_when_possible::"
    "describe_execute_sync::throws_if_encountering_async_execution_with_check_sync_without_loop":
    _ASYNC_RESOLVER_IN_SYNC_TEST,
    "tests/execution/test_sync.py::describe_execute_synchronously_when_possible::"
    "describe_graphql_sync::throws_if_encountering_async_operation_with_check_sync_without_loop":
    _ASYNC_RESOLVER_IN_SYNC_TEST,
    "tests/execution/test_customize.py::describe_customize_execution::"
    "uses_a_custom_execution_context_class": (
        "subclasses the execution context to override execute_field(parent_type, source, "
        "field_nodes, path); ours executes compiled plans and calls execute_field(field "
        "plan, source, path): that hook is replaced, not kept"
    ),
    "tests/pyutils/test_description.py::describe_description::can_register_and_unregister": (
        "asserts graphql-core's default description registry (`Description.bases is str`); "
        "graphene-django, which the project imports, registers Django's lazy strings "
        "(graphene_django/converter.py: register_description(Promise)). Not about execution"
    ),
}


class Summary:
    def __init__(self) -> None:
        self.patched_modules: list[str] = []
        self.executions = 0
        self.outcomes: dict[str, list[str]] = {}
        self.deselected: dict[str, str] = {}
        self.unused_deselections: list[str] = []

    def add(self, outcome: str, nodeid: str) -> None:
        self.outcomes.setdefault(outcome, []).append(nodeid)

    def as_dict(self) -> dict[str, Any]:
        return {
            "patched_modules": self.patched_modules,
            "executions_with_promise_execution_context": self.executions,
            "counts": {outcome: len(ids) for outcome, ids in self.outcomes.items()},
            "outcomes": self.outcomes,
            "deselected": self.deselected,
            "unused_deselections": self.unused_deselections,
        }


SUMMARY = Summary()


def patch_execution_context() -> None:
    """Make PromiseExecutionContext what every graphql module calls ExecutionContext."""
    from schema.execution import PromiseExecutionContext

    # The module itself: the package attribute `execute` is the function of that name.
    execute_module = importlib.import_module("graphql.execution.execute")
    stock = execute_module.ExecutionContext
    assert stock is not PromiseExecutionContext and issubclass(PromiseExecutionContext, stock)
    importlib.import_module("graphql.execution.subscribe")
    for name, module in list(sys.modules.items()):
        if name != "graphql" and not name.startswith("graphql."):
            continue
        if getattr(module, "ExecutionContext", None) is stock:
            module.ExecutionContext = PromiseExecutionContext
            SUMMARY.patched_modules.append(name)

    # Count the executions that really were ours (subclasses included).
    original_init = PromiseExecutionContext.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        SUMMARY.executions += 1
        original_init(self, *args, **kwargs)

    PromiseExecutionContext.__init__ = counting_init  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "asyncio: graphql-core's async tests (deselected here)")
    config.addinivalue_line("markers", "timeout: pytest-timeout's marker (not installed)")
    patch_execution_context()


def _matches(nodeid: str, prefix: str) -> bool:
    return nodeid == prefix or nodeid.startswith(prefix + "::")


def _reason(item: pytest.Item) -> str | None:
    for prefix, reason in DESELECTED.items():
        if _matches(item.nodeid, prefix):
            return reason
    function = getattr(item, "obj", None)
    if inspect.iscoroutinefunction(function) or item.get_closest_marker("asyncio"):
        return ASYNC_REASON
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, deselected = [], []
    for item in items:
        reason = _reason(item)
        if reason is None:
            kept.append(item)
        else:
            deselected.append(item)
            SUMMARY.deselected[item.nodeid] = reason
    SUMMARY.unused_deselections = sorted(
        prefix for prefix in DESELECTED
        if not any(_matches(nodeid, prefix) for nodeid in SUMMARY.deselected)
    )
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if hasattr(report, "wasxfail"):
        SUMMARY.add("xfailed" if report.skipped else "xpassed", report.nodeid)
    elif report.failed:
        SUMMARY.add("failed" if report.when == "call" else "error", report.nodeid)
    elif report.skipped:
        SUMMARY.add("skipped", report.nodeid)
    elif report.when == "call":
        SUMMARY.add("passed", report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("VITRINE_GRAPHQL_CORE_SUMMARY")
    if path:
        data = SUMMARY.as_dict()
        data["exitstatus"] = int(exitstatus)
        data["collected"] = session.testscollected
        with open(path, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, sort_keys=True)


@pytest.fixture
def benchmark():
    """Stand-in for pytest-benchmark's fixture: graphql-core's benchmarks run once, as tests."""

    def run_once(function, *args, **kwargs):
        return function(*args, **kwargs)

    return run_once
