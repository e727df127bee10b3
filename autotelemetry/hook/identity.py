"""Who is running, where its state and its allowlists live, and the quick "no".

The first thing asked when a framework loads inside a host CLI, for every program
in the environment that imports Click, Typer or argparse. Most of them are not
allowlisted: :func:`unlisted` tells them so from the raw bytes of the allowlist
sources, and they never load the allowlist reader (:mod:`autotelemetry.hook.allowlist`,
its trusted open and its parser: ~16 KB of byte-code, ~0.55M instructions, measured
in docs/performance.md). ``os`` and ``sys`` only.
"""

import os
import stat
import sys

from autotelemetry.hook import boot, env

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

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


#: The allowlist reader's size limit for one file (:func:`allowlist._read_allowlist_file`).
LIMIT = 1 << 20

#: The characters that make an allowlist pattern a glob (:func:`allowlist.matches`).
GLOB_CHARS = frozenset("*?[")
_GLOB_BYTES = tuple(map(str.encode, GLOB_CHARS))


def candidates(name: str) -> "tuple[str, ...]":
    """The names an allowlist pattern is matched against: ``tool.py`` is also ``tool``.

    One rule for the reader (:func:`allowlist.matches`) and the quick "no"
    (:func:`unlisted`), which is sound only while both use it.
    """
    return (name, name[:-3]) if name.endswith(".py") else (name,)


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def unlisted() -> bool:
    """Whether this process is surely not recorded, known without the allowlist reader.

    ``True`` only when there is no program name (``python -c``), the program is
    one of :data:`NEVER`, or it was not started by ``autotelemetry run`` and no
    allowlist source (``AUTOTELEMETRY_ALLOW``, each file of :func:`allowlist_files`,
    whoever owns it) contains the program's name or a glob character: then no
    entry can match (a plain pattern equals the name, a glob has ``*?[``), and the
    reader would answer ``None`` too. Anything else (a glob, a file that is not a
    regular one, unreadable or over the size limit) is doubt: ``False``, and the
    reader decides, with its trust checks. A test holds the two to agreeing.
    """
    name = program()
    if name is None or name in NEVER:
        return True
    if boot.state["forced"]:
        return False
    names = []
    for each in candidates(name):
        names.append(each.encode("utf-8", "surrogateescape"))
    if _mentions((env.get("AUTOTELEMETRY_ALLOW") or "").encode("utf-8", "surrogateescape"), names):
        return False
    for path in allowlist_files():
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode) or status.st_size > LIMIT:
                return False
            if _mentions(os.read(fd, status.st_size + 1), names):
                return False
        except OSError:
            return False
        finally:
            os.close(fd)
    return True


def _mentions(text: bytes, names: "list[bytes]") -> bool:
    """Whether an allowlist source's bytes could hold an entry matching one of ``names``."""
    for each in _GLOB_BYTES:
        if each in text:
            return True
    for each in names:
        if each in text:
            return True
    return False
