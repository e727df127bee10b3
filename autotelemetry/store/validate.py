"""Event validation at ingest: the JSON Schema (``autotelemetry/schema.json``), compiled.

An event is stored only if it is valid against the published schema; anything
else is quarantined and counted (:mod:`~autotelemetry.store.ingest`). Checking a
dict against the schema with ``jsonschema`` costs ~100 µs per event; ingest's
budget is a few. So the schema is compiled once, at import, into straight-line
Python source (``isinstance`` tests, precompiled patterns), which is ``exec``'d
into one function per schema node. It supports the keywords the schema uses
(and a few more); :data:`UNSUPPORTED` lists any it met and did not know, so a
schema change that needs more is caught by a test, never silently accepted.
``tests/test_validate.py`` checks the compiled validator against ``jsonschema``
itself (a test-only dependency) on generated valid and invalid events.

Semantics follow JSON Schema 2020-12 as ``jsonschema`` implements it: a boolean
is not a number, an integral float is an integer, ``pattern`` is a search,
``const``/``enum``/``uniqueItems`` compare as JSON values (``1 == 1.0``,
``true != 1``). ``NaN`` and ``Infinity`` are not JSON: :func:`loads` refuses them
before validation.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any, Callable

#: Keywords that carry no constraint.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs"}
)

#: Keywords met in the schema that the compiler does not implement (must stay empty).
UNSUPPORTED: list[str] = []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity`` (Python's json accepts them)."""
    return _DECODER.decode(text)


