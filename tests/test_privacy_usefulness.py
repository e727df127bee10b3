"""Usefulness suite (issue 13): the positive rule keeps the program's own text.

Messages made of text the program contains (string constants, f-string literals,
names in its code, CPython's fixed error texts for errors raised in C) must keep at
least 90% of their program-text tokens through :func:`privacy.message`, the same
function the crash path calls. Each case declares the tokens that are values (a
formatted number, a string built at run time); every other token of its message is
program text and is counted. The measured figure is printed (``-s``) and recorded
in docs/privacy.md.

A few cases also run for real: a crashing CLI through the real ``.pth``, whose
stored message must be exactly the expected one.
"""

from __future__ import annotations

import base64
import configparser
import datetime
import decimal
import io
import ipaddress
import json
import math
import os
import re
import shlex
import struct
import subprocess
import sys
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, Runner, counted_as_program, run_script

sys.path.insert(0, str(ROOT))  # the pure module under test, from this checkout

from autotelemetry.hook import privacy

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture(autouse=True)
def _this_module_is_the_program():
    with counted_as_program(__file__):
        yield


#: Built at run time: as one token, no constant of this module holds it.
RUNTIME = "".join(["qz", "vw", "xk", "jh"])
FIVE = 5
NOTHING = None


class Config:
    def __init__(self) -> None:
        self.name = "main"


def _takes_two(a: object, b: object) -> None:
    pass


def _recurse(n: int) -> int:
    return _recurse(n + 1)


def _cases():  # type: ignore[no-untyped-def]
    """(label, callable that raises, value tokens of its message)."""
    return [
        ("f-string", lambda: _parse(RUNTIME), [RUNTIME]),
        ("constant", lambda: _fail("the pretend database is locked"), []),
        ("KeyError constant", lambda: {"a": 1}["missing_config_key"], []),
        ("KeyError data", lambda: {"a": 1}[RUNTIME], [RUNTIME]),
        ("division", lambda: 1 / 0, []),
        ("float division", lambda: 1.5 / 0, []),
        ("modulo", lambda: 7 % 0, []),
        ("ENOENT constant", lambda: open("/etc/autotelemetry-test/missing.conf"), []),
        ("ENOENT data", lambda: open(f"/srv/{RUNTIME}/{RUNTIME}.csv"), [RUNTIME, RUNTIME]),
        ("EISDIR", lambda: open("/"), []),
        ("EEXIST", lambda: os.mkdir("/"), []),
        ("None attribute", lambda: None.x, []),  # type: ignore[attr-defined]
        ("class attribute", lambda: Config().missing_attr, []),  # type: ignore[attr-defined]
        ("str attribute", lambda: "abc".foo, []),  # type: ignore[attr-defined]
        ("module attribute", lambda: os.nonexistent_thing, []),  # type: ignore[attr-defined]
        ("subscript", lambda: FIVE[0], []),  # type: ignore[index]
        ("index", lambda: [][3], []),
        ("pop list", lambda: [].pop(), []),
        ("int literal", lambda: int("abc"), ["10"]),
        ("int literal data", lambda: int(RUNTIME), [RUNTIME, "10"]),
        ("operand", lambda: 1 + "a", []),  # type: ignore[operator]
        ("concatenate", lambda: "a" + 1, []),  # type: ignore[operator]
        ("compare", lambda: 1 < "a", []),  # type: ignore[operator]
        ("len", lambda: len(5), []),  # type: ignore[arg-type]
        ("iterable", lambda: iter(None), []),  # type: ignore[call-overload]
        ("callable", lambda: NOTHING(), []),  # type: ignore[misc]
        ("unhashable", lambda: {[]: 1}, []),
        ("name", lambda: undefined_name_here, []),  # type: ignore[name-defined]  # noqa: F821
        ("positional", lambda: _takes_two(1, 2, 3), []),  # type: ignore[call-arg]
        ("keyword", lambda: _takes_two(1, b=2, z=3), []),  # type: ignore[call-arg]
        ("unpack", lambda: _unpack([1, 2, 3]), []),
        ("module", lambda: __import__("nonexistent_module_for_test"), []),
        ("encoding", lambda: "abc".encode("nonexistent-encoding"), []),
        ("decode", lambda: b"\xff".decode("utf-8"), ["0xff", "0"]),
        ("math domain", lambda: math.sqrt(-1), []),
        ("math range", lambda: math.exp(1000), []),
        ("substring", lambda: "abc".index("z"), []),
        ("json decode", lambda: json.loads(""), ["1", "1", "0"]),
        ("json encode", lambda: json.dumps(object()), []),
        ("strptime", lambda: datetime.datetime.strptime("x", "%Y"), []),
        ("recursion", lambda: _recurse(0), []),
        ("assert", lambda: _check([1, 2]), ["2"]),
        # errors raised inside the stdlib, in Python or in C
        ("subprocess", lambda: subprocess.run(["false"], check=True), ["1"]),
        ("ipaddress", lambda: ipaddress.ip_address("not-an-address"), []),
        ("shlex", lambda: shlex.split('say "hello'), []),
        ("configparser", lambda: configparser.ConfigParser().get("server", "port"), []),
        ("int base", lambda: int("1", base=99), []),
        ("float", lambda: float("abc"), []),
        ("decimal", lambda: decimal.Decimal("abc"), []),
        ("struct", lambda: struct.unpack("i", b""), ["4"]),
        ("regex", lambda: re.compile("(ab"), ["0"]),
        ("date", lambda: datetime.date(2020, 13, 1), []),
        ("join", lambda: ",".join([1]), ["0"]),  # type: ignore[list-item]
        ("sorted", lambda: sorted([1, "a"]), []),  # type: ignore[type-var]
        ("closed file", _closed_file, []),
        ("zipfile", lambda: zipfile.ZipFile(io.BytesIO(b"x")), []),
        ("b64decode", lambda: base64.b64decode("abc"), []),
        ("fromhex", lambda: bytes.fromhex("zz"), ["0"]),
        ("uuid", lambda: uuid.UUID("abc"), []),
        ("chdir", lambda: os.chdir("/nonexistent-autotelemetry-test"), []),
    ]


