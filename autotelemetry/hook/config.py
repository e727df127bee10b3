"""The settings of this process: every option's value, and where it came from.

Every value is read against the option table (:mod:`autotelemetry.hook.options`), by
the parser of option values (:mod:`autotelemetry.hook.values`).
Settings that config files may hold (``enabled``, ``endpoint``, ...) follow this
precedence, highest first: kill switches (DO_NOT_TRACK, AUTOTELEMETRY_DISABLED)
> their AUTOTELEMETRY_* variables > the per-environment file
(``<sys.prefix>/etc/autotelemetry/config.toml``) > the per-user file
(``<home>/config.toml``) > defaults. One exception, for consent: ``enabled =
false`` from any source wins over ``true`` from any other. Environment-only
options (timeouts, caps, debug) are read by :func:`values.value`. See
docs/configuration.md.

Hot path (an allowlisted CLI): when no config file exists (the common case, one
``stat`` per missing file) the defaults and the environment apply here and
:mod:`autotelemetry.hook.configfile` (the TOML reader) is never imported; when no
setting's variable is set either, neither is the parser of option values (the option
table itself never is: the wheel's built modules hold the columns they need).
"""

import os
import sys

from autotelemetry.hook import allowlist, env, event, handover, identity, namespace

CONFIG_FILE = "config.toml"

#: The option table's columns the settings need (``options.setting_columns``): every
#: setting a config file may hold and its default; each setting's ``(name, variable)``;
#: the settings a ``[cli.NAME]`` table may hold. The wheel's built modules hold them as
#: literals (tools/amalgamate.py folds this line), so an instrumented run never loads the
#: table: unmarshalling and building it cost every run ~0.5M instructions
#: (docs/performance.md).
DEFAULTS, SETTING_VARIABLES, PER_CLI_KEYS = handover.lazy("options").setting_columns()


def flag(value: "str | None") -> bool:
    """``values.flag``, without loading the parser: how the hot path reads the debug switch,
    the kill switches and the per-CLI opt-outs (a test holds the two to one answer). Not in
    ``env``: the hand-over module, which every process that imports a framework loads."""
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")


#: The raw names (``env.RAW``) of every variable :func:`apply_environment` reads: when none
#: is set (the common case) the defaults stand after one C-level test instead of a look-up
#: per variable (~60k instructions on Python 3.11). Folded at build time, as the columns.
SETTING_KEYS = tuple(
    variable.encode()
    for variable in (
        *(v for _, v in SETTING_VARIABLES),
        *handover.lazy("options").OTEL_ENDPOINTS,
        *handover.lazy("options").KILL_SWITCHES,
    )
)


def debug_enabled() -> bool:
    return flag(env.get("AUTOTELEMETRY_DEBUG"))


def debug(message: str) -> None:
    """One line on stderr, in debug mode only (AUTOTELEMETRY_DEBUG)."""
    if debug_enabled():
        sys.stderr.write("autotelemetry: " + message + "\n")


