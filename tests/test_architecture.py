"""The shape of the package, enforced: two layers, no import cycles, one owner per concern.

Read from the source with ``ast`` (nothing is imported to decide), so these
guards hold for every module, including the ones a test run never loads.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "autotelemetry"
HOST = PACKAGE / "hook"

sys.path.insert(0, str(ROOT))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules ``path`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_module_level_import_cycles():
    graph = {
        name: {m for m in _imports(path, top_level_only=True) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    """The guard above can fail: a two-module and a three-module cycle are found."""
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


STDLIB = set(getattr(sys, "stdlib_module_names", ())) | {"__future__"}


@pytest.mark.skipif(not STDLIB, reason="sys.stdlib_module_names needs Python 3.10+")
@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if n.startswith("autotelemetry.hook")), ids=str
)
def test_host_side_imports_only_the_stdlib_and_itself(name: str):
    """Anywhere in the module, not just at the top: a lazy import runs in the host too."""
    for imported in _imports(MODULES[name], top_level_only=False):
        top = imported.split(".")[0]
        if top == "autotelemetry":
            assert imported.startswith("autotelemetry.hook"), f"{name} imports {imported}"
        else:
            assert top in STDLIB, f"{name} imports {imported}, not in the standard library"


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if n.startswith("autotelemetry.hook")), ids=str
)
def test_host_side_never_imports_typing_at_run_time(name: str):
    """Type-only imports sit under ``if TYPE_CHECKING:`` (a local False: no typing import)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    checking = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    ]
    for block in checking:
        block.body = []  # imports only the type checker sees
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("typing", "__future__"):
            pytest.fail(f"{name} imports {node.module}")
        if isinstance(node, ast.Import):
            assert "typing" not in {a.name for a in node.names}, name
    if checking:  # TYPE_CHECKING is our own constant, never typing's
        assert "TYPE_CHECKING = False" in MODULES[name].read_text(encoding="utf-8"), name


def test_sqlite_belongs_to_the_store():
    """One owner of the database: no other module imports sqlite3 or writes SQL."""
    sql = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE TABLE|PRAGMA)\b")
    for name, path in MODULES.items():
        if name.startswith("autotelemetry.store"):
            continue
        assert "sqlite3" not in _imports(path, top_level_only=False), name
        strings = [
            node.value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
        assert not [s for s in strings if sql.search(s)], name


def test_integrations_follow_the_protocol_and_the_registry():
    from autotelemetry.hook import boot, instrument

    watched: dict[str, str] = {}
    for path in sorted((HOST / "integrations").glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = instrument.integration(boot_key(boot, path.stem))
        assert module is not None, path
        assert callable(module.patch) and callable(module.describe)
        for name in module.WATCHES:
            watched[name] = path.stem
    assert watched == boot.INTEGRATIONS


def boot_key(boot: object, integration: str) -> str:
    return next(k for k, v in boot.INTEGRATIONS.items() if v == integration)  # type: ignore[attr-defined]


def test_every_variable_we_read_is_in_the_option_table():
    from autotelemetry.reference import ROWS

    table = {o.variable for o in ROWS if o.variable}
    seen: set[str] = set()
    used: set[str] = set()
    for name, path in MODULES.items():
        if name in ("autotelemetry.hook.options", "autotelemetry.reference"):
            continue
        text = path.read_text(encoding="utf-8")
        seen.update(re.findall(r"AUTOTELEMETRY_[A-Z_]+\b", text))
        used.update(re.findall(r"[\"']([a-z_]+)[\"']", text))
    assert seen - table == set()
    # ...and the table lists nothing that no code reads (by variable or by name)
    unused = [o.name for o in ROWS if o.variable not in seen and o.name not in used]
    assert unused == []


def test_each_option_has_its_own_name_and_variable():
    """One name, one variable, one meaning: two rows once shared ``signals`` and
    ``AUTOTELEMETRY_SIGNALS`` (the OTLP signals sent; recording SIGTERM-ended runs), so
    ``signals = false`` in a config file was checked against the other row and refused."""
    from autotelemetry.reference import ROWS

    names = [o.name for o in ROWS]
    variables = [o.variable for o in ROWS if o.variable]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    assert sorted({v for v in variables if variables.count(v) > 1}) == []


@pytest.mark.parametrize(
    "value", [None, "", " ", "0", "1", "false", "FALSE", " off ", "No", "yes", "on", "x", "00"]
)
def test_the_hot_paths_flag_reads_as_the_table_does(value: "str | None"):
    from autotelemetry.hook import config, values

    assert config.flag(value) is values.flag(value)
    if value is not None:
        assert values.coerce("debug", value) == (config.flag(value), None)


def test_kill_switches_of_the_boot_match_the_table():
    from autotelemetry.hook import boot, options

    source = (HOST / "boot.py").read_text(encoding="utf-8")
    for name in options.KILL_SWITCHES:
        assert f'b"{name}"' in source
    assert options.BY_NAME["run"][options.VARIABLE] == boot.RUN_VARIABLE


@pytest.mark.parametrize("kind", ["bool", "rate", "seconds", "seconds0", "count", "url"])
def test_one_parser_per_kind_rejects_garbage(kind: str):
    from autotelemetry.hook import options, values

    name = next(o[options.NAME] for o in options.OPTIONS if o[options.KIND] == kind)
    assert values.coerce(name, "garbage")[1] is not None
    assert values.coerce(name, "-1")[1] is not None


def test_configuration_docs_are_generated_from_the_table():
    from autotelemetry import reference

    for doc in reference.DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "<!-- options:" in text, doc
        assert reference.render(text) == text, f"{doc} is stale: run `make docs`"


def test_every_host_module_imports_from_the_sources():
    """Annotations are evaluated at import: a name that exists only for the type checker
    (``if TYPE_CHECKING:``) must be quoted, or the module fails to load in every host."""
    names = sorted(n for n in MODULES if n.startswith("autotelemetry.hook"))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    out = subprocess.run(
        [sys.executable, "-c", code, *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AUTOTELEMETRY_DISABLED": "1"},
    )
    assert out.returncode == 0, out.stderr
