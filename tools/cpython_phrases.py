"""Generate :data:`autotelemetry.hook.privacy.PHRASES`: the words of CPython's own error texts.

A crash message keeps only text the program itself contains (docs/privacy.md). For
errors raised in C (``division by zero``, ``'NoneType' object has no attribute 'x'``)
that text is not in any Python code object: it is in CPython's C sources. This script
collects it, deliberately and only from places that make exception messages:

* the message literals of the calls that set an exception: ``PyErr_SetString``,
  ``PyErr_Format``, their ``_PyErr_*`` twins, ``_PyErr_FormatFromCause``,
  ``format_exc_check_arg``, ``_PyArg_BadArgument`` (argument clinic's type errors), the
  parser's ``RAISE_*`` macros;
* message macros (``#define NAME_ERROR_MSG "name '%.200s' is not defined"``: every
  ``#define`` whose name contains ``MSG`` or ``ERR`` and whose body is a string literal);
* the ``str()`` formats of the built-in exceptions (``PyUnicode_FromFormat`` in
  ``Objects/exceptions.c``: ``[Errno %S] %S: %R``, ``%S (%U, line %ld)``, ...);
* the names of the static types (``"NoneType"``, ``"builtin_function_or_method"``), which
  messages print as ``'%.200s' object ...``;
* the messages of ``importlib._bootstrap`` (``No module named``): CPython removes those
  frames from tracebacks, so their code is never on one.

Printf directives (``%.200s``, ``%zd``, ``%U``, ``%R``) are removed: they are where the
values go. A word glued to a directive (``argument%s``, the plural) also counts with an
``s``. Pure numbers are dropped. The remaining text is split into tokens exactly as
:func:`autotelemetry.hook.privacy.tokens` splits a message, lower-cased, and written as
string constants in ``privacy.py``, between markers (loaded from the ``.pyc``: nothing is
computed at crash time).

Plus the names in ``builtins`` (``len``, ``int``: messages quote them) and the
``os.strerror`` text and the name (``ENOENT``) of every errno of the machine
that runs this script (glibc on Linux, where the committed table was made); a crash on
another C library adds the wording of its own errors at crash time (only for the
errnos actually raised: asking for every text cost millions of instructions).

Usage (the CPython source trees used for the committed file are named in its header)::

    python tools/cpython_phrases.py Python-3.11.2 Python-3.13.5
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autotelemetry.hook import privacy  # noqa: E402

OUT = ROOT / "autotelemetry" / "hook" / "privacy.py"

#: Calls whose string-literal arguments are an exception's message (or part of it).
CALLS = (
    "PyErr_SetString",
    "PyErr_Format",
    "PyErr_FormatV",
    "_PyErr_SetString",
    "_PyErr_Format",
    "_PyErr_FormatV",
    "_PyErr_FormatFromCause",
    "_PyErr_FormatFromCauseTstate",
    "format_exc_check_arg",
    "_PyArg_BadArgument",
    "RAISE_SYNTAX_ERROR",
    "RAISE_INDENTATION_ERROR",
    "RAISE_SYNTAX_ERROR_KNOWN_LOCATION",
    "RAISE_SYNTAX_ERROR_KNOWN_RANGE",
    "RAISE_SYNTAX_ERROR_STARTING_FROM",
    "RAISE_SYNTAX_ERROR_INVALID_TARGET",
    "RAISE_ERROR_KNOWN_LOCATION",
)
#: Directories of a CPython tree scanned for C sources (third-party code inside excluded).
DIRS = ("Objects", "Python", "Modules", "Parser")
EXCLUDE = ("_decimal/libmpdec", "expat", "_ctypes/libffi", "_hacl", "cjkcodecs", "zlib")

_CALL = re.compile(r"\b(" + "|".join(CALLS) + r")\s*\(")
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_DEFINE = re.compile(r"^#\s*define\s+(\w*(?:MSG|ERR)\w*)\s+((?:[^\n]*\\\n)*[^\n]*)", re.M)
_TYPE_NAME = re.compile(
    r'(?:PyVarObject_HEAD_INIT\s*\([^()]*(?:\([^()]*\)[^()]*)*\)|\.tp_name\s*=|\.name\s*=)\s*"([\w.]+)"'
)
_DIRECTIVE = re.compile(
    r"%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|t|j)?[diouxXeEfFgGcrsaAUVSRTNpH]"
)


def _unescape(body: str) -> str:
    return re.sub(r"\\(n|t|r|\\|\"|'|x[0-9a-fA-F]{2}|[0-7]{1,3})", " ", body)


def _literals(args: str) -> str:
    """The string literals in ``args``: adjacent ones joined (C concatenation), others spaced."""
    out = []
    end = None
    for m in _LITERAL.finditer(args):
        between = args[end : m.start()] if end is not None else ""
        if end is not None and (between.strip() and between.strip() != "\\"):
            out.append(" ")
        out.append(_unescape(m.group(1)))
        end = m.end()
    return "".join(out)


def _call_args(text: str, start: int) -> str:
    """The argument text of the call whose ``(`` is at ``start - 1`` (strings respected)."""
    depth, i, n = 1, start, len(text)
    while i < n and depth:
        c = text[i]
        if c == '"':
            m = _LITERAL.match(text, i)
            i = m.end() if m else i + 1
            continue
        if c == "'":  # a char literal such as '(' must not count
            i = text.find("'", i + 2) + 1 if text[i + 1 : i + 2] == "\\" else i + 3
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        i += 1
    return text[start : i - 1]


def _words(fmt: str) -> set[str]:
    """The tokens of one message format, directives removed (plural forms added)."""
    out: set[str] = set()
    fmt = fmt.replace("%%", " ")
    for m in _DIRECTIVE.finditer(fmt):
        before = fmt[: m.start()]
        word = re.search(r"([A-Za-z]+)$", before)
        if word:
            out.add(word.group(1).lower() + ("s" if m.group().endswith("s") else ""))
    for token in privacy.tokens(_DIRECTIVE.sub(" ", fmt)):
        out.add(token.lower())
    return {t for t in out if not t.isdigit()}


def _c_file(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)  # comments never hold a message
    found: set[str] = set()
    for m in _CALL.finditer(text):
        found |= _words(_literals(_call_args(text, m.end())))
    for m in _DEFINE.finditer(text):
        found |= _words(_literals(m.group(2)))
    for m in _TYPE_NAME.finditer(text):
        found.add(m.group(1).rpartition(".")[2].lower())
    if path.name == "exceptions.c":
        for m in re.finditer(r"\bPyUnicode_FromFormat\s*\(", text):
            found |= _words(_literals(_call_args(text, m.end())))
    return found


def _python_raises(path: Path) -> set[str]:
    """String constants inside ``raise`` statements (f-strings: their literal parts)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found |= _words(sub.value.replace("%", "%%"))
    return found


def collect(tree: Path) -> set[str]:
    found: set[str] = set()
    for d in DIRS:
        for path in sorted((tree / d).rglob("*.[ch]")):
            rel = path.relative_to(tree).as_posix()
            if any(part in rel for part in EXCLUDE):
                continue
            found |= _c_file(path)
    for name in ("_bootstrap.py", "_bootstrap_external.py"):
        path = tree / "Lib" / "importlib" / name
        if path.exists():
            found |= _python_raises(path)
    return found


BEGIN = "# --- CPython's fixed error texts: generated by tools/cpython_phrases.py, do not edit ---"
END = "# --- end of the generated words ---"
BLOCK = """{begin}
#: CPython versions whose C sources were scanned for :data:`PHRASES`.
PHRASE_SOURCES = {versions}
#: CPython's own error-message words, lower-cased, by first character (one string per
#: character, a word per line: ``"\\n" + word + "\\n" in PHRASES[word[0]]``). Strings,
#: not a frozenset: a few dozen constants load in a few thousand instructions, where
#: a frozenset of the same words cost about six million at import.
PHRASES = {{
{body}
}}
{end}"""


def builtin_words() -> set[str]:
    """The names in ``builtins`` (``len``, ``int``, ``ExceptionGroup``) of this interpreter."""
    import builtins

    return {name.lower() for name in vars(builtins)}


def strerror_words() -> set[str]:
    import errno
    import os

    texts = []
    for code, name in errno.errorcode.items():
        texts += [name, os.strerror(code)]
    return _words(" ".join(texts).replace("%", "%%"))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    words: set[str] = set()
    versions = []
    for arg in argv:
        tree = Path(arg)
        versions.append(tree.name.replace("Python-", ""))
        words |= collect(tree)
    words |= strerror_words() | builtin_words()
    words = {w for w in words if 0 < len(w) <= 40 and "\\" not in w}
    by_first: dict[str, list[str]] = {}
    for w in sorted(words):
        by_first.setdefault(w[0], []).append(w)
    lines = []
    for first, group in sorted(by_first.items()):
        chunks, line = [], "\n"
        for w in group:
            if len(line) + len(w) + 1 > 80:
                chunks.append(line)
                line = ""
            line += w + "\n"
        chunks.append(line)
        rendered = [repr(c).replace("\\\\n", "\\n") for c in chunks]
        if len(rendered) == 1:
            lines.append(f"    {first!r}: {rendered[0]},")
        else:
            lines.append(f"    {first!r}: (")
            lines += [f"        {r}" for r in rendered]
            lines.append("    ),")
    block = BLOCK.format(
        begin=BEGIN, end=END, versions=repr(tuple(versions)), body="\n".join(lines)
    )
    text = OUT.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, found, tail = rest.partition(END)
    if not found:
        print(f"{OUT}: no generated block ({BEGIN!r} ... {END!r})", file=sys.stderr)
        return 1
    OUT.write_text(head + block + tail, encoding="utf-8")
    print(f"{len(words)} words from {', '.join(versions)} -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
