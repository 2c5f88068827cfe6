"""The manual stays beside the code: what the code defines, `docs/` documents.

- every error code (`extensions.code`) is in the error-code table of docs/api.md, and every
  field error code a service raises is in docs/auth.md;
- every setting and environment variable (project/settings.py, any subscription setting, what
  the apps read from `settings`, the scripts in bin/) is in docs/configuration.md;
- the README's ordered list of the request pipeline follows the code, step for step;
- every link and every module path in the README and docs/ names something that exists;
- no file cites notes kept outside the repository;
- the README fits on a few screens.

The code is read as source (ast), not imported: these checks need neither a database nor
Django set up.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import global_settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
APPS = ("accounts", "dataloaders", "orders", "products", "project", "schema", "subscriptions",
        "webhooks")
SCRIPTS = ("bin/run", "bin/test", "bin/setup", "bin/setup-clients")
NOT_OURS = {".venv", "node_modules", "var", ".git", "__pycache__", "test-artifacts",
            ".pytest_cache", ".ruff_cache", "vitrine.egg-info"}

UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
FIELD_CODE = re.compile(r"^[a-z]+(?:_[a-z]+)*$")
FIELD_ERRORS = "schema/mutations.py"  # FieldError, and its default code


# -- Reading the code --------------------------------------------------------------------------


def app_modules() -> Iterator[Path]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def module_constants(path: Path) -> dict[str, str]:
    """Module-level `NAME = "value"` assignments."""
    found = {}
    for node in tree(path).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def function_source(relative: str, qualified_name: str) -> str:
    """The source of `function` or `Class.method` in a module (empty if there is none)."""
    path = ROOT / relative
    text = path.read_text()
    scope: list[ast.stmt] = ast.parse(text).body
    *outer, name = qualified_name.split(".")
    for class_name in outer:
        scope = next((node.body for node in scope
                      if isinstance(node, ast.ClassDef) and node.name == class_name), [])
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return ast.get_source_segment(text, node) or ""
    return ""


# -- Reading the manual ------------------------------------------------------------------------


def manual_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def section(text: str, heading: str) -> str:
    """The text under a heading (`## Name` or `### Name`), up to the next heading as high."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.M)
    assert match, f"no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[:end.start()] if end else rest


def mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![A-Z0-9_]){re.escape(name)}(?![A-Z0-9_])", text) is not None


# -- Error codes -------------------------------------------------------------------------------


def error_codes() -> set[str]:
    """Every `extensions.code` the code can send: the constants of schema/errors.py, and any
    other module-level `CODE = "CODE"` constant or `{"code": "CODE"}` literal in the apps
    (RATE_LIMITED in accounts/ratelimit.py, TOO_MANY_OPERATIONS in subscriptions/consumer.py).
    The field-error module's constants are field error codes (below), not these."""
    codes = set()
    for path in app_modules():
        if path == ROOT / FIELD_ERRORS:
            continue
        codes |= {value for name, value in module_constants(path).items()
                  if name == value and UPPER_NAME.match(value)}
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    code = string(value)
                    if (key is not None and string(key) == "code" and code
                            and UPPER_NAME.match(code)):
                        codes.add(code)
    return codes


def test_the_error_codes_are_found():
    codes = error_codes()
    assert {"INTERNAL", "BAD_USER_INPUT", "THROTTLED", "RATE_LIMITED",
            "TOO_MANY_OPERATIONS"} <= codes, codes
    assert len(codes) >= 25, codes


def test_every_error_code_is_in_the_error_code_table():
    table = section((DOCS / "api.md").read_text(), "Error codes")
    missing = sorted(code for code in error_codes() if f"`{code}`" not in table)
    assert not missing, f"docs/api.md's error-code table lacks: {missing}"


def code_positions(module: ast.Module) -> dict[str, int]:
    """Functions and classes of a module that take a `code` parameter, and its position."""
    positions = {}
    for node in ast.walk(module):
        function = node
        if isinstance(node, ast.ClassDef):
            function = next((item for item in node.body if isinstance(item, ast.FunctionDef)
                             and item.name == "__init__"), None)
        if not isinstance(function, ast.FunctionDef):
            continue
        names = [arg.arg for arg in function.args.args if arg.arg not in {"self", "cls"}]
        if "code" in names:
            positions[node.name] = names.index("code")
    return positions


def code_argument(node: ast.AST, constants: dict[str, str]) -> str:
    """A literal code, or the value of the constant named (`inventory.OUT_OF_STOCK`)."""
    if isinstance(node, ast.Name | ast.Attribute):
        return constants.get(node.id if isinstance(node, ast.Name) else node.attr, "")
    return string(node) or ""


