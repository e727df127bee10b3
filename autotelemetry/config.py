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

from autotelemetry._boot import FALSE, disabled_reason

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


def pattern_problem(text: str) -> "str | None":
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
        why = pattern_problem(item)
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


def is_true(value: "str | None") -> bool:
    """Shared reading of boolean environment variables (``1``, ``true``, ``yes``, ``on``)."""
    return value is not None and value.strip().lower() not in FALSE


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
# The names and the Settings object live here; reading files and applying the
# precedence is autotelemetry.settings, imported only when a file exists or a
# variable is set. A missing file costs one ``os.stat``; ``tomllib`` is imported
# only for TOML beyond the subset config files use.

CONFIG_FILE = "config.toml"

#: Every setting and its default.
DEFAULTS = {
    "enabled": True,
    "endpoint": None,
    "protocol": "otlp",
    "sample_rate": 1.0,
    "ci": "record",
    "crash_messages": True,
    "export_traceparent": False,
}

#: The environment variable that sets each setting for one run.
ENV_VARIABLES = {
    "endpoint": "AUTOTELEMETRY_ENDPOINT",
    "protocol": "AUTOTELEMETRY_PROTOCOL",
    "sample_rate": "AUTOTELEMETRY_SAMPLE_RATE",
    "ci": "AUTOTELEMETRY_CI",
    "crash_messages": "AUTOTELEMETRY_CRASH_MESSAGES",
    "export_traceparent": "AUTOTELEMETRY_EXPORT_TRACEPARENT",
}

#: OpenTelemetry's endpoint variables: consent to send like AUTOTELEMETRY_ENDPOINT, but
#: below every source of ours (docs/delivery.md). The sender resolves the rest of OTEL_*.
OTEL_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
#: Wire formats: `otlp` (OTLP/HTTP, encoding from OTEL_EXPORTER_OTLP_PROTOCOL, else
#: protobuf), the two OTLP encodings by name, and `json` (the webhook).
PROTOCOLS = ("otlp", "http/protobuf", "http/json", "json")


def config_files(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "list[str]":
    """The per-environment and per-user config files, highest precedence first."""
    return [
        os.path.join(env_config_dir(), CONFIG_FILE),
        os.path.join(home_dir(environ), CONFIG_FILE),
    ]


class Settings:
    """Effective settings, where each came from, and per-CLI overrides."""

    __slots__ = ("clis", "files", "problems", "ranks", "sources", "values")

    def __init__(self, files: "list[str] | tuple[str, ...]" = ()) -> None:
        self.values: dict[str, object] = dict(DEFAULTS)
        self.sources: dict[str, str] = {key: "default" for key in DEFAULTS}
        #: (pattern, key, value, source), highest precedence first.
        self.clis: list[tuple[str, str, object, str]] = []
        self.problems: list[str] = []
        #: The config files consulted, highest precedence first.
        self.files: list[str] = list(files)
        #: Precedence of each config file (higher wins); variables rank 3, defaults 0.
        self.ranks: dict[str, int] = dict(zip(self.files, (2, 1)))

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


def coerce(key: str, value: object) -> "tuple[object, str | None]":
    """(value, None) when ``value`` is valid for ``key``, else (None, why)."""
    if key in ("enabled", "crash_messages", "export_traceparent"):
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
        if isinstance(value, str) and value.strip().lower() in PROTOCOLS:
            return value.strip().lower(), None
        return None, "must be one of " + ", ".join(PROTOCOLS)
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


def apply_environment(
    settings: Settings, environ: "dict[str, str] | os._Environ[str]" = os.environ
) -> None:
    """The top of the precedence: setting variables, then the kill switches."""
    for key, variable in ENV_VARIABLES.items():
        raw = environ.get(variable)
        if raw is None:
            continue
        value, why = coerce(key, raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values[key] = value
        settings.sources[key] = variable
    if settings.sources["endpoint"] == "default":
        _otel_endpoint(settings, environ)
    # Only the kill switches count here (a completion run is not "disabled"), and
    # disabled_reason() scans every variable name: ask it only when one is set.
    if "AUTOTELEMETRY_DISABLED" in environ or "DO_NOT_TRACK" in environ:
        reason = disabled_reason(environ)
        if reason is not None and not reason.startswith("shell"):
            settings.values["enabled"] = False
            settings.sources["enabled"] = reason.split()[0]


def _otel_endpoint(settings: Settings, environ: "dict[str, str] | os._Environ[str]") -> None:
    """The fallback endpoint from OpenTelemetry's variables (none of ours set one).

    When none is set: three look-ups in the environment's bytes dictionary (no
    decoding, no KeyError). ``OTEL_SDK_DISABLED=true`` turns the fallback off (as it
    turns off an OpenTelemetry SDK); recording stays on.
    """
    raw = getattr(environ, "_data", None) if os.name == "posix" else None
    if raw is not None and not (
        b"OTEL_EXPORTER_OTLP_ENDPOINT" in raw
        or b"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT" in raw
        or b"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in raw
    ):
        return
    for variable in OTEL_ENDPOINTS:
        raw = environ.get(variable)
        if not raw:
            continue
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return
        value, why = coerce("endpoint", raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values["endpoint"] = value
        settings.sources["endpoint"] = variable
        return


_cached: "list[Settings]" = []


def current_settings() -> Settings:
    """The settings of this process, read once.

    Hot path: when no config file exists (the common case, one ``stat`` per
    missing file) the defaults and the environment apply here and
    :mod:`autotelemetry.settings` (the TOML reader) is never imported, also
    when the endpoint comes from ``AUTOTELEMETRY_ENDPOINT``.
    """
    if not _cached:
        files = config_files()
        if _any_exists(files):
            from autotelemetry.settings import load_settings

            _cached.append(load_settings(files=files))
        else:
            settings = Settings(files)
            apply_environment(settings)
            _cached.append(settings)
    return _cached[0]


def _any_exists(paths: "list[str]") -> bool:
    for path in paths:
        try:
            os.stat(path)
        except FileNotFoundError:
            continue
        except OSError:
            pass
        return True  # exists (or cannot tell): read it properly
    return False


#: Names that moved to :mod:`autotelemetry.settings`; still reachable as ``config.X``.
_SETTINGS_NAMES = frozenset(
    {"PER_CLI_KEYS", "load_settings", "parse_toml_subset", "read_config_file"}
)


def __getattr__(name: str) -> object:
    if name in _SETTINGS_NAMES:
        from autotelemetry import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        from autotelemetry.recorder import ci_provider

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
