"""Shared by the leaky_* CLIs: put every value a program holds into crash messages.

A CLI (argparse, Click or Typer, beside this module) parses its command line and
calls :func:`crash` with every value it parsed. The values, the environment's
``LEAKY_ENV``, and the lines of the file named by ``LEAKY_FILE`` (secrets among
them) are each put into a message in every way of :data:`TRANSFORMS` (or those
named in ``LEAKY_TRANSFORMS``), and each
message is raised in a thread of its own (``threading.excepthook``: the real crash
path, one event per case, a distinct exception class per case so the rate limit
keeps them all). Then one last exception, built from several of them, ends the
program uncaught (the main-thread crash path).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import urllib.parse


def _(cls: type, *args: object) -> tuple[type, tuple[object, ...]]:
    return cls, args


def _half(v: str) -> str:
    return v[: len(v) // 2] + "\n" + v[len(v) // 2 :]


#: name -> function of a value returning (exception class, arguments).
TRANSFORMS = {
    "plain": lambda v: _(ValueError, f"cannot parse section {v}: expected a table of settings"),
    "repr": lambda v: _(ValueError, f"cannot parse section {v!r}: expected a table of settings"),
    "upper": lambda v: _(LookupError, f"unknown profile {v.upper()} in the configuration"),
    "lower": lambda v: _(LookupError, f"unknown profile {v.lower()} in the configuration"),
    "title": lambda v: _(LookupError, f"unknown profile {v.title()} in the configuration"),
    "url": lambda v: _(
        ConnectionError,
        f"request failed: https://api.example.org/items?q={urllib.parse.quote(v)}&page=2",
    ),
    "url_plus": lambda v: _(ConnectionError, f"bad query {urllib.parse.quote_plus(v)}"),
    "base64": lambda v: _(ValueError, f"bad token {base64.b64encode(v.encode()).decode()}"),
    "base64_url": lambda v: _(
        ValueError, f"bad token {base64.urlsafe_b64encode(v.encode()).decode()}"
    ),
    "lines": lambda v: _(SyntaxError, f"parse error near\n{_half(v)}\nend of input"),
    "substring": lambda v: _(ValueError, f"prefix {v[2:8]} is ambiguous"),
    "glued": lambda v: _(ValueError, f"item-{v}-missing and x{v}y"),
    "dirname": lambda v: _(PermissionError, f"cannot create directory {os.path.dirname(v)}"),
    "abspath": lambda v: _(FileNotFoundError, f"no such file {os.path.abspath(v)}"),
    "key": lambda v: _(KeyError, v),
    "oserror": lambda v: _(FileNotFoundError, 2, os.strerror(2), v),
    "json": lambda v: _(ValueError, json.dumps({"name": v, "ok": True})),
    "dict": lambda v: _(TypeError, str({"name": v, "count": 3})),
    "list": lambda v: _(TypeError, str([v, 1, None])),
    "percent": lambda v: _(ValueError, "value %s out of range" % v),
    "comma": lambda v: _(ValueError, f"unknown fields: {','.join(['id', v, 'name'])}"),
    "kv": lambda v: _(ValueError, f"bad setting mode={v} in section main"),
    "hex": lambda v: _(ValueError, f"checksum mismatch {v.encode().hex()}"),
    "args": lambda v: _(RuntimeError, "several", v, 3),
}


def _raise(exc: BaseException) -> None:
    raise exc


#: What a secret read from a file goes through (a typed value goes through every one).
SECRET_TRANSFORMS = ("plain", "repr", "upper", "lines", "url", "json", "kv")


def program_values() -> "tuple[list[str], list[str]]":
    """What the program holds that it did not parse: (environment and file markers, secrets).

    ``LEAKY_FILE`` holds entries separated by blank lines: the first is an ordinary
    value, the others are secrets.
    """
    values, secrets = [], []
    if os.environ.get("LEAKY_ENV"):
        values.append(os.environ["LEAKY_ENV"])
    path = os.environ.get("LEAKY_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            entries = [e for e in f.read().split("\n\n") if e.strip()]
        values += entries[:1]
        secrets += entries[1:]
    return values, secrets


def crash(framework: str, parsed: list[str]) -> None:
    values, secrets = program_values()
    values = [v for v in parsed if isinstance(v, str) and v] + values
    names = os.environ.get("LEAKY_TRANSFORMS", "").split(",")
    chosen = [n for n in TRANSFORMS if n in names] or list(TRANSFORMS)
    work = [(v, n) for v in values for n in chosen]
    work += [(v, n) for v in secrets for n in SECRET_TRANSFORMS if n in chosen or not names[0]]
    for case, (value, name) in enumerate(work):
        base, args = TRANSFORMS[name](value)
        # One class per case: its own fingerprint, so no case is rate-limited away.
        exc = type(f"{framework.title()}Case{case}Error", (base,), {})(*args)
        worker = threading.Thread(target=_raise, args=(exc,))
        worker.start()
        worker.join()
    print(f"{framework}: {len(work)} cases", file=sys.stderr)
    picked = "; ".join(str(TRANSFORMS[n](v)[1][0]) for v in values for n in ("plain", "repr", "kv"))
    # Per framework: Click's and Typer's in-app frames are alike, one fingerprint.
    gave_up = type(f"{framework.title()}GaveUp", (RuntimeError,), {})
    raise gave_up(f"giving up after {len(work)} errors: {picked}")