def field_error_codes() -> set[str]:
    """The codes services give a `ValidationError` (FieldError.code, upper-cased): the literal
    or constant passed as `code` (`ValidationError(message, code="unique")`,
    `code=inventory.OUT_OF_STOCK`, a `code` parameter's default), the third argument of the
    field-error helpers (`errors.add(field, message, "required")`, `invalid(…)`, `_error(…)`),
    and the default of schema/mutations.py."""
    constants: dict[str, str] = {}
    for path in app_modules():
        constants |= module_constants(path)
    given: set[str] = set()
    for path in app_modules():
        module = tree(path)
        positions = code_positions(module)
        for node in ast.walk(module):
            if isinstance(node, ast.FunctionDef):
                positional = node.args.posonlyargs + node.args.args
                arguments = positional[len(positional) - len(node.args.defaults):]
                for argument, default in zip(arguments, node.args.defaults, strict=True):
                    if argument.arg == "code":
                        given.add(code_argument(default, constants))
            if not isinstance(node, ast.Call):
                continue
            given |= {code_argument(keyword.value, constants) for keyword in node.keywords
                      if keyword.arg == "code"}
            name = call_name(node)
            if len(node.args) == 3 and (name in {"add", "invalid"} or name.endswith("_error")):
                given.add(code_argument(node.args[2], constants))
            if name in positions and len(node.args) > positions[name]:
                given.add(code_argument(node.args[positions[name]], constants))
    codes = {value for name, value in module_constants(ROOT / FIELD_ERRORS).items()
             if name == value and UPPER_NAME.match(value)}
    return codes | {code.upper() for code in given if FIELD_CODE.match(code)}


def test_every_field_error_code_is_documented():
    codes = field_error_codes()
    assert {"REQUIRED", "UNIQUE", "OUT_OF_STOCK", "MAX_LENGTH"} <= codes, codes
    documented = section((DOCS / "auth.md").read_text(), "Mutations and their errors")
    missing = sorted(code for code in codes if f"`{code}`" not in documented)
    assert not missing, f"docs/auth.md's field error codes lack: {missing}"


# -- Settings ----------------------------------------------------------------------------------


def environment_reads(path: Path) -> set[str]:
    """Names read from the environment: `os.environ[...]`, and the first argument of any call
    given an upper-case name (`os.environ.get`, `env_bool`, `env_list`, a typed reader)."""
    names = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call) and node.args:
            name = string(node.args[0])
            if name and UPPER_NAME.match(name) and len(name) > 2:
                names.add(name)
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "environ"):
            name = string(node.slice)
            if name:
                names.add(name)
    return names


def own_settings(path: Path) -> set[str]:
    """Settings a module defines that are not Django's own."""
    names = set()
    for node in ast.walk(tree(path)):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        for target in targets:
            if (isinstance(target, ast.Name) and UPPER_NAME.match(target.id)
                    and not hasattr(global_settings, target.id)):
                names.add(target.id)
    return names


def settings_read_by_the_apps() -> set[str]:
    """`settings.NAME` and `getattr(settings, "NAME")` in the apps, Django's own aside."""
    names = set()
    for path in app_modules():
        for node in ast.walk(tree(path)):
            name = None
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "settings"):
                name = node.attr
            elif (isinstance(node, ast.Call) and call_name(node) == "getattr"
                  and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
                  and node.args[0].id == "settings"):
                name = string(node.args[1])
            if name and UPPER_NAME.match(name) and not hasattr(global_settings, name):
                names.add(name)
    return names


def script_variables() -> set[str]:
    """Variables the scripts take from the environment: `${NAME:-default}`."""
    names = set()
    for script in SCRIPTS:
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):?-", (ROOT / script).read_text()))
    return names


def all_settings() -> set[str]:
    settings_py = ROOT / "project/settings.py"
    names = environment_reads(settings_py) | own_settings(settings_py)
    for path in app_modules():
        if path.parts[-2] == "subscriptions":
            names |= set(re.findall(r"[\"'](SUBSCRIPTIONS_[A-Z0-9_]+)[\"']", path.read_text()))
    return names | settings_read_by_the_apps() | script_variables()


def test_the_settings_are_found():
    names = all_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "GRAPHQL_MAX_COST", "JWT_COOKIE_SECURE",
            "SUBSCRIPTIONS_SEND_QUEUE", "WEBHOOK_RETRY_SCHEDULE", "GRAPHQL_MAX_PAGE_SIZE",
            "WEB_CONCURRENCY"} <= names, names


def test_every_setting_is_in_the_configuration_page():
    text = (DOCS / "configuration.md").read_text()
    missing = sorted(name for name in all_settings() if not mentions(text, name))
    assert not missing, f"docs/configuration.md lacks: {missing}"


# -- The README's pipeline follows the code ----------------------------------------------------

