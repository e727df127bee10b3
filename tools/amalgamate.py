"""Build the host side's hot modules: several source modules, one file for the machine.

As SQLite ships its amalgamation, the wheel ships the host side's hot path as a
few modules built from the sources in ``autotelemetry/hook/`` (which stay
one module per concern, for people). Importing a module costs a host about
0.4M instructions before its first line runs, and every byte of bytecode about
18 more; a framework import that pulled in eight small modules paid that eight
times. Each built module:

* concatenates its source modules in order, under one global namespace;
* drops their docstrings and ``__all__`` (nothing reads them at run time) and
  their imports of each other: a sibling module name (``config``, ``recorder``)
  is bound to the built module itself, or, for a module built into another
  built module that is always loaded first, to that module, found in
  ``sys.modules`` (or loaded by ``boot.load``);
* registers itself in ``sys.modules`` under every source module's name, so the
  package modules imported only on rare paths (crash capture, the endpoint
  notice) and the tool side find ONE copy of each module and its state;
* replaces the statements of :data:`FOLDED` by the literals they compute (a hot
  module holds the option table's columns it needs, not the table);
* refuses to build when two source modules define the same top-level name
  (the namespace is shared), or a module defines a sibling's name.

Used by ``hatch_build.py`` at wheel build time; a test compares what the built
modules and the sources record (tests/test_packaging.py).
"""

from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "autotelemetry.hook"


@dataclass(frozen=True)
class Target:
    """One built module and the source modules (``hook``-relative names) it holds."""

    name: str
    modules: tuple[str, ...]


#: What the wheel ships (:func:`destination`: where), in load order. The boot runs at
#: every interpreter start; the hand-over (who is running) when a framework loads, the
#: allowlist reader when an allowlist source names the program;
#: a framework's hot module only when the program is instrumented (one per framework:
#: a Click CLI never unmarshals the argparse integration).
TARGETS = (
    Target("_autotelemetry_boot", ("boot",)),
    # The quick "no" (identity.unlisted) first, the allowlist reader only when a source
    # mentions the program: a bystander never unmarshals the reader and its trusted open.
    Target("_autotelemetry_handover", ("env", "identity", "handover")),
    Target("_autotelemetry_allowlist", ("namespace", "fs", "allowlist")),
    Target(
        "_autotelemetry_click",
        ("config", "event", "spool", "recorder", "instrument", "integrations.click"),
    ),
    Target(
        "_autotelemetry_argparse",
        ("config", "event", "spool", "recorder", "instrument", "integrations.argparse"),
    ),
    # Rare paths, each loaded only when needed (handover.lazy): a setting's variable is
    # set (its parser, which holds the table's rows without their documentation; the
    # table itself only where no built module holds its columns, e.g. the tool side), a
    # config file exists, a crash happened, an endpoint is configured, the process exits
    # otherwise than the framework first did or by a terminating signal.
    Target("_autotelemetry_options", ("options",)),
    Target("_autotelemetry_values", ("values",)),
    Target("_autotelemetry_configfile", ("configfile",)),
    Target("_autotelemetry_crash", ("privacy", "crash")),
    Target("_autotelemetry_endpoint", ("notice", "spawn")),
    # ... and the exit that claims a sender's start (a few runs in a thousand).
    Target("_autotelemetry_launch", ("launch",)),
    # ... and a trace context to inherit (TRACEPARENT, a parent CLI's span).
    Target("_autotelemetry_tracecontext", ("tracecontext",)),
    Target("_autotelemetry_exits", ("exits",)),
    # ... and a writer's turn (one run in 64) to enforce the spool's caps.
    Target("_autotelemetry_eviction", ("eviction",)),
)


#: Top-level names a source module computes at import that its built module holds as
#: literals instead: the statement binding them is replaced by their values, taken from
#: the source module imported at build time. Each must be a literal (``repr`` reads back).
FOLDED = {
    "config": ("DEFAULTS", "SETTING_VARIABLES", "PER_CLI_KEYS", "SETTING_KEYS"),
    "event": ("CI_KEYS",),
    "eviction": ("CAPS",),
    "values": ("ROWS", "KINDS", "KILL_SWITCHES", "OTEL_ENDPOINTS"),
}


#: Where the wheel puts every built module but the boot: a directory of the package that
#: is not on ``sys.path`` (``boot.BUILT``), so only the boot, which the ``.pth`` line imports,
#: is an entry at the root of site-packages (each entry there costs every Python process
#: ~5.3k instructions: ``site`` lists the directory twice, the import system once).
BUILT_DIR = "autotelemetry/built"


def destination(name: str) -> str:
    """The wheel path of built module ``name``."""
    return f"{name}.py" if name == TARGETS[0].name else f"{BUILT_DIR}/{name}.py"


class BuildError(ValueError):
    """The sources break a rule of the amalgamation (the message says which)."""


def _source(root: Path, module: str) -> str:
    return (root / "autotelemetry" / "hook" / (module.replace(".", "/") + ".py")).read_text(
        encoding="utf-8"
    )


