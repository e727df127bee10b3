"""The option table: every knob of autotelemetry, in one place.

Each option (a row of :data:`OPTIONS`) says what a setting is called, which environment variable
sets it, whether a ``config.toml`` may set it (and per CLI), its kind, default
and one line of documentation. :mod:`autotelemetry.hook.config` reads every
value through this table (:func:`coerce` is the one parser of every kind),
``autotelemetry status`` and ``doctor`` show it, and the tables in
docs/configuration.md are generated from it (a test keeps them in step).

Host side: runs inside users' CLIs, but not on an instrumented run's usual path: the
settings read only the columns :func:`setting_columns` derives, which the wheel's built
modules hold as literals (tools/amalgamate.py), and the table itself loads only when a
variable or a config file sets something (``handover.lazy("options")``). So the code that
needs the table lives here too: reading an environment-only option (:func:`value`), the
settings' variables once one is set (:func:`apply_variables`), why telemetry is off
(:func:`disabled_reason`). It imports only ``os``.
"""

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

    from autotelemetry.hook.config import Settings

    Option = tuple[str, "str | None", str, object, bool, bool, tuple[str, ...], str]


#: The fields of an option (a row of :data:`OPTIONS`), by position. Rows are plain
#: tuples: a class and an instance per option would cost every instrumented run
#: ~0.3M instructions more (docs/design.md).
NAME: "Final" = 0
VARIABLE: "Final" = 1
KIND: "Final" = 2
DEFAULT: "Final" = 3
FILE: "Final" = 4
PER_CLI: "Final" = 5
CHOICES: "Final" = 6
DOC: "Final" = 7
#: ``VARIABLE``: the environment variable that sets it for one run (None: files only);
#: ``KIND``: one of :data:`KINDS`; ``FILE``: settable in config.toml (per environment
#: and per user); ``PER_CLI``: settable in a ``[cli.NAME]`` table; ``CHOICES``: the
#: words a "choice" accepts; ``DOC``: one line for the docs and ``status``.

#: What each kind accepts (also the "type" column of the docs).
KINDS = {
    "bool": "true or false (1/0, yes/no, on/off)",
    "flag": "set to anything but 0/false/no/off (or empty) to turn on",
    "rate": "a number from 0 to 1",
    "url": "an http:// or https:// URL",
    "choice": "one of the listed words",
    "seconds": "a number of seconds greater than 0",
    "seconds0": "a number of seconds, 0 or more",
    "count": "a whole number greater than 0",
    "path": "a file or directory path",
    "signals": "a comma-separated list of logs and traces",
    "text": "free text",
}

MIB = 1 << 20
DAY = 86400