# (the README's bold step name, where the code takes that step, a pattern for what the code
# does there). Within one function the steps must come in this order; a step whose pattern the
# code no longer shows must leave the README too (if it was only renamed, update it here).
VIEW = "schema/view.py"
PIPELINE = "schema/pipeline.py"
STEPS = [
    ("Body size", "schema/request_guard.py", "RequestGuardMiddleware.process_view",
     r"_too_large\("),
    ("Client identity", VIEW, "VitrineGraphQLView.dispatch", r"Client\.from_meta\("),
    ("Per-address guard", VIEW, "VitrineGraphQLView.dispatch", r"counting_failures\("),
    ("Authentication", VIEW, "VitrineGraphQLView.dispatch", r"authenticate_request\("),
    ("Body and parameters", VIEW, "VitrineGraphQLView.dispatch", r"_read_body\("),
    ("CSRF", VIEW, "VitrineGraphQLView.operation_request", r"check_csrf\("),
    ("Persisted query", PIPELINE, "_prepare", r"persisted"),
    ("Limits", PIPELINE, "_prepare", r"check_variables_size\("),
    ("Document", PIPELINE, "_prepare", r"document_cache\.load\("),
    ("Operation type", PIPELINE, "_prepare", r"\.refuse\("),
    ("Argument text", PIPELINE, "_prepare", r"inputs\.check_arguments\("),
    ("Introspection", PIPELINE, "_prepare", r"check_introspection\("),
    ("Cost", PIPELINE, "_prepare", r"check_cost\("),
    ("Throttle", PIPELINE, "_prepare", r"_take_points\(|throttle\.take"),
    ("Execution", PIPELINE, "execute_prepared", r"_execute\(|_run\(|_cached\("),
    ("Refund", PIPELINE, "execute_prepared", r"_refund\("),
    ("Errors and log line", PIPELINE, "_finish", r"request_log\.emit\("),
]


def readme_pipeline() -> list[str]:
    steps = section(README.read_text(), "The request pipeline")
    return re.findall(r"^\d+\. \*\*(.+?)\*\*", steps, flags=re.M)


def test_the_readme_lists_the_pipeline_steps_the_code_takes_in_its_order():
    taken = []
    last_position: dict[tuple[str, str], int] = {}
    for name, module, function, anchor in STEPS:
        source = function_source(module, function)
        assert source, f"{module} has no {function}: update STEPS in tests/test_docs.py"
        found = re.search(anchor, source)
        if found is None:
            continue
        position = found.start()
        previous = last_position.get((module, function), -1)
        assert position > previous, (
            f"{function} in {module} now takes {name!r} earlier: reorder the README's list "
            "(and STEPS)"
        )
        last_position[module, function] = position
        taken.append(name)
    assert readme_pipeline() == taken, (
        "The README's request pipeline must list the steps the code takes, in its order"
    )


def test_the_subscription_transports_share_the_pipeline():
    """The README says so: both streaming transports prepare through schema/pipeline.py."""
    for module, function in (("subscriptions/consumer.py",
                              "GraphQLWebsocketConsumer.start_operation"),
                             ("subscriptions/sse.py", "EventStream.respond")):
        assert "pipeline.prepare(" in function_source(module, function), (module, function)
    authenticate = function_source("subscriptions/consumer.py",
                                   "GraphQLWebsocketConsumer._authenticate")
    assert "ratelimit.counting_failures(" in authenticate


# -- Links and paths ---------------------------------------------------------------------------


def manual() -> list[Path]:
    return [README, *manual_pages()]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(heading) for heading in
            re.findall(r"^#+ (.+?)\s*$", path.read_text(), flags=re.M)}


def test_every_link_in_the_manual_leads_somewhere():
    broken = []
    for page in manual():
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if (ROOT not in linked.parents and linked != ROOT) or not linked.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def test_every_module_path_in_the_manual_exists():
    tops = "|".join(sorted({*APPS, "bench", "bin", "docs", "tests"}))
    pattern = re.compile(rf"`((?:{tops})/[\w./-]*)`")
    missing = []
    for page in manual():
        for relative in pattern.findall(page.read_text()):
            if not (ROOT / relative).exists():
                missing.append(f"{page.name}: {relative}")
    assert not missing, missing


def test_the_readme_fits_on_a_few_screens():
    lines = len(README.read_text().splitlines())
    assert lines <= 250, f"README.md has {lines} lines: move the detail to docs/"


# -- Nothing cites notes outside the repository ------------------------------------------------

# Built so that this file does not match itself.
CITED_FILE = re.compile(rb"[\w./-]*(?:REFERENCE|ARCHITECTURE)\.md|(?:\.\./)+shared\b[\w./-]*")
SECTION_SIGN = re.compile("\u00a7 ?[0-9]")


def repository_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).parts
        if any(part in NOT_OURS for part in relative) or not path.is_file():
            continue
        yield path


def test_no_file_cites_notes_outside_the_repository():
    offences = []
    scanned = 0
    for path in repository_files():
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary
        scanned += 1
        for match in CITED_FILE.finditer(data):
            cited = match.group().decode()
            inside = [(base / cited).resolve() for base in (path.parent, ROOT)]
            if not any(ROOT in target.parents and target.exists() for target in inside):
                offences.append(f"{path.relative_to(ROOT)}: {cited}")
        text = data.decode("utf-8", "replace")
        for line_number, line in enumerate(text.splitlines(), 1):
            # A numbered section sign names a section of some document outside the repository
            # (the repository's own documents have no numbered sections).
            if SECTION_SIGN.search(line) and "RFC" not in line and "http" not in line:
                offences.append(f"{path.relative_to(ROOT)}:{line_number}: {line.strip()}")
    assert scanned > 100, scanned
    assert not offences, "Say it in our own words instead of citing these:\n" + "\n".join(
        offences
    )
