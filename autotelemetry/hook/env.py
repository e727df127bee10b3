"""Reading the process environment cheaply.

``os.environ.get(name)`` runs Python code that encodes the name, looks it up and
decodes the value, and for a variable that is not set (most of the ones we
ask about) raises and catches a ``KeyError``: several thousand instructions a
lookup, and an instrumented run makes dozens. On POSIX the environment is a
dict of bytes underneath (``os.environ._data``, updated by every change made
through ``os.environ``), where a lookup is one C call.

Functions that take an ``environ`` mapping (for tests and for ``status``) pass
it through; the fast path is used only for the real ``os.environ``.
"""

import os
import sys

#: The environment's raw bytes dictionary (POSIX), or ``None``: a C-level test of many
#: names at once (``RAW.keys().isdisjoint(names)``) where one look-up each would cost more.
RAW = getattr(os.environ, "_data", None) if os.name == "posix" else None
_CODEC = sys.getfilesystemencoding()


def get(name: str, environ: "object" = os.environ) -> "str | None":
    """``environ.get(name)``: the variable's value, or ``None`` when it is not set."""
    if environ is os.environ and RAW is not None:
        value = RAW.get(name.encode(_CODEC, "surrogateescape"))
        return None if value is None else value.decode(_CODEC, "surrogateescape")
    return environ.get(name)  # type: ignore[attr-defined]


def has(name: str, environ: "object" = os.environ) -> bool:
    """Whether the variable ``name`` is set."""
    if environ is os.environ and RAW is not None:
        return name.encode(_CODEC, "surrogateescape") in RAW
    return name in environ  # type: ignore[operator]