def _docstring(body: list[ast.stmt]) -> ast.Expr | None:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _sibling_import(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.ImportFrom)
        and node.level == 0
        and node.module is not None
        and (node.module == PACKAGE or node.module.startswith(PACKAGE + "."))
    )


def _top_level_names(tree: ast.Module) -> dict[str, ast.stmt]:
    """Names each top-level statement binds (imports of other packages excluded)."""
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        targets: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                targets += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        for name in targets:
            names[name] = node
    return names


def _type_checking(node: ast.stmt) -> bool:
    """``if TYPE_CHECKING:`` (the block only the type checker reads)."""
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and (node.test.id == "TYPE_CHECKING")
    )


def _annotation_cuts(tree: ast.Module, lines: list[bytes]) -> dict[int, list[tuple[int, int]]]:
    """Byte ranges (per 0-based line) of annotations to cut: ``: T`` of arguments and
    variables, `` -> T`` of returns. Only annotations written on one line are cut."""
    cuts: dict[int, list[tuple[int, int]]] = {}

    def cut(line: int, start: int, end: int) -> None:
        cuts.setdefault(line - 1, []).append((start, end))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            for arg in every:
                note = arg.annotation
                if note is not None and note.lineno == note.end_lineno == arg.lineno:
                    cut(arg.lineno, arg.col_offset + len(arg.arg), note.end_col_offset or 0)
            note = node.returns
            if note is not None and note.lineno == note.end_lineno:
                text = lines[note.lineno - 1]
                arrow = text.rfind(b"->", 0, note.col_offset)
                if arrow > 0:
                    start = arrow - 1 if text[arrow - 1 : arrow] == b" " else arrow
                    cut(note.lineno, start, note.end_col_offset or 0)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, note = node.target, node.annotation
            if note.lineno == note.end_lineno == target.end_lineno:
                cut(target.end_lineno, target.end_col_offset or 0, note.end_col_offset or 0)
    return cuts


def _folded(root: Path, module: str) -> dict[str, object]:
    """The values of ``module``'s :data:`FOLDED` names, from the sources under ``root``.

    The package is imported afresh from ``root`` and the process's modules are put back
    as they were after, whatever copy of the package it had loaded.
    """
    names = FOLDED.get(module, ())
    if not names:
        return {}
    ours = ("autotelemetry", "_autotelemetry_boot")
    saved = {k: v for k, v in sys.modules.items() if k.partition(".")[0] in ours}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        loaded = importlib.import_module(f"{PACKAGE}.{module}")
        if Path(loaded.__file__ or "") != root / "autotelemetry" / "hook" / f"{module}.py":
            raise BuildError(f"{module} was imported from {loaded.__file__}, not from {root}")
        missing = [name for name in names if name not in loaded.__dict__]
        if missing:
            raise BuildError(f"folded names bound by no top-level assignment: {missing}")
        values = {name: loaded.__dict__[name] for name in names}
    finally:
        sys.path.remove(str(root))
        for name in [k for k in sys.modules if k.partition(".")[0] in ours]:
            del sys.modules[name]
        sys.modules.update(saved)
    for name, value in values.items():
        try:
            same = ast.literal_eval(repr(value)) == value
        except (SyntaxError, ValueError):
            same = False
        if not same:
            raise BuildError(f"{module}.{name} is not a literal: it cannot be folded")
    return values


