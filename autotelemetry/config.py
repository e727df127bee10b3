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
    """One allowlist pattern, where it came from (``source:line``), and the
    subcommand patterns it excludes (``mycli !deploy !db:drop*``)."""

    __slots__ = ()

    def __new__(
        cls, pattern: str, source: str, line: int, excludes: "tuple[str, ...]" = ()
    ) -> "AllowEntry":
        return tuple.__new__(cls, (pattern, source, line, tuple(excludes)))

    pattern = property(lambda self: self[0])
    source = property(lambda self: self[1])  # a file path or "AUTOTELEMETRY_ALLOW"
    line = property(lambda self: self[2])  # 0 for the environment variable
    excludes = property(lambda self: self[3])  # subcommand globs, levels joined by ":"


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
        if st.st_mode & 0o170000 != 0o100000:
            allowlist.problems.append(f"{path}: not a regular file, ignored")
            return
        if st.st_mode & 0o002:
            allowlist.problems.append(f"{path}: world-writable, ignored (chmod o-w to trust it)")
            return
        if st.st_size > 1 << 20:
            allowlist.problems.append(f"{path}: larger than 1 MiB, ignored")
            return
        data = os.read(fd, st.st_size + 1)
    except OSError as exc:
        allowlist.problems.append(f"{path}: cannot be read ({exc.strerror})")
        return
    finally:
        os.close(fd)
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *rest = line.split()
        why = _pattern_problem(pattern)
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
        allowlist.entries.append(AllowEntry(pattern, path, number, tuple(excludes)))


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


# --- settings: config files, environment, precedence ---------------------------
#
# Precedence, highest first: kill switches (DO_NOT_TRACK, AUTOTELEMETRY_DISABLED)
# > other AUTOTELEMETRY_* variables > the per-environment file
# (<sys.prefix>/etc/autotelemetry/config.toml) > the per-user file
# (<home>/config.toml) > defaults. One exception, for consent: ``enabled = false``
# from any source wins over ``true`` from any other. See docs/configuration.md.
# A missing file costs one ``os.stat``; a file is parsed only when it exists,
# and ``tomllib`` is imported only for TOML beyond the subset config files use.

CONFIG_FILE = "config.toml"

#: Every setting and its default.
DEFAULTS = {
    "enabled": True,
    "endpoint": None,
    "protocol": "otlp",
    "sample_rate": 1.0,
    "ci": "record",
    "crash_messages": True,
}

#: The environment variable that sets each setting for one run.
ENV_VARIABLES = {
    "endpoint": "AUTOTELEMETRY_ENDPOINT",
    "protocol": "AUTOTELEMETRY_PROTOCOL",
    "sample_rate": "AUTOTELEMETRY_SAMPLE_RATE",
    "ci": "AUTOTELEMETRY_CI",
    "crash_messages": "AUTOTELEMETRY_CRASH_MESSAGES",
}

#: Keys allowed in a ``[cli.NAME]`` table.
PER_CLI_KEYS = ("enabled", "sample_rate")

_MAX_CONFIG_BYTES = 1 << 20