def config_files(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "list[str]":
    """The per-environment and per-user config files, highest precedence first."""
    return [
        os.path.join(identity.env_config_dir(), CONFIG_FILE),
        os.path.join(identity.home_dir(environ), CONFIG_FILE),
    ]


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Settings(Protocol):
        """Effective settings, where each came from, and per-CLI overrides."""

        #: Each setting's value and the source that set it ("default", a file, a variable).
        values: dict[str, object]
        sources: dict[str, str]
        #: (pattern, key, value, source) of ``[cli.NAME]`` tables, highest precedence first.
        clis: list[tuple[str, str, object, str]]
        problems: list[str]
        #: The config files consulted, highest precedence first.
        files: list[str]
        #: Precedence of each config file (higher wins); variables rank 3, defaults 0.
        ranks: dict[str, int]


def new_settings(files: "list[str] | tuple[str, ...]" = ()) -> "Settings":
    """The defaults, before any source applies (see :class:`Settings`)."""
    files = list(files)
    return namespace.Record(
        values=dict(DEFAULTS),
        sources=dict.fromkeys(DEFAULTS, "default"),
        clis=[],
        problems=[],
        files=files,
        ranks=dict(zip(files, (2, 1))),
    )


def _rank(settings: "Settings", source: str) -> int:
    return settings.ranks.get(source, 3 if source.startswith("AUTOTELEMETRY_") else 0)


def for_cli(settings: "Settings", name: "str | None", key: str) -> "tuple[object, str]":
    """(value, source) of ``key`` for the program ``name``.

    Sources keep their precedence; within one file, ``[cli.NAME]`` beats the
    file's top level. ``enabled = false`` anywhere wins.
    """
    value, source = settings.values[key], settings.sources[key]
    if key == "enabled":
        if value is False:
            return value, source
        for pattern, k, v, src in settings.clis:
            if k == key and v is False and name and allowlist.matches(pattern, name):
                return False, src + f" [cli.{pattern}]"
        return value, source
    for pattern, k, v, src in settings.clis:
        if k != key or not name or not allowlist.matches(pattern, name):
            continue
        if _rank(settings, src) >= _rank(settings, source):
            return v, src + f" [cli.{pattern}]"
    return value, source


def apply_environment(
    settings: "Settings", environ: "dict[str, str] | os._Environ[str]" = os.environ
) -> None:
    """The top of the precedence: setting variables, then the kill switches.

    When none of their variables is set (the common case) one C-level test decides and
    nothing else runs; otherwise the parser of option values applies them
    (``values.apply_variables``).
    """
    if environ is os.environ and env.RAW is not None and env.RAW.keys().isdisjoint(SETTING_KEYS):
        return
    handover.lazy("values").apply_variables(settings, environ)


def load_settings(
    environ: "dict[str, str] | os._Environ[str]" = os.environ,
    files: "list[str] | None" = None,
) -> "Settings":
    """Read every source afresh and apply the precedence (never raises).

    ``files`` are the config files, highest precedence first (default:
    :func:`config_files`).
    """
    if files is None:
        files = config_files(environ)
    for path in files:
        # os.access: no exception raised for a missing file (a symlink to a file counts:
        # the reader refuses it). A file this process cannot even see (a parent it may
        # not search) counts as missing here; ``status`` and ``doctor`` read every file
        # through :mod:`autotelemetry.hook.configfile`, which reports it.
        if os.access(path, os.F_OK):
            return handover.lazy("configfile").load_settings(environ, files)
    settings = new_settings(files)
    apply_environment(settings, environ)
    return settings


_cached: "list[Settings]" = []


def current_settings() -> "Settings":
    """The settings of this process, read once."""
    if not _cached:
        _cached.append(load_settings())
    return _cached[0]


def opt_out_variable(name: str) -> str:
    """``MYCLI_NO_TELEMETRY`` for ``mycli``: upper-cased, each non-alphanumeric
    character replaced by ``_``; a ``.py`` suffix is dropped first (``tool.py``
    → ``TOOL_NO_TELEMETRY``)."""
    if name.endswith(".py"):
        name = name[:-3]
    upper = name.upper()
    if not (upper.isascii() and upper.replace("_", "").isalnum()):  # most names are
        chars = []
        for ch in upper:
            chars.append(ch if ch.isalnum() and ch.isascii() else "_")
        upper = "".join(chars)
    return upper + "_NO_TELEMETRY"


def skip_reason(
    name: str,
    settings: "Settings",
    environ: "dict[str, str] | os._Environ[str]" = os.environ,
    forced: bool = False,
) -> "str | None":
    """Why an allowlisted (or `autotelemetry run`) program records nothing, or ``None``.

    Disable and the per-CLI opt-out bind every run; the CI policy and sampling
    do not apply to an explicit `autotelemetry run`.
    """
    enabled, source = for_cli(settings, name, "enabled")
    if enabled is False:
        return f"disabled by {source}"
    variable = opt_out_variable(name)
    if flag(env.get(variable, environ)):
        return f"{variable} is set"
    if forced:
        return None
    if settings.values["ci"] == "skip":
        provider = event.ci_provider(environ)
        if provider is not None:
            return f"CI ({provider}) and ci = skip ({settings.sources['ci']})"
    rate, source = for_cli(settings, name, "sample_rate")
    if rate < 1.0:  # type: ignore[operator]
        draw = int.from_bytes(os.urandom(4), "big") / 4294967296.0
        if draw >= rate:  # type: ignore[operator]
            return f"sampled out (sample_rate {rate} from {source})"
    return None
