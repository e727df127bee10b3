"""Who is recorded: the program's name, the allowlists, and where state lives.

The first thing decided when a framework loads inside a host CLI, for every
program in the environment that imports Click, Typer or argparse, so it is
small and cheap: ``os`` and ``sys`` only (``fnmatch`` only when a pattern is a
glob), two small files read through the trusted open (:mod:`autotelemetry.hook.fs`:
an open, an ``fstat`` and a read each), no settings parsed. A program that is not
allowlisted costs this module and nothing else.
"""

import os
import sys

from autotelemetry.hook import boot, env, fs, namespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

_GLOB_CHARS = frozenset("*?[")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+*?[]!")

#: Programs that are never instrumented, whatever the allowlist says.
NEVER = frozenset({"autotelemetry", "autotelemetry.cli", "autotelemetry.sender"})


def home_dir(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> str:
    """Root of all per-user state: spool, store, ids, user config.

    ``AUTOTELEMETRY_HOME`` wins; otherwise the platform's per-user state dir
    (``$XDG_STATE_HOME/autotelemetry``, default ``~/.local/state/autotelemetry``;
    ``~/Library/Application Support/autotelemetry`` on macOS;
    ``%LOCALAPPDATA%\\autotelemetry`` on Windows).
    """
    home = env.get("AUTOTELEMETRY_HOME", environ)
    if home:
        return os.path.abspath(home)
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA", environ) or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "autotelemetry")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/autotelemetry")
    base = env.get("XDG_STATE_HOME", environ) or os.path.expanduser("~/.local/state")
    return os.path.join(base, "autotelemetry")


def env_config_dir() -> str:
    """Per-environment configuration: inside the venv, so it ships with it."""
    return os.path.join(sys.prefix, "etc", "autotelemetry")


def _runpy_module_name() -> "str | None":
    """The module of ``python -m MOD`` while runpy is still importing its package.

    Before runpy has set up ``__main__`` (while ``pkg/__init__.py`` runs),
    ``sys.argv[0]`` is just ``-m``; runpy's frame holds the module name. The
    frame is recognised by its code object, ``runpy._run_module_as_main.__code__``
    (the interpreter imported runpy to run ``-m``), never by file name: runpy is
    frozen since 3.11 (``<frozen runpy>``).
    """
    runner = getattr(sys.modules.get("runpy"), "_run_module_as_main", None)
    target = getattr(runner, "__code__", None)
    if target is None:
        return None
    frame: "FrameType | None" = sys._getframe(1)
    while frame is not None:
        if frame.f_code is target:
            name = frame.f_locals.get("mod_name")
            if isinstance(name, str) and name:
                return name[: -len(".__main__")] if name.endswith(".__main__") else name
            return None
        frame = frame.f_back
    return None


def program_name() -> "str | None":
    """The program as the user ran it.

    ``python -m pkg`` → ``pkg``; a console script → its file name (``mycli``;
    ``mycli.exe`` → ``mycli``); a script → its file name (``tool.py``).
    ``None`` for ``python -c``, stdin and the REPL, which are never instrumented.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name:
        if name.endswith(".__main__"):
            name = name[: -len(".__main__")]
        return name
    argv = getattr(sys, "argv", None)
    if not argv or not argv[0] or argv[0] in ("-c", "-m", "-"):
        return None
    base = os.path.basename(argv[0])
    lower = base.lower()
    for suffix in ("-script.pyw", "-script.py", ".exe"):
        if lower.endswith(suffix):
            return base[: -len(suffix)]
    return base or None


_program: "list[str | None]" = []


def program() -> "str | None":
    """The name this process is recorded under, decided once (see :func:`program_name`).

    While runpy still imports the package of ``python -m pkg`` (its
    ``__init__`` imports the framework), ``sys.argv[0]`` is just ``-m``: the
    module name is then read from runpy's frame.
    """
    if not _program:
        name = program_name()
        if name is None and sys.argv[:1] == ["-m"]:
            name = _runpy_module_name()
        _program.append(name)
    return _program[0]


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
        data = fs.read_file(path, 1 << 20, shared)
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


def allowlist_files(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "list[str]":
    """``AUTOTELEMETRY_ALLOWLIST`` alone when set; else the per-environment file
    (``<sys.prefix>/etc/autotelemetry/allowlist``) and the per-user file
    (``<home>/allowlist``)."""
    explicit = env.get("AUTOTELEMETRY_ALLOWLIST", environ)
    if explicit:
        return [os.path.abspath(explicit)]
    return [
        os.path.join(env_config_dir(), "allowlist"),
        os.path.join(home_dir(environ), "allowlist"),
    ]


def load_allowlist(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "Allowlist":
    """Read every allowlist source; bad lines are skipped and reported, never fatal."""
    files = allowlist_files(environ)
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
    candidates = (name, name[:-3]) if name.endswith(".py") else (name,)
    if _GLOB_CHARS.isdisjoint(pattern):
        return pattern in candidates
    from fnmatch import fnmatchcase

    return any(fnmatchcase(candidate, pattern) for candidate in candidates)


def is_allowlisted(name: "str | None", allowlist: "Allowlist") -> "AllowEntry | None":
    """The entry that allowlists ``name``, or ``None``."""
    if not name or name in NEVER:
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
    excludes = [
        x
        for e in allowlist.entries
        if e.excludes and matches(e.pattern, program)
        for x in e.excludes
    ]
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
        name = program()
        entry: "AllowEntry | str | None" = None
        if name is not None and name not in NEVER:
            if boot.state["forced"]:
                entry = "autotelemetry run"
            else:
                entry = is_allowlisted(name, current_allowlist())
        _listing.append(entry)
    return _listing[0]