def _json_equal(a: object, b: object) -> bool:
    """Equality of two JSON values as JSON Schema defines it (bool is not a number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _unique(items: list) -> bool:
    try:
        if len(set(items)) == len(items) and not any(type(x) in (bool, int, float) for x in items):
            return True  # distinct hashable values, none of them equal across JSON types
    except TypeError:
        pass  # lists or objects among them
    return not any(
        _json_equal(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    )


_MISSING = object()


_TYPE_TESTS = {
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "string": "type({v}) is str",
    "boolean": "type({v}) is bool",
    "null": "{v} is None",
    "number": "(type({v}) is int or type({v}) is float)",
    "integer": "(type({v}) is int or (type({v}) is float and {v}.is_integer()))",
}


class _Compiler:
    """Turns the schema into Python source: one function per combinator branch and per
    recursive reference, everything else inlined (``return <problem>`` on failure)."""

    def __init__(self, root: dict) -> None:
        self.root = root
        self.functions: list[str] = []
        self.constants: dict[str, object] = {}
        self.names: dict[int, str] = {}
        self.inlining: set[int] = set()
        self.counter = 0

    def constant(self, value: object) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def var(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def function(self, node: object) -> str:
        """The name of a function ``(v) -> problem | None`` checking ``node``."""
        key = id(node)
        if key in self.names:
            return self.names[key]
        name = f"check_{len(self.names)}"
        self.names[key] = name
        self.inlining.add(key)
        body = self.emit(node, "v")
        self.inlining.discard(key)
        self.functions.append(
            "\n".join([f"def {name}(v):", *("    " + line for line in body), "    return None"])
        )
        return name

    def resolve(self, ref: str) -> object:
        if not ref.startswith("#/"):
            UNSUPPORTED.append(f"$ref {ref}")
            return True
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def emit(self, node: object, v: str) -> list[str]:
        """Statements that ``return`` a problem when the value in variable ``v`` fails."""
        if node is True:
            return []
        if node is False:
            return ["return 'nothing is allowed here'"]
        if not isinstance(node, dict):
            UNSUPPORTED.append(f"schema {node!r}")
            return []
        for keyword in node:
            if keyword not in _ANNOTATIONS and keyword not in _KEYWORDS:
                UNSUPPORTED.append(keyword)
        out: list[str] = []
        if "$ref" in node:
            target = self.resolve(node["$ref"])
            if id(target) in self.inlining or id(target) in self.names:
                fn = self.function(target)
                out += [f"p = {fn}({v})", "if p is not None:", "    return p"]
            else:
                self.inlining.add(id(target))
                out += self.emit(target, v)
                self.inlining.discard(id(target))
        known: set[str] | None = None  # the types the value can still have
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            test = " or ".join(_TYPE_TESTS[t].format(v=v) for t in types)
            out += [f"if not ({test}):", f"    return {('not ' + '/'.join(types))!r}"]
            known = set(types) | ({"integer"} if "number" in types else set())
        if "const" in node:
            out += [f"if not ({self.equal(v, [node['const']])}):", "    return 'not the constant'"]
        if "enum" in node:
            test = self.equal(v, list(node["enum"]))
            out += [f"if not ({test}):", "    return 'not in the enum'"]
        out += self.strings(node, v, known) + self.numbers(node, v, known)
        out += self.arrays(node, v, known) + self.objects(node, v, known)
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in node:
                subs = [self.function(s) for s in node[keyword]]
                passed = " + ".join(f"({s}({v}) is None)" for s in subs)
                need = {"allOf": f"== {len(subs)}", "anyOf": ">= 1", "oneOf": "== 1"}[keyword]
                why = ", ".join(f"{s}({v})" for s in subs)
                out += [
                    f"if not ({passed}) {need}:",
                    f"    return 'fails {keyword} (' + '; '.join(p for p in ({why},) if p) + ')'",
                ]
        if "not" in node:
            sub = self.function(node["not"])
            out += [f"if {sub}({v}) is None:", "    return 'matches not'"]
        return out

    def equal(self, v: str, values: list) -> str:
        """An expression: ``v`` equals one of ``values`` as JSON values."""
        if all(type(x) is str for x in values):
            if len(values) == 1:
                return f"type({v}) is str and {v} == {values[0]!r}"
            return f"type({v}) is str and {v} in {self.constant(frozenset(values))}"
        if all(type(x) in (int, float) for x in values):
            c = self.constant(frozenset(values))
            return f"(type({v}) is int or type({v}) is float) and {v} in {c}"
        c = self.constant(values)
        return f"any(_json_equal({v}, x) for x in {c})"

    def strings(self, node: dict, v: str, known: set[str] | None) -> list[str]:
        tests = []
        if "pattern" in node:
            pattern = node["pattern"]
            c = self.constant(re.compile(pattern))
            # A pattern anchored at the start (no top-level alternative) is searched
            # as a match: the same answer, without trying every position.
            anchored = pattern.startswith("^") and "|" not in pattern
            method = "match" if anchored else "search"
            tests.append((f"{c}.{method}({v}) is None", "does not match the pattern"))
        if "minLength" in node:
            tests.append((f"len({v}) < {int(node['minLength'])}", "too short"))
        if "maxLength" in node:
            tests.append((f"len({v}) > {int(node['maxLength'])}", "too long"))
        return self.guarded(f"type({v}) is str", tests, known, {"string"})

    def numbers(self, node: dict, v: str, known: set[str] | None) -> list[str]:
        tests = []
        for keyword, op in (
            ("minimum", "<"),
            ("maximum", ">"),
            ("exclusiveMinimum", "<="),
            ("exclusiveMaximum", ">="),
        ):
            if keyword in node:
                tests.append((f"{v} {op} {self.constant(node[keyword])}", f"fails {keyword}"))
        guard = f"(type({v}) is int or type({v}) is float)"
        return self.guarded(guard, tests, known, {"number", "integer"})

    def arrays(self, node: dict, v: str, known: set[str] | None) -> list[str]:
        tests = []
        if "minItems" in node:
            tests.append((f"len({v}) < {int(node['minItems'])}", "too few items"))
        if "maxItems" in node:
            tests.append((f"len({v}) > {int(node['maxItems'])}", "too many items"))
        if node.get("uniqueItems") is True:
            tests.append((f"not _unique({v})", "items not unique"))
        if "items" in node:
            x = self.var()
            inner = self.emit(node["items"], x)
            if inner:
                loop = [f"for {x} in {v}:"]
                loop += ["    " + line for line in self.prefixed(inner, "item: ")]
                tests.append(("", "\n".join(loop)))
        return self.guarded(f"type({v}) is list", tests, known, {"array"})

    def objects(self, node: dict, v: str, known: set[str] | None) -> list[str]:
        inner: list[str] = []
        required = list(node.get("required") or [])
        if required:
            for key in required:
                inner += [f"if {key!r} not in {v}:", f"    return {key + ': missing'!r}"]
        properties = node.get("properties") or {}
        for key, sub in properties.items():
            x = self.var()
            body = self.emit(sub, x)
            if body and key in required:  # checked above: present
                inner += [f"{x} = {v}[{key!r}]", *self.prefixed(body, key + ": ")]
            elif body:
                inner += [f"{x} = {v}.get({key!r}, _MISSING)", f"if {x} is not _MISSING:"]
                inner += ["    " + line for line in self.prefixed(body, key + ": ")]
        if "additionalProperties" in node:
            x = self.var()
            body = self.emit(node["additionalProperties"], x)
            c = self.constant(frozenset(properties))
            if body:
                inner += [f"for k, {x} in {v}.items():", f"    if k not in {c}:"]
                inner += ["        " + line for line in self.prefixed(body, "")]
        tests = [("", "\n".join(inner))] if inner else []
        return self.guarded(f"type({v}) is dict", tests, known, {"object"})

    @staticmethod
    def prefixed(lines: list[str], prefix: str) -> list[str]:
        """``lines`` with every problem they return prefixed by where it was found."""
        if not prefix:
            return lines
        out = []
        for line in lines:
            stripped = line.lstrip()
            if stripped.startswith("return "):
                indent = line[: len(line) - len(stripped)]
                line = f"{indent}return {prefix!r} + {stripped[7:]}"
            out.append(line)
        return out

    @staticmethod
    def guarded(
        guard: str, tests: list[tuple[str, str]], known: set[str] | None, kind: set[str]
    ) -> list[str]:
        """``tests`` (a condition and its problem, or ``""`` and raw statements) that apply
        only to values of ``kind``: guarded by ``guard`` unless the type is already known."""
        if not tests or (known is not None and not known & kind):
            return []  # nothing to test, or the value cannot be of this kind
        lines: list[str] = []
        for test, problem in tests:
            if test:
                lines += [f"if {test}:", f"    return {problem!r}"]
            else:
                lines += problem.split("\n")
        if known is not None and known <= kind:
            return lines
        return [f"if {guard}:"] + ["    " + line for line in lines]


_KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "const",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "items",
        "required",
        "properties",
        "additionalProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    }
)


def compile_schema(schema: dict) -> tuple[Callable[[object], str | None], str]:
    """The validator of ``schema`` (returns the first problem found, or ``None``) and its
    generated source (the body of :data:`GENERATED`)."""
    source, constants, entry = _generate(schema)
    namespace: dict[str, Any] = {
        "_json_equal": _json_equal,
        "_unique": _unique,
        "_MISSING": _MISSING,
        **constants,
    }
    exec(compile(source, "<autotelemetry schema validator>", "exec"), namespace)
    return namespace[entry], source


def _generate(schema: dict) -> tuple[str, dict[str, object], str]:
    compiler = _Compiler(schema)
    entry = compiler.function(schema)
    source = "\n\n\n".join(compiler.functions) + "\n"
    return source, compiler.constants, entry


def _schema_text() -> str:
    return files("autotelemetry").joinpath("schema.json").read_text(encoding="utf-8")


def load_schema() -> dict:
    schema: dict = json.loads(_schema_text())
    return schema


def schema_digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The generated module: the schema compiled ahead of time, so that no command pays
#: for compiling it (~170M instructions) at start. ``make docs`` rewrites it; a test
#: fails when it is stale; a stale one is never used (the schema is compiled instead).
GENERATED = "autotelemetry/store/schema_check.py"


def generated_module(text: str) -> str:
    """The source of :data:`GENERATED` for the schema ``text``."""
    import inspect

    source, constants, entry = _generate(json.loads(text))
    lines = [
        '"""Generated from autotelemetry/schema.json by autotelemetry/store/validate.py'
        " (`make docs`): do not edit.",
        "",
        "``check(event)`` returns the first problem found (a short path and reason), or",
        "``None`` for a valid event.",
        '"""',
        "",
        "# mypy: ignore-errors",
        "import re",
        "",
        inspect.getsource(_json_equal).rstrip(),
        "",
        inspect.getsource(_unique).rstrip(),
        "",
        f"SCHEMA_SHA256 = {schema_digest(text)!r}",
        "_MISSING = object()",
    ]
    for name, value in constants.items():
        if isinstance(value, re.Pattern):
            lines.append(f"{name} = re.compile({value.pattern!r})")
        elif isinstance(value, frozenset):  # in a stable order: the file must not churn
            lines.append(f"{name} = frozenset({sorted(value, key=repr)!r})")
        else:
            lines.append(f"{name} = {value!r}")
    return "\n".join(lines) + "\n\n\n" + source + f"\n\ncheck = {entry}\n"


def _load() -> tuple[Callable[[object], str | None], str]:
    text = _schema_text()
    try:
        from autotelemetry.store import schema_check
    except Exception:  # missing, or broken: compile the schema instead
        schema_check = None  # type: ignore[assignment]
    digest = getattr(schema_check, "SCHEMA_SHA256", None)
    if digest == schema_digest(text) and callable(getattr(schema_check, "check", None)):
        return schema_check.check, "generated"
    return compile_schema(json.loads(text))[0], "compiled"


#: The published event schema, compiled (``HOW``: ``generated`` or ``compiled``).
problem, HOW = _load()


def main() -> None:
    """Rewrite :data:`GENERATED` from the package's schema.json."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    target = root / GENERATED
    text = generated_module(_schema_text())
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        print(f"updated {GENERATED}")


if __name__ == "__main__":
    main()


__all__ = [
    "GENERATED",
    "HOW",
    "UNSUPPORTED",
    "compile_schema",
    "generated_module",
    "load_schema",
    "loads",
    "problem",
]