def _parse(v: str) -> None:
    raise ValueError(f"cannot parse section {v!r}: expected a table of settings")


def _fail(text: str) -> None:
    raise RuntimeError(text)


def _unpack(items: list[int]) -> None:
    first, second = items
    print(first, second)


def _closed_file() -> None:
    f = io.StringIO()
    f.close()
    f.write("x")


def _check(items: list[int]) -> None:
    assert len(items) == 3, f"expected 3 items, got {len(items)}"


def _sanitised(exc: BaseException) -> str:
    # As privacy.exception_message does, without this test process's own argv.
    vocabulary = privacy.vocabulary(exc, exc.__traceback__)
    return privacy.message(str(exc), vocabulary=vocabulary, typed=privacy.Typed([], {}))


def measure() -> tuple[int, int, list[str]]:
    kept = total = 0
    losses = []
    for label, fn, values in _cases():
        try:
            fn()
        except Exception as exc:
            text = str(exc)
            out = _sanitised(exc)
        else:
            raise AssertionError(f"{label}: did not raise")
        program = Counter(t.lower() for t in privacy.tokens(text))
        program.subtract(Counter(v.lower() for v in values))
        program = +program
        survived = Counter(t.lower() for t in privacy.tokens(out))
        case_kept = sum(min(n, survived[t]) for t, n in program.items())
        kept += case_kept
        total += sum(program.values())
        if case_kept < sum(program.values()):
            losses.append(f"{label}: {text!r} -> {out!r}")
        if RUNTIME in values:  # and the value built at run time did not survive
            assert RUNTIME not in out, (label, out)
    return kept, total, losses


def test_program_text_survives():
    kept, total, losses = measure()
    ratio = kept / total
    print(f"\nusefulness: {kept}/{total} program-text tokens kept ({ratio:.1%})")
    for loss in losses:
        print("  lost some:", loss)
    assert total > 150
    assert ratio >= 0.9, losses


REAL = [
    ("none_attr", "'NoneType' object has no attribute 'x'"),
    ("divide", "division by zero"),
    ("open_missing", "[Errno 2] No such file or directory: '/<value>/settings.toml'"),
    ("parse_section", "cannot parse section '<value>': expected a table of settings"),
    ("config_key", "'missing_config_key'"),
]


@pytest.mark.parametrize("kind,expected", REAL, ids=[k for k, _ in REAL])
def test_real_crash_keeps_program_text(run: Runner, kind, expected):
    (run.home / "allowlist").write_text("useful_crash.py\n")
    out = run_script(run, str(SCRIPTS / "useful_crash.py"), kind, f"{RUNTIME}-typed")
    assert out.returncode == 1, out.stderr
    command, crash = run.events()
    assert (command["type"], command["status"], crash["type"]) == ("command", "crash", "crash")
    assert crash["exception"]["message"] == expected
    # the script itself and the module beside it are the application, after the
    # interpreter has already dropped __main__.__file__
    assert [f["in_app"] for f in crash["exception"]["frames"]][-2:] == [True, True]
    assert {f["file"] for f in crash["exception"]["frames"][-2:]} == {
        "useful_crash.py",
        "useful_helpers.py",
    }