def _strip(text: str, tree: ast.Module, folded: dict[str, object] | None = None) -> str:
    """``text`` without what no host needs at run time, exactly (positions from the AST):
    docstrings, ``__all__``, sibling imports, ``if TYPE_CHECKING:`` blocks (their ``else:``
    is kept) and annotations (each costs bytes of byte-code that every host unmarshals);
    the statements binding ``folded`` names become their literal values."""
    lines = text.encode("utf-8").splitlines(keepends=True)
    drop: set[int] = set()  # 0-based line numbers
    replace: dict[int, bytes] = {}
    dedent: set[int] = set()

    def remove(node: ast.stmt, owner_body: list[ast.stmt]) -> None:
        assert node.end_lineno is not None
        first, last = node.lineno - 1, node.end_lineno - 1
        drop.update(range(first, last + 1))
        if len(owner_body) == 1:  # the body would be empty: keep a pass
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
            replace[first] = indent + b"pass\n"

    doc = _docstring(tree.body)
    if doc is not None:
        remove(doc, tree.body)
    folded = folded or {}
    unbound = set(folded)
    for node in tree.body:
        bound = set(_top_level_names(ast.Module(body=[node], type_ignores=[])))
        if bound & set(folded):
            if not isinstance(node, ast.Assign) or not bound <= set(folded):
                raise BuildError(f"a folded name is bound by a statement of other names: {bound}")
            remove(node, tree.body)
            literal = "".join(f"{name} = {folded[name]!r}\n" for name in sorted(bound))
            replace[node.lineno - 1] = literal.encode("utf-8")
            unbound -= bound
    if unbound:
        raise BuildError(f"folded names bound by no top-level assignment: {sorted(unbound)}")
    for node in tree.body:
        if _sibling_import(node) or (
            isinstance(node, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id in ("__all__", "TYPE_CHECKING")
                for t in node.targets
            )
        ):
            remove(node, tree.body)
        elif _type_checking(node):
            assert isinstance(node, ast.If) and node.end_lineno is not None
            if node.orelse:  # keep the else: body, one level out
                kept = range(node.orelse[0].lineno - 1, node.orelse[-1].end_lineno or 0)
                drop.update(n for n in range(node.lineno - 1, node.end_lineno) if n not in kept)
                dedent.update(kept)
            else:
                drop.update(range(node.lineno - 1, node.end_lineno))
    for each in ast.walk(tree):
        if isinstance(each, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = _docstring(each.body)
            if doc is not None:
                remove(doc, each.body)
    for number, ranges in _annotation_cuts(tree, lines).items():
        line = lines[number]
        for start, end in sorted(ranges, reverse=True):
            line = line[:start] + line[end:]
        lines[number] = line
    out = []
    for number, line in enumerate(lines):
        if number in replace:
            out.append(replace[number])
        elif number in dedent:
            out.append(line[4:] if line.startswith(b"    ") else line)
        elif number not in drop:
            out.append(line)
    return b"".join(out).decode("utf-8")


def build(root: Path, target: Target, loaded_first: dict[str, str]) -> str:
    """The text of ``target``'s built module.

    ``loaded_first`` maps a source module of an earlier target to that target's
    module name (always loaded before this one).
    """
    here = set(target.modules)
    # Sibling module names bound to this module (integrations are never imported by name).
    aliases = sorted({m.rpartition(".")[2] for m in here if not m.startswith("integrations.")})
    defined: dict[str, str] = {}
    needed: set[str] = set()  # sibling modules imported at module level
    parts = []
    for module in target.modules:
        text = _source(root, module)
        tree = ast.parse(text)
        for node in tree.body:
            if _sibling_import(node):
                assert isinstance(node, ast.ImportFrom)
                for alias in node.names:
                    full = f"{node.module}.{alias.name}".removeprefix(PACKAGE + ".")
                    needed.add(full)
                    if alias.asname and alias.asname != alias.name:
                        raise BuildError(f"{module}: import {full} as {alias.asname}: no aliases")
                    if full not in here and full not in loaded_first:
                        raise BuildError(
                            f"{module} imports {full} at module level: it must be in "
                            f"{target.name} or an earlier target (or imported lazily)"
                        )
        for name in _top_level_names(tree):
            if name in ("__all__", "TYPE_CHECKING"):
                continue
            if name.startswith("_built"):
                raise BuildError(
                    f"{module} defines {name!r}: names starting _built are the build's"
                )
            if name in aliases or name in {m.rpartition(".")[2] for m in loaded_first}:
                raise BuildError(f"{module} defines {name!r}, the name of a sibling module")
            if name in defined:
                raise BuildError(
                    f"{module} and {defined[name]} both define {name!r} "
                    f"(they share one namespace in {target.name})"
                )
            defined[name] = module
        parts.append(f"# --- autotelemetry/hook/{module.replace('.', '/')}.py ---\n")
        parts.append(_strip(text, tree, _folded(root, module)).strip("\n") + "\n\n")
    head = [
        f'"""Built from autotelemetry/hook/ ({", ".join(target.modules)}); do not edit."""\n',
        "import sys\n",
        "_built_module = sys.modules[__name__]\n",
    ]
    if aliases:
        head.append(" = ".join(aliases) + " = _built_module\n")
    for module in sorted(needed - here):
        short = module.rpartition(".")[2]
        if module == "boot":  # it loads every built module: always registered first
            head.append(f"boot = sys.modules[{PACKAGE + '.boot'!r}]\n")
            continue
        head.append(f"{short} = sys.modules.get({PACKAGE + '.' + module!r})\n")
        head.append(
            f"if {short} is None:\n"
            f"    sys.modules['{PACKAGE}.boot'].load({loaded_first[module]!r})\n"
            f"    {short} = sys.modules[{PACKAGE + '.' + module!r}]\n"
        )
    tail = [
        f"for _name in {tuple(PACKAGE + '.' + m for m in target.modules)!r}:\n",
        "    sys.modules.setdefault(_name, _built_module)\n",
    ]
    return "".join(head) + "\n" + "".join(parts) + "".join(tail)


def build_all(root: Path) -> dict[str, str]:
    """Every target's text, by module name (written to :func:`destination`)."""
    out: dict[str, str] = {}
    loaded_first: dict[str, str] = {}
    for target in TARGETS:
        if target.modules == ("boot",):
            # The boot is copied, not rebuilt: it registers itself under both names.
            tree = ast.parse(_source(root, "boot"))
            out[target.name] = _strip(_source(root, "boot"), tree)
        else:
            out[target.name] = build(root, target, loaded_first)
        for module in target.modules:
            loaded_first.setdefault(module, target.name)
    return out


if __name__ == "__main__":  # python tools/amalgamate.py OUTDIR: write the wheel's layout
    import sys

    out_dir = Path(sys.argv[1])
    for name, text in build_all(Path(__file__).resolve().parent.parent).items():
        path = out_dir / destination(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        compile(text, name, "exec")
        print(path, len(text))
