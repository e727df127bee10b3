"""Where state lives, which programs are allowlisted, and the knobs that decide it.

This module is imported on the hot path (when a framework loads inside a host
CLI), so it imports ``os`` and ``sys`` only (no ``typing``, no ``__future__``:
annotations are strings); ``fnmatch`` is imported only when an allowlist entry
contains a glob. Everything here is a pure function of the environment and
two small files, so `autotelemetry status`/`doctor` show exactly what the hook
decided and why.
"""

import os
import sys

from autotelemetry._boot import disabled_reason, is_true

__all__ = [
    "AllowEntry",
    "Allowlist",
    "allowlist_files",
    "debug_enabled",
    "disabled_reason",
    "env_config_dir",
    "home_dir",
    "is_allowlisted",
    "is_true",
    "load_allowlist",
    "matches",
    "program_name",
]

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
    home = environ.get("AUTOTELEMETRY_HOME")
    if home:
        return os.path.abspath(home)
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "autotelemetry")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/autotelemetry")
    base = environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "autotelemetry")


def env_config_dir() -> str:
    """Per-environment configuration: inside the venv, so it ships with it."""
    return os.path.join(sys.prefix, "etc", "autotelemetry")


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


class AllowEntry(tuple):
    """One allowlist pattern and where it came from (``source:line``)."""

    __slots__ = ()

    def __new__(cls, pattern: str, source: str, line: int) -> "AllowEntry":
        return tuple.__new__(cls, (pattern, source, line))

    pattern = property(lambda self: self[0])
    source = property(lambda self: self[1])  # a file path or "AUTOTELEMETRY_ALLOW"
    line = property(lambda self: self[2])  # 0 for the environment variable


class Allowlist:
    """Every effective entry, the problems met while reading, the files consulted."""

    __slots__ = ("entries", "files", "problems")

    def __init__(self) -> None:
        self.entries: list[AllowEntry] = []
        self.problems: list[str] = []
        self.files: list[str] = []


def _pattern_problem(text: str) -> "str | None":
    """Why a pattern is unusable, or ``None``."""
    if "/" in text or "\\" in text:
        return "looks like a path; use the program name (the file's basename)"
    if not set(text) <= _NAME_CHARS:
        return "contains characters that cannot appear in a program name"
    return None


def _read_allowlist_file(path: str, allowlist: Allowlist) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return
    except OSError as exc:
        allowlist.problems.append(f"{path}: cannot be read ({exc.strerror})")
        return
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o002:
            allowlist.problems.append(f"{path}: world-writable, ignored (chmod o-w to trust it)")
            return
        if st.st_size > 1 << 20:
            allowlist.problems.append(f"{path}: larger than 1 MiB, ignored")
            return
        data = os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern = line.split()[0]
        why = _pattern_problem(pattern)
        if why:
            allowlist.problems.append(f"{path}:{number}: {pattern!r} skipped: {why}")
        else:
            allowlist.entries.append(AllowEntry(pattern, path, number))


def allowlist_files(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "list[str]":
    """``AUTOTELEMETRY_ALLOWLIST`` alone when set; else the per-environment file
    (``<sys.prefix>/etc/autotelemetry/allowlist``) and the per-user file
    (``<home>/allowlist``)."""
    explicit = environ.get("AUTOTELEMETRY_ALLOWLIST")
    if explicit:
        return [os.path.abspath(explicit)]
    return [
        os.path.join(env_config_dir(), "allowlist"),
        os.path.join(home_dir(environ), "allowlist"),
    ]


def load_allowlist(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> Allowlist:
    """Read every allowlist source; bad lines are skipped and reported, never fatal."""
    allowlist = Allowlist()
    allowlist.files = allowlist_files(environ)
    for path in allowlist.files:
        _read_allowlist_file(path, allowlist)
    for item in environ.get("AUTOTELEMETRY_ALLOW", "").split(","):
        item = item.strip()
        if not item:
            continue
        why = _pattern_problem(item)
        if why:
            allowlist.problems.append(f"AUTOTELEMETRY_ALLOW: {item!r} skipped: {why}")
        else:
            allowlist.entries.append(AllowEntry(item, "AUTOTELEMETRY_ALLOW", 0))
    return allowlist


def matches(pattern: str, name: str) -> bool:
    """Case-sensitive shell-style glob; ``tool.py`` also matches ``tool``."""
    candidates = (name, name[:-3]) if name.endswith(".py") else (name,)
    if _GLOB_CHARS.isdisjoint(pattern):
        return pattern in candidates
    from fnmatch import fnmatchcase

    return any(fnmatchcase(candidate, pattern) for candidate in candidates)


def is_allowlisted(name: "str | None", allowlist: Allowlist) -> "AllowEntry | None":
    """The entry that allowlists ``name``, or ``None``."""
    if not name or name in NEVER:
        return None
    for entry in allowlist.entries:
        if matches(entry.pattern, name):
            return entry
    return None


def debug_enabled() -> bool:
    return is_true(os.environ.get("AUTOTELEMETRY_DEBUG"))


class UnsafeStateDir(OSError):
    """A state directory we refuse to use (a symlink, or owned by someone else)."""


def ensure_private_dir(path: str) -> str:
    """Create ``path`` (and parents) as 0700 if missing, then check it is safe.

    A directory that is a symlink or owned by another user is refused rather than
    followed: another account could otherwise read or plant our files.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    import stat as _stat

    if _stat.S_ISLNK(st.st_mode):
        raise UnsafeStateDir(f"{path} is a symlink; refusing to follow it")
    if not _stat.S_ISDIR(st.st_mode):
        raise UnsafeStateDir(f"{path} exists and is not a directory")
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        raise UnsafeStateDir(f"{path} is owned by another user (uid {st.st_uid})")
    if st.st_mode & 0o077 and getuid is not None:
        os.chmod(path, 0o700)
    return path