def config_files(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "list[str]":
    """The per-environment and per-user config files, highest precedence first."""
    return [
        os.path.join(env_config_dir(), CONFIG_FILE),
        os.path.join(home_dir(environ), CONFIG_FILE),
    ]


def _coerce(key: str, value: object) -> "tuple[object, str | None]":
    """(value, None) when ``value`` is valid for ``key``, else (None, why)."""
    if key in ("enabled", "crash_messages"):
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True, None
            if text in ("0", "false", "no", "off"):
                return False, None
        return None, "must be true or false"
    if key == "sample_rate":
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return None, "must be a number from 0 to 1"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
            return float(value), None
        return None, "must be a number from 0 to 1"
    if key == "protocol":
        if isinstance(value, str) and value.strip().lower() in ("otlp", "json"):
            return value.strip().lower(), None
        return None, "must be 'otlp' or 'json'"
    if key == "ci":
        if isinstance(value, str) and value.strip().lower() in ("record", "skip"):
            return value.strip().lower(), None
        return None, "must be 'record' or 'skip'"
    if key == "endpoint":
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None, None  # empty: local only
            if text.startswith(("http://", "https://")):
                return text, None
        return None, "must be an http:// or https:// URL"
    return None, "unknown setting"


def _parse_toml(text: str) -> "dict[str, object]":
    """Parse TOML: the small subset parser first, ``tomllib`` for anything beyond it.

    ``tomllib`` imports ``typing``, ``datetime`` and more, which no host CLI
    should pay for: config files use only the subset (tables, strings,
    numbers, booleans), parsed here with nothing imported. Anything else is
    handed to ``tomllib`` where the stdlib has it (3.11+), so valid TOML is
    never rejected; on 3.9/3.10 it is reported as malformed.
    """
    try:
        return parse_toml_subset(text)
    except ValueError:
        if sys.version_info < (3, 11):
            raise
    import tomllib

    return tomllib.loads(text)


def _toml_string(text: str, i: int, number: int) -> "tuple[str, int]":
    """A basic (``"..."``) or literal (``'...'``) string starting at ``text[i]``."""
    quote = text[i]
    out = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and quote == '"':
            i += 1
            esc = text[i : i + 1]
            simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
            if esc in simple:
                out.append(simple[esc])
            elif esc in ("u", "U"):
                width = 4 if esc == "u" else 8
                try:
                    out.append(chr(int(text[i + 1 : i + 1 + width], 16)))
                except ValueError:
                    raise ValueError(f"line {number}: bad unicode escape") from None
                i += width
            else:
                raise ValueError(f"line {number}: bad escape \\{esc}")
        else:
            out.append(ch)
        i += 1
    raise ValueError(f"line {number}: unterminated string")


def _toml_key(text: str, number: int) -> "list[str]":
    """A dotted key (``cli."my.tool"``) as its parts."""
    parts = []
    i, text = 0, text.strip()
    while i < len(text):
        if text[i] in "\"'":
            part, i = _toml_string(text, i, number)
        else:
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            part, i = text[i:j], j
            if not part:
                raise ValueError(f"line {number}: invalid key")
        parts.append(part)
        rest = text[i:].lstrip()
        if not rest:
            break
        if rest[0] != ".":
            raise ValueError(f"line {number}: invalid key")
        text, i = rest[1:].lstrip(), 0
    if not parts:
        raise ValueError(f"line {number}: empty key")
    return parts


def parse_toml_subset(text: str) -> "dict[str, object]":
    """The TOML our config files need, for Pythons without ``tomllib`` (3.9, 3.10).

    Tables (``[cli.mycli]``), ``key = value`` with strings, integers, floats and
    booleans, comments. Anything else raises ``ValueError("line N: ...")``,
    which is reported as a malformed file, exactly as a ``tomllib`` error is.
    """
    root: "dict[str, object]" = {}
    table = root
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            end = line.find("]")
            if line.startswith("[[") or end < 0 or line[end + 1 :].split("#", 1)[0].strip():
                raise ValueError(f"line {number}: invalid table header")
            table = root
            for part in _toml_key(line[1:end], number):
                nxt = table.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise ValueError(f"line {number}: {part!r} is not a table")
                table = nxt
            continue
        key_text, eq, value_text = line.partition("=")
        if not eq:
            raise ValueError(f"line {number}: expected 'key = value'")
        keys = _toml_key(key_text, number)
        value_text = value_text.strip()
        if value_text[:1] in ("'", '"'):
            value, end = _toml_string(value_text, 0, number)
            trailing = value_text[end:].strip()
        else:
            token = value_text.partition("#")[0]
            token, trailing = token.strip(), ""
            if token in ("true", "false"):
                value = token == "true"
            else:
                try:
                    value = int(token.replace("_", ""))
                except ValueError:
                    try:
                        value = float(token.replace("_", ""))
                    except ValueError:
                        raise ValueError(f"line {number}: unsupported value {token!r}") from None
        if trailing and trailing[0] != "#":
            raise ValueError(f"line {number}: unexpected text after the value")
        target = table
        for part in keys[:-1]:
            target = target.setdefault(part, {})  # type: ignore[assignment]
            if not isinstance(target, dict):
                raise ValueError(f"line {number}: {part!r} is not a table")
        if keys[-1] in target:
            raise ValueError(f"line {number}: duplicate key {keys[-1]!r}")
        target[keys[-1]] = value
    return root


def read_config_file(path: str, problems: "list[str]") -> "dict[str, object] | None":
    """The parsed file, or ``None`` when it is missing or unusable (then why, in ``problems``)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror}), ignored")
        return None
    if st.st_mode & 0o170000 != 0o100000:
        problems.append(f"{path}: not a regular file, ignored")
        return None
    if st.st_mode & 0o002:
        problems.append(f"{path}: world-writable, ignored (chmod o-w to trust it)")
        return None
    if st.st_size > _MAX_CONFIG_BYTES:
        problems.append(f"{path}: larger than 1 MiB, ignored")
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror}), ignored")
        return None
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text, ignored")
        return None
    try:
        return _parse_toml(text)
    except Exception as exc:  # tomllib.TOMLDecodeError or ours
        problems.append(f"{path}: malformed TOML, ignored ({exc})")
        return None


class Settings:
    """Effective settings, where each came from, and per-CLI overrides."""

    __slots__ = ("clis", "files", "problems", "ranks", "sources", "values")

    def __init__(self) -> None:
        self.values: dict[str, object] = dict(DEFAULTS)
        self.sources: dict[str, str] = {key: "default" for key in DEFAULTS}
        #: (pattern, key, value, source), highest precedence first.
        self.clis: list[tuple[str, str, object, str]] = []
        self.problems: list[str] = []
        self.files: list[str] = []
        #: Precedence of each config file (higher wins); variables rank 3, defaults 0.
        self.ranks: dict[str, int] = {}

    def rank(self, source: str) -> int:
        return self.ranks.get(source, 3 if source.startswith("AUTOTELEMETRY_") else 0)

    def for_cli(self, name: "str | None", key: str) -> "tuple[object, str]":
        """(value, source) of ``key`` for the program ``name``.

        Sources keep their precedence; within one file, ``[cli.NAME]`` beats the
        file's top level. ``enabled = false`` anywhere wins.
        """
        value, source = self.values[key], self.sources[key]
        if key == "enabled":
            if value is False:
                return value, source
            for pattern, k, v, src in self.clis:
                if k == key and v is False and name and matches(pattern, name):
                    return False, src + f" [cli.{pattern}]"
            return value, source
        for pattern, k, v, src in self.clis:
            if k != key or not name or not matches(pattern, name):
                continue
            if self.rank(src) >= self.rank(source):
                return v, src + f" [cli.{pattern}]"
        return value, source


def load_settings(
    environ: "dict[str, str] | os._Environ[str]" = os.environ,
    files: "list[str] | None" = None,
) -> Settings:
    """Read every source and apply the documented precedence. Never raises."""
    settings = Settings()
    files = config_files(environ) if files is None else files
    settings.files = list(files)
    for rank, path in zip((2, 1), files):
        settings.ranks[path] = rank
    # Lowest precedence first, so each later source overrides.
    for path in reversed(files):
        data = read_config_file(path, settings.problems)
        if not data:
            continue
        for key, value in data.items():
            if key == "cli":
                if not isinstance(value, dict):
                    settings.problems.append(f"{path}: 'cli' must be a table of [cli.NAME] tables")
                    continue
                for pattern, table in value.items():
                    if not isinstance(table, dict):
                        settings.problems.append(f"{path}: [cli.{pattern}] must be a table")
                        continue
                    for k, v in table.items():
                        if k not in PER_CLI_KEYS:
                            settings.problems.append(
                                f"{path}: [cli.{pattern}] {k!r} ignored: only "
                                + ", ".join(PER_CLI_KEYS)
                                + " can be set per CLI"
                            )
                            continue
                        v, why = _coerce(k, v)
                        if why:
                            settings.problems.append(f"{path}: [cli.{pattern}] {k} {why}, ignored")
                        else:
                            settings.clis.insert(0, (pattern, k, v, path))
                continue
            if key not in DEFAULTS:
                settings.problems.append(f"{path}: unknown setting {key!r} ignored")
                continue
            value, why = _coerce(key, value)
            if why:
                settings.problems.append(f"{path}: {key} {why}, ignored")
                continue
            if key == "enabled" and settings.values["enabled"] is False and value:
                continue  # false wins
            settings.values[key] = value
            settings.sources[key] = path
    for key, variable in ENV_VARIABLES.items():
        raw = environ.get(variable)
        if raw is None:
            continue
        value, why = _coerce(key, raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values[key] = value
        settings.sources[key] = variable
    reason = disabled_reason(environ)
    if reason is not None and not reason.startswith("shell"):
        settings.values["enabled"] = False
        settings.sources["enabled"] = reason.split()[0]
    return settings


_cached: "list[Settings]" = []


def current_settings() -> Settings:
    """The settings of this process, read once (hot path: one stat per missing file)."""
    if not _cached:
        _cached.append(load_settings())
    return _cached[0]


def opt_out_variable(name: str) -> str:
    """``MYCLI_NO_TELEMETRY`` for ``mycli``: upper-cased, each non-alphanumeric
    character replaced by ``_``; a ``.py`` suffix is dropped first (``tool.py``
    → ``TOOL_NO_TELEMETRY``)."""
    if name.endswith(".py"):
        name = name[:-3]
    return "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in name.upper()) + (
        "_NO_TELEMETRY"
    )


def skip_reason(
    name: str,
    settings: Settings,
    environ: "dict[str, str] | os._Environ[str]" = os.environ,
    forced: bool = False,
) -> "str | None":
    """Why an allowlisted (or `autotelemetry run`) program records nothing, or ``None``.

    Disable and the per-CLI opt-out bind every run; the CI policy and sampling
    do not apply to an explicit `autotelemetry run`.
    """
    enabled, source = settings.for_cli(name, "enabled")
    if enabled is False:
        return f"disabled by {source}"
    variable = opt_out_variable(name)
    if is_true(environ.get(variable)):
        return f"{variable} is set"
    if forced:
        return None
    if settings.values["ci"] == "skip":
        from autotelemetry.event import ci_provider

        provider = ci_provider(environ)
        if provider is not None:
            return f"CI ({provider}) and ci = skip ({settings.sources['ci']})"
    rate, source = settings.for_cli(name, "sample_rate")
    if rate < 1.0:  # type: ignore[operator]
        draw = int.from_bytes(os.urandom(4), "big") / 4294967296.0
        if draw >= rate:  # type: ignore[operator]
            return f"sampled out (sample_rate {rate} from {source})"
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


def current_allowlist() -> Allowlist:
    """The allowlist of this process, read once."""
    if not _allow_cache:
        _allow_cache.append(load_allowlist())
    return _allow_cache[0]
