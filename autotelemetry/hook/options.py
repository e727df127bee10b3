"""The option table: every knob of autotelemetry, in one place.

Each option (a row of :data:`OPTIONS`) says what a setting is called, which environment variable
sets it, whether a ``config.toml`` may set it (and per CLI), its kind, default
and one line of documentation. Every value is read against this table
(:mod:`autotelemetry.hook.values` holds the one parser of every kind),
``autotelemetry status`` and ``doctor`` show it, and the tables in
docs/configuration.md are generated from it (a test keeps them in step).

Host side by its place, but no instrumented run of the wheel loads it: what the host
side needs of it are the columns :func:`setting_columns`, :func:`env_columns` and
:func:`parsing_columns` derive, which the wheel's built modules hold as literals
(tools/amalgamate.py, FOLDED). Only the tool side imports the table itself. It imports
nothing.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    Option = tuple[str, "str | None", str, object, bool, bool, tuple[str, ...], str]
    #: One option's row as :mod:`autotelemetry.hook.values` reads it: variable, kind,
    #: default, settable in a file, choices (the documentation and per-CLI columns left out).
    ParsingRow = tuple["str | None", str, object, bool, tuple[str, ...]]


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


def parsing_columns() -> (
    "tuple[dict[str, ParsingRow], dict[str, str], tuple[str, ...], tuple[str, ...]]"
):
    """What reading values needs of the table (:mod:`autotelemetry.hook.values`): every
    option's :data:`ParsingRow` by name, what each kind accepts, the kill switches and
    OpenTelemetry's endpoint variables. The built modules hold the result as a literal
    (tools/amalgamate.py, FOLDED), so no host CLI loads this table."""
    rows: "dict[str, ParsingRow]" = {}
    for option in OPTIONS:
        rows[option[NAME]] = (
            option[VARIABLE],
            option[KIND],
            option[DEFAULT],
            option[FILE],
            option[CHOICES],
        )
    return rows, dict(KINDS), KILL_SWITCHES, OTEL_ENDPOINTS