OPTIONS: "tuple[Option, ...]" = (
    # (name, variable, kind, default, file, per_cli, choices, doc)
    # --- settings: environment variable and config.toml -------------------------------
    (
        "enabled",
        None,
        "bool",
        True,
        True,
        True,
        (),
        "record anything at all; `false` from any source wins (DO_NOT_TRACK and "
        "AUTOTELEMETRY_DISABLED are the variables that turn it off)",
    ),
    (
        "endpoint",
        "AUTOTELEMETRY_ENDPOINT",
        "url",
        None,
        True,
        False,
        (),
        "where events are sent; unset means local only",
    ),
    (
        "protocol",
        "AUTOTELEMETRY_PROTOCOL",
        "choice",
        "otlp",
        True,
        False,
        ("otlp", "http/protobuf", "http/json", "json"),
        "`otlp` (OTLP/HTTP logs and traces, `/v1/logs` and `/v1/traces` appended to a base "
        "URL; encoding from OTEL_EXPORTER_OTLP_PROTOCOL, else protobuf), `http/protobuf`, "
        "`http/json`, or `json` (webhook)",
    ),
    (
        "sample_rate",
        "AUTOTELEMETRY_SAMPLE_RATE",
        "rate",
        1.0,
        True,
        True,
        (),
        "probability that a run is recorded",
    ),
    (
        "ci",
        "AUTOTELEMETRY_CI",
        "choice",
        "record",
        True,
        False,
        ("record", "skip"),
        "`record` (events carry `env.ci`/`env.ci_provider`) or `skip` (record nothing in CI)",
    ),
    (
        "record_signals",
        "AUTOTELEMETRY_RECORD_SIGNALS",
        "bool",
        True,
        True,
        True,
        (),
        "record runs that SIGTERM or SIGHUP ends (`terminated`) when the CLI leaves them at "
        "the default; `false` leaves those signals untouched (docs/reliability.md, Signals)",
    ),
    (
        "crash_messages",
        "AUTOTELEMETRY_CRASH_MESSAGES",
        "bool",
        True,
        True,
        False,
        (),
        "keep sanitised exception messages in crash events; `false` stores `message: null`",
    ),
    (
        "export_traceparent",
        "AUTOTELEMETRY_EXPORT_TRACEPARENT",
        "bool",
        False,
        True,
        False,
        (),
        "set TRACEPARENT for the programs an instrumented CLI runs to its run's span",
    ),
    # --- environment only ----------------------------------------------------------
    (
        "disabled",
        "AUTOTELEMETRY_DISABLED",
        "flag",
        False,
        False,
        False,
        (),
        "turn everything off, whatever else says on (as does DO_NOT_TRACK=1)",
    ),
    (
        "home",
        "AUTOTELEMETRY_HOME",
        "path",
        None,
        False,
        False,
        (),
        "root of all per-user state (spool, store, install id, user config and allowlist); "
        "default `$XDG_STATE_HOME/autotelemetry` (`~/.local/state/autotelemetry`; macOS "
        "`~/Library/Application Support/autotelemetry`; Windows `%LOCALAPPDATA%\\autotelemetry`)",
    ),
    (
        "allow",
        "AUTOTELEMETRY_ALLOW",
        "text",
        None,
        False,
        False,
        (),
        "extra allowlisted programs for this run: comma-separated names or globs",
    ),
    (
        "allowlist",
        "AUTOTELEMETRY_ALLOWLIST",
        "path",
        None,
        False,
        False,
        (),
        "use only this allowlist file",
    ),
    (
        "debug",
        "AUTOTELEMETRY_DEBUG",
        "flag",
        False,
        False,
        False,
        (),
        "print each decision and event to stderr",
    ),
    (
        "headers",
        "AUTOTELEMETRY_HEADERS",
        "text",
        None,
        False,
        False,
        (),
        "`k=v,k2=v2` headers for the endpoint (auth), values percent-decoded; never "
        "written to disk, not settable in files",
    ),
    (
        "ca_bundle",
        "AUTOTELEMETRY_CA_BUNDLE",
        "path",
        None,
        False,
        False,
        (),
        "CA file or directory for TLS (verification cannot be turned off)",
    ),
    (
        "client_certificate",
        "AUTOTELEMETRY_CLIENT_CERTIFICATE",
        "path",
        None,
        False,
        False,
        (),
        "client certificate (PEM) for mutual TLS",
    ),
    (
        "client_key",
        "AUTOTELEMETRY_CLIENT_KEY",
        "path",
        None,
        False,
        False,
        (),
        "its private key (PEM), if a separate file",
    ),
    (
        "timeout",
        "AUTOTELEMETRY_TIMEOUT",
        "seconds",
        10.0,
        False,
        False,
        (),
        "connect and read timeout per request",
    ),
    (
        "compression",
        "AUTOTELEMETRY_COMPRESSION",
        "choice",
        "gzip",
        False,
        False,
        ("gzip", "none"),
        "request body compression",
    ),
    (
        "signals",
        "AUTOTELEMETRY_SIGNALS",
        "signals",
        "logs,traces",
        False,
        False,
        (),
        "OTLP signals sent: a log record and/or a span per run",
    ),
    (
        "send_budget",
        "AUTOTELEMETRY_SEND_BUDGET",
        "seconds",
        60.0,
        False,
        False,
        (),
        "a sender run (or `flush`) stops after this",
    ),
    (
        "send_interval",
        "AUTOTELEMETRY_SEND_INTERVAL",
        "seconds0",
        10.0,
        False,
        False,
        (),
        "minimum time between two sender starts",
    ),
    (
        "batch_events",
        "AUTOTELEMETRY_BATCH_EVENTS",
        "count",
        500,
        False,
        False,
        (),
        "events per request (before gzip)",
    ),
    (
        "retry_base",
        "AUTOTELEMETRY_RETRY_BASE",
        "seconds",
        1.0,
        False,
        False,
        (),
        "first backoff after a transient failure (doubles each time, with jitter)",
    ),
    (
        "retry_max",
        "AUTOTELEMETRY_RETRY_MAX",
        "seconds",
        3600.0,
        False,
        False,
        (),
        "longest backoff",
    ),
    (
        "store_max_events",
        "AUTOTELEMETRY_STORE_MAX_EVENTS",
        "count",
        200_000,
        False,
        False,
        (),
        "store cap: the oldest events beyond it are deleted (unsent ones counted)",
    ),
    (
        "store_max_bytes",
        "AUTOTELEMETRY_STORE_MAX_BYTES",
        "count",
        512 * MIB,
        False,
        False,
        (),
        "store cap in bytes (pages in use): the oldest events beyond it are deleted (counted)",
    ),
    (
        "spool_max_bytes",
        "AUTOTELEMETRY_SPOOL_MAX_BYTES",
        "count",
        64 * MIB,
        False,
        False,
        (),
        "spool cap in bytes: the oldest files beyond it are evicted (counted)",
    ),
    (
        "spool_max_files",
        "AUTOTELEMETRY_SPOOL_MAX_FILES",
        "count",
        10000,
        False,
        False,
        (),
        "spool cap in files",
    ),
    (
        "spool_max_age",
        "AUTOTELEMETRY_SPOOL_MAX_AGE",
        "seconds",
        30 * DAY,
        False,
        False,
        (),
        "spool files older than this are evicted (counted)",
    ),
    # --- set by autotelemetry itself ---------------------------------------------------
    (
        "run",
        "AUTOTELEMETRY_RUN",
        "flag",
        False,
        False,
        False,
        (),
        "set by us: the one-shot consent of `autotelemetry run`, removed at start",
    ),
    (
        "parent_session",
        "AUTOTELEMETRY_PARENT_SESSION",
        "text",
        None,
        False,
        False,
        (),
        "set by us: the session id an instrumented run exports to its children "
        "(becomes their `parent_session_id`); do not set it yourself",
    ),
    (
        "parent_span",
        "AUTOTELEMETRY_PARENT_SPAN",
        "text",
        None,
        False,
        False,
        (),
        "set by us: the span an instrumented run exports to its children; do not set it yourself",
    ),
)

