"""Who is recorded: the allowlists read, checked and matched.

Read when a framework loads inside a host CLI whose name an allowlist source
mentions (:func:`identity.unlisted` spares every other program this module):
``os`` and ``sys`` only (``fnmatch`` only when a pattern is a glob), the files of
:func:`identity.allowlist_files` read through the trusted open
(:mod:`autotelemetry.hook.fs`: an open, an ``fstat`` and a read each), no settings
parsed. A program that is not allowlisted costs this module and nothing else.
"""

import os

from autotelemetry.hook import boot, env, fs, identity, namespace

TYPE_CHECKING = False

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+*?[]!")

if TYPE_CHECKING:
    from typing import Protocol

    class AllowEntry(Protocol):
        """One allowlist pattern, where it came from (``source:line``), and the
        subcommand patterns it excludes (``mycli !deploy !db:drop*``)."""

        pattern: str
        #: A file path or "AUTOTELEMETRY_ALLOW".
        source: str
        #: 0 for the environment variable.
        line: int
        #: Subcommand globs, levels joined by ":".
        excludes: tuple[str, ...]

    class Allowlist(Protocol):
        """Every effective entry, the problems met while reading, the files consulted."""

        entries: list[AllowEntry]
        problems: list[str]
        files: list[str]


def entry(pattern: str, source: str, line: int, excludes: "tuple[str, ...]" = ()) -> "AllowEntry":
    """An :class:`AllowEntry` record."""
    return namespace.Record(pattern=pattern, source=source, line=line, excludes=tuple(excludes))


def pattern_problem(text: str) -> "str | None":
    """Why a pattern is unusable, or ``None``."""
    if "/" in text or "\\" in text:
        return "looks like a path; use the program name (the file's basename)"
    if not set(text) <= _NAME_CHARS:
        return "contains characters that cannot appear in a program name"
    return None


def _read_allowlist_file(path: str, allowlist: "Allowlist", shared: bool) -> None:
    try:
        data = fs.read_file(path, identity.LIMIT, shared)
    except OSError as exc:
        why = exc.strerror if exc.errno == fs.REFUSED else f"cannot be read ({exc.strerror})"
        allowlist.problems.append(f"{path}: {why}, ignored")
        return
    if data is None:
        return
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *rest = line.split()
        why = pattern_problem(pattern)
        if why:
            allowlist.problems.append(f"{path}:{number}: {pattern!r} skipped: {why}")
            continue
        excludes = []
        for token in rest:
            if token[:1] == "!" and len(token) > 1:
                excludes.append(token[1:])
            else:
                allowlist.problems.append(
                    f"{path}:{number}: {token!r} ignored: after the program name only "
                    "'!SUBCOMMAND' exclusions are allowed"
                )
        allowlist.entries.append(entry(pattern, path, number, tuple(excludes)))


def load_allowlist(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "Allowlist":
    """Read every allowlist source; bad lines are skipped and reported, never fatal."""
    files = identity.allowlist_files(environ)
    allowlist: "Allowlist" = namespace.Record(entries=[], problems=[], files=files)
    for i, path in enumerate(files):
        # Shared (root or the effective user may own it): AUTOTELEMETRY_ALLOWLIST (the
        # only file) or the per-environment one (first of two); the per-user one is ours.
        _read_allowlist_file(path, allowlist, i + 1 < len(files) or len(files) == 1)
    for item in (env.get("AUTOTELEMETRY_ALLOW", environ) or "").split(","):
        item = item.strip()
        if not item:
            continue
        why = pattern_problem(item)
        if why:
            allowlist.problems.append(f"AUTOTELEMETRY_ALLOW: {item!r} skipped: {why}")
        else:
            allowlist.entries.append(entry(item, "AUTOTELEMETRY_ALLOW", 0))
    return allowlist


def matches(pattern: str, name: str) -> bool:
    """Case-sensitive shell-style glob; ``tool.py`` also matches ``tool``."""
    candidates = identity.candidates(name)
    if identity.GLOB_CHARS.isdisjoint(pattern):
        return pattern in candidates
    from fnmatch import fnmatchcase

    for candidate in candidates:
        if fnmatchcase(candidate, pattern):
            return True
    return False


def is_allowlisted(name: "str | None", allowlist: "Allowlist") -> "AllowEntry | None":
    """The entry that allowlists ``name``, or ``None``."""
    if not name or name in identity.NEVER:
        return None
    for entry in allowlist.entries:
        if matches(entry.pattern, name):
            return entry
    return None


def excluded(command: str, program: str, allowlist: "Allowlist | None" = None) -> "str | None":
    """The exclusion (``!PATTERN``) that drops the event of ``command``, or ``None``.

    ``command`` is the event's command (``"mycli db migrate"``); a pattern
    matches the subcommand path below the program, levels joined by ``:``
    (``db:migrate``), or any leading part of it: ``!db`` drops ``db migrate``.
    Exclusions of every allowlist entry that matches the program apply.
    """
    if allowlist is None:
        allowlist = current_allowlist()
    excludes: "list[str]" = []
    for e in allowlist.entries:
        if e.excludes and matches(e.pattern, program):
            excludes.extend(e.excludes)
    if not excludes:
        return None
    words = command.split(" ")[1:]
    if not words:
        return None
    from fnmatch import fnmatchcase

    for depth in range(1, len(words) + 1):
        path = ":".join(words[:depth])
        for pattern in excludes:
            if fnmatchcase(path, pattern):
                return pattern
    return None


_allow_cache: "list[Allowlist]" = []


def current_allowlist() -> "Allowlist":
    """The allowlist of this process, read once."""
    if not _allow_cache:
        _allow_cache.append(load_allowlist())
    return _allow_cache[0]


_listing: "list[AllowEntry | str | None]" = []


def listing() -> "AllowEntry | str | None":
    """Why this program may be recorded (its allowlist entry, or "autotelemetry run"),
    or ``None`` when it is not: the first decision, made once per process."""
    if not _listing:
        name = identity.program()
        entry: "AllowEntry | str | None" = None
        if name is not None and name not in identity.NEVER:
            if boot.state["forced"]:
                entry = "autotelemetry run"
            else:
                entry = is_allowlisted(name, current_allowlist())
        _listing.append(entry)
    return _listing[0]
