"""The event (schema version 1): ids, timestamps, environment fingerprint, encoding.

Runs inside the host CLI at exit, so it imports nothing the host has not already
loaded: ids come from ``os.urandom`` (no ``uuid``), time from ``time``, and events
are encoded by a small JSON writer (no ``json``: importing it measurably slowed a
minimal argparse CLI; see docs/performance.md). Readers (store, sender) use the
real ``json`` module.
"""

import os
import sys

from autotelemetry.hook import env

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

SCHEMA_VERSION = 1

#: Well-known CI variables, checked in order: (variable, provider).
CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github_actions"),
    ("GITLAB_CI", "gitlab"),
    ("CIRCLECI", "circleci"),
    ("TRAVIS", "travis"),
    ("BUILDKITE", "buildkite"),
    ("JENKINS_URL", "jenkins"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("TF_BUILD", "azure_pipelines"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket"),
    ("CODEBUILD_BUILD_ID", "aws_codebuild"),
    ("DRONE", "drone"),
    ("APPVEYOR", "appveyor"),
    ("SEMAPHORE", "semaphore"),
    ("BUILD_ID", "generic"),
)


def new_id() -> str:
    """A random (version 4) UUID string, without importing ``uuid``."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def rfc3339(epoch: float) -> str:
    """UTC timestamp with millisecond precision: ``2026-11-22T10:00:00.123Z``."""
    from time import gmtime, strftime

    millis = int(epoch * 1000) % 1000
    return strftime("%Y-%m-%dT%H:%M:%S", gmtime(epoch)) + ".%03dZ" % millis


#: The raw names (``env.RAW``) of every variable :func:`ci_provider` reads. Outside CI none
#: is set, and one C-level test says so (the built modules hold this tuple as a literal).
CI_KEYS = (*(variable.encode() for variable, _ in CI_PROVIDERS), b"CI")


def ci_provider(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "str | None":
    """The CI system this runs under, or ``None`` outside CI."""
    if environ is os.environ and env.RAW is not None and env.RAW.keys().isdisjoint(CI_KEYS):
        return None  # fifteen look-ups fewer (~35k instructions on Python 3.11)
    for variable, provider in CI_PROVIDERS:
        if env.get(variable, environ):
            return provider
    ci = (env.get("CI", environ) or "").strip().lower()
    if ci and ci not in ("0", "false", "no"):
        return "generic"
    return None


def _safe_token(value: str, limit: int = 32) -> str:
    """``value`` reduced to letters, digits and ``._-+`` (most values already are)."""
    plain = value.replace(".", "").replace("-", "").replace("_", "").replace("+", "")
    if value.isascii() and (plain.isalnum() or not plain):
        return value[:limit]
    kept = []
    for ch in value:
        if ch.isalnum() or ch in "._-+":
            kept.append(ch)
    return "".join(kept)[:limit]


def environment() -> "dict[str, object]":
    """The fingerprint every event carries. Nothing user-specific: no host or user names."""
    environ = os.environ
    if sys.platform == "win32":
        v = sys.getwindowsversion()
        os_name, os_version = "Windows", f"{v.major}.{v.minor}.{v.build}"
        arch = environ.get("PROCESSOR_ARCHITECTURE", "")
        shell = os.path.basename(environ.get("COMSPEC", ""))
    else:
        u = os.uname()
        os_name, os_version, arch = u.sysname, u.release, u.machine
        shell = os.path.basename(env.get("SHELL") or "")
    provider = ci_provider(environ)
    try:
        tty = os.isatty(0) and os.isatty(1)
    except OSError:
        tty = False
    return {
        "os": _safe_token(os_name),
        "os_version": _safe_token(os_version, 64),
        "arch": _safe_token(arch),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "ci": provider is not None,
        "ci_provider": provider,
        "shell": _safe_token(shell) or None,
        "tty": tty,
    }


_ESCAPES: "dict[int, str]" = {}


def dumps(value: "Any") -> str:
    """Compact JSON for the event's plain types (dict, list, str, int, float, bool, None).

    Exact type tests, most frequent first, and each dict item's plain value encoded
    in the loop itself: an event is a few dozen values, and a call per value was
    most of the ~0.2M instructions the first version of this writer cost an event.
    (The plain-string test is written out where it is used, not called, for the same
    reason.)
    """
    kind = type(value)
    if kind is str:
        if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            return '"' + value + '"'
        return '"' + _escaped(value) + '"'
    if kind is dict:
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                key = str(key)
            if not (key.isascii() and key.isprintable() and '"' not in key and "\\" not in key):
                key = _escaped(key)
            kind = type(item)
            if kind is str:
                if item.isascii() and item.isprintable() and '"' not in item and "\\" not in item:
                    parts.append('"' + key + '":"' + item + '"')
                    continue
                text = '"' + _escaped(item) + '"'
            elif item is None:
                text = "null"
            elif kind is bool:
                text = "true" if item else "false"
            elif kind is int:
                text = str(item)
            else:
                text = dumps(item)
            parts.append('"' + key + '":' + text)
        return "{" + ",".join(parts) + "}"
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is list or kind is tuple:
        parts = []
        for item in value:  # a loop, not a comprehension: one frame per level of nesting
            parts.append(dumps(item))
        return "[" + ",".join(parts) + "]"
    if kind is float:
        if value != value or value - value != 0.0:  # NaN, or an infinity
            return "null"
        return repr(value)
    if isinstance(value, int):  # an IntEnum, say (bool has no subclasses)
        return str(int(value))
    if isinstance(value, float):
        return dumps(float(value))
    if isinstance(value, str):
        try:
            text = str.__str__(value)  # its text, whatever its __str__ says
        except TypeError:  # a proxy that only claims to be a str (wrapt, werkzeug, Django)
            text = str(value)
        return dumps(text)
    if isinstance(value, dict):
        return dumps(dict(value.items()))  # its items() (a subclass may define them)
    if isinstance(value, (list, tuple)):
        return dumps(list(value))
    return dumps(str(value))


def _escaped(value: str) -> str:
    """``value``'s JSON escapes (the text between the quotes), for what the plain test refused."""
    if not _ESCAPES:
        table = dict(zip(range(0x20), map("\\u%04x".__mod__, range(0x20))))
        table.update({0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})
        # Lone surrogates (surrogate-escaped argv bytes) cannot be UTF-8 encoded.
        surrogates = range(0xD800, 0xE000)
        table.update(zip(surrogates, map("\\u%04x".__mod__, surrogates)))
        _ESCAPES.update(table)  # whole, at once: a thread never sees half the table
    return value.translate(_ESCAPES)


def dist_infos_named(listed: "Iterable[str]", normal: str) -> "list[str]":
    """The ``.dist-info`` entries of a directory listing whose name, lower-cased and with
    ``.`` as ``_``, starts with ``normal``, in listing order.

    One search of the joined listing in C, not a Python step per entry: a site-packages
    listing is as long as the environment is big (measured, 300 distributions: ~1M
    instructions less per crash than a sort by a key function)."""
    named = []
    joined = "\0" + "\0".join(listed)
    if joined.isascii():  # lower() and replace() keep every offset of an ASCII string
        key = joined.lower().replace(".", "_")
        start = key.find("\0" + normal)
        while start >= 0:
            end = joined.find("\0", start + 1)
            entry = joined[start + 1 : end] if end >= 0 else joined[start + 1 :]
            if entry[-10:] == ".dist-info":
                named.append(entry)
            start = key.find("\0" + normal, start + 1)
        return named
    for entry in listed:
        if entry[-10:] == ".dist-info" and entry.lower().replace(".", "_").startswith(normal):
            named.append(entry)
    return named


def _dist_info_version(names: "Iterable[str]", wanted: "list[str]") -> "str | None":
    """The version of a ``<name>-<version>.dist-info`` in ``names``, for the first wanted
    name (each already lower-cased, ``-`` and ``.`` as ``_``) that has one."""
    for normal in wanted:
        for entry in dist_infos_named(names, normal + "-"):
            version = entry[len(normal) + 1 : -10]
            if version:
                return version
    return None


def distribution_version(candidates: "list[str]") -> "str | None":
    """The installed version of the CLI, found without importing importlib.metadata.

    Tries each candidate (import package or program name): a ``__version__`` on
    an already-imported module, then a ``<name>-<version>.dist-info`` directory
    beside the package or in a site-packages directory on ``sys.path``.
    """
    wanted = []
    for name in candidates:
        if not name:
            continue
        top = name.split(".")[0]
        module = sys.modules.get(top)
        # The module's own dict, not getattr: a module ``__getattr__`` may warn
        # (Flask 3.1, Click 8.2 deprecate ``__version__``) on the host's stderr.
        version = getattr(module, "__dict__", {}).get("__version__")
        if isinstance(version, str) and len(version) < 64:
            return version
        normal = top.lower().replace("-", "_").replace(".", "_")
        if normal not in wanted:
            wanted.append(normal)
    if not wanted:
        return None
    dirs = []
    for name in candidates:
        module = sys.modules.get((name or "").split(".")[0])
        path = getattr(module, "__file__", None)
        if path:
            dirs.append(os.path.dirname(os.path.dirname(path)))
    for path in sys.path:
        if path.endswith("site-packages"):
            dirs.append(path)
    seen = set()
    for directory in dirs:
        if directory in seen:
            continue
        seen.add(directory)
        # The import system has listed the directory already (its FileFinder's
        # cache of names): look there first, and list it ourselves only if needed.
        cached = getattr(sys.path_importer_cache.get(directory), "_path_cache", None)
        version = _dist_info_version(cached, wanted) if isinstance(cached, set) else None
        if version is None:
            try:
                version = _dist_info_version(os.listdir(directory), wanted)
            except OSError:
                continue
        if version is not None:
            return version
    return None