#: The same options by name (``zip(*OPTIONS)``: the columns; a comprehension would be one
#: more code object for every instrumented run to unmarshal).
BY_NAME: "dict[str, Option]" = dict(zip(list(zip(*OPTIONS))[NAME], OPTIONS))

#: Variables outside our prefix that mean "off", whatever else says on.
KILL_SWITCHES = ("AUTOTELEMETRY_DISABLED", "DO_NOT_TRACK")

#: OpenTelemetry's endpoint variables: consent to send like AUTOTELEMETRY_ENDPOINT, but
#: below every source of ours (docs/delivery.md). The sender resolves the rest of OTEL_*.
OTEL_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)

#: Words a "bool" accepts, and what they mean.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def flag(value: "str | None") -> bool:
    """A "flag" kind: on unless unset, empty or one of 0/false/no/off (any case)."""
    return value is not None and value.strip().lower() not in ("", *_FALSE)


def value(name: str, environ: "Mapping[str, str]" = os.environ) -> object:
    """An environment-only option: its variable's value when set and valid, else its default."""
    option = BY_NAME[name]
    variable = option[VARIABLE]
    raw = environ.get(variable) if variable else None
    if raw is None:
        return option[DEFAULT]
    parsed, why = coerce(option, raw)
    return option[DEFAULT] if why is not None or parsed is None else parsed


def disabled_reason(environ: "Mapping[str, str]" = os.environ) -> "str | None":
    """Why telemetry is off for this process, or ``None`` when it is not.

    The boot checks the same at interpreter start, faster, on the environment's
    raw bytes; ``status``, ``doctor`` and the sender ask here (a test checks
    that both agree).
    """
    for name in KILL_SWITCHES:
        if flag(environ.get(name)):
            return name + " is set"
    if "_ARGCOMPLETE" in environ or ("COMP_LINE" in environ and "COMP_POINT" in environ):
        return "shell completion run (argcomplete)"
    for key in environ:
        # Click and Typer completion: _<PROG>_COMPLETE=bash_complete etc.
        if key[:1] == "_" and key.endswith("_COMPLETE"):
            return "shell completion run (" + key + ")"
    return None


def apply_variables(settings: "Settings", environ: "Mapping[str, str]" = os.environ) -> None:
    """The settings' variables over the other sources, then the kill switches (config.py
    calls this only when one of their variables is set, or for an environment of its own)."""
    for name, variable in setting_columns()[1]:
        raw = environ.get(variable)
        if raw is None:
            continue
        parsed, why = coerce(BY_NAME[name], raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values[name] = parsed
        settings.sources[name] = variable
    if settings.sources["endpoint"] == "default":
        _otel_endpoint(settings, environ)
    # Only the kill switches count here (a completion run is not "disabled"), and
    # disabled_reason() scans every variable name: ask it only when one is set.
    if any(name in environ for name in KILL_SWITCHES):
        reason = disabled_reason(environ)
        if reason is not None and not reason.startswith("shell"):
            settings.values["enabled"] = False
            settings.sources["enabled"] = reason.split()[0]


def _otel_endpoint(settings: "Settings", environ: "Mapping[str, str]") -> None:
    """The fallback endpoint from OpenTelemetry's variables, when none of ours set one.

    OTEL_SDK_DISABLED=true turns the fallback off (as it turns off an OpenTelemetry SDK);
    recording stays on.
    """
    for variable in OTEL_ENDPOINTS:
        raw = environ.get(variable)
        if not raw:
            continue
        if (environ.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
            return
        endpoint, why = coerce(BY_NAME["endpoint"], raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values["endpoint"] = endpoint
        settings.sources["endpoint"] = variable
        return


def variable_problems(environ: "Mapping[str, str]") -> "list[str]":
    """Environment-only options whose variable is set to something invalid (then ignored).

    Asked by ``status`` and ``doctor`` only: here, not in config, so that no host
    unmarshals it."""
    problems = []
    for option in OPTIONS:
        variable = option[VARIABLE]
        if option[FILE] or variable is None:
            continue  # settings report their own problems (Settings.problems)
        raw = environ.get(variable)
        if raw is not None:
            why = coerce(option, raw)[1]
            if why is not None:
                problems.append(f"{variable}: {why}, ignored")
    return problems


def setting_columns() -> "tuple[dict[str, object], tuple[tuple[str, str], ...], tuple[str, ...]]":
    """What the settings need of the table: each file setting's default, each setting's
    ``(name, variable)``, the settings a ``[cli.NAME]`` table may hold (config.py)."""
    defaults: "dict[str, object]" = {}
    variables: "list[tuple[str, str]]" = []
    per_cli: "list[str]" = []
    for option in OPTIONS:
        if option[FILE]:
            defaults[option[NAME]] = option[DEFAULT]
            if option[VARIABLE]:
                variables.append((option[NAME], option[VARIABLE]))
        if option[PER_CLI]:
            per_cli.append(option[NAME])
    return defaults, tuple(variables), tuple(per_cli)


def env_columns(*names: str) -> "tuple[tuple[str, bytes, object], ...]":
    """``(name, variable as raw bytes, default)`` of environment-only options: what a rare
    host module needs to read them (``eviction.limits``) without loading this table. The
    built modules hold the result as a literal (tools/amalgamate.py, FOLDED)."""
    columns = []
    for name in names:
        option = BY_NAME[name]
        variable = option[VARIABLE]
        assert variable is not None and not option[FILE], name  # environment-only
        columns.append((name, variable.encode(), option[DEFAULT]))
    return tuple(columns)


def coerce(option: "Option", value: object) -> "tuple[object, str | None]":
    """``(value, None)`` when ``value`` is valid for ``option``, else ``(None, why)``.

    ``value`` is the text of a variable or what a config file holds (already
    typed by TOML). An empty variable means "unset" for paths, text and URLs.
    """
    kind = option[KIND]
    if kind == "flag":
        return flag(value if isinstance(value, str) else str(value)), None
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True, None
            if text in _FALSE:
                return False, None
        return None, "must be true or false"
    if kind == "choice":
        choices = option[CHOICES]
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower(), None
        return None, "must be " + " or ".join(map(repr, choices))
    if kind == "url":
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None, None  # empty: unset
            if text.lower().startswith(("http://", "https://")):
                return text, None
        return None, "must be an http:// or https:// URL"
    if kind == "signals":
        if isinstance(value, str):
            words = set(map(str.strip, value.lower().split(","))) - {""}
            if words and words <= {"logs", "traces"}:
                return ",".join(sorted(words)), None  # "logs" before "traces"
        return None, "must be " + KINDS[kind]
    if kind in ("path", "text"):
        if isinstance(value, str):
            return (value if value.strip() else None), None
        return None, "must be text"
    # numbers
    if isinstance(value, str):
        try:
            number = float(value.strip()) if kind != "count" else int(value.strip())
        except ValueError:
            return None, "must be " + KINDS[kind]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    else:
        return None, "must be " + KINDS[kind]
    if kind == "rate":
        if 0 <= number <= 1:
            return float(number), None
        return None, "must be a number from 0 to 1"
    if kind == "count":
        if isinstance(number, int) and number > 0:
            return number, None
        return None, "must be a whole number greater than 0"
    if number != number or number in (float("inf"), float("-inf")):
        return None, "must be " + KINDS[kind]
    if kind == "seconds" and number > 0:
        return float(number), None
    if kind == "seconds0" and number >= 0:
        return float(number), None
    return None, "must be " + KINDS[kind]
