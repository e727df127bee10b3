"""The option table: every knob of autotelemetry, in one place.

Each :class:`Option` says what a setting is called, which environment variable
sets it, whether a ``config.toml`` may set it (and per CLI), its kind, default
and one line of documentation. :mod:`autotelemetry.hook.config` reads every
value through this table (:func:`coerce` is the one parser of every kind),
``autotelemetry status`` and ``doctor`` show it, and the tables in
docs/configuration.md are generated from it (a test keeps them in step).

Host side: runs inside users' CLIs, so it imports nothing.
"""


class Option:
    """One setting or variable (see the module docstring)."""

    __slots__ = ("choices", "default", "doc", "file", "kind", "name", "per_cli", "variable")

    def __init__(
        self,
        name: str,
        variable: "str | None",
        kind: str,
        default: object,
        doc: str,
        file: bool = False,
        per_cli: bool = False,
        choices: "tuple[str, ...]" = (),
    ) -> None:
        self.name = name
        #: The environment variable that sets it for one run (None: files only).
        self.variable = variable
        #: One of KINDS: how a value is parsed and checked.
        self.kind = kind
        self.default = default
        self.doc = doc
        #: Settable in config.toml (per environment and per user).
        self.file = file
        #: Settable per CLI in a ``[cli.NAME]`` table.
        self.per_cli = per_cli
        self.choices = choices


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
    "text": "free text",
}

MIB = 1 << 20
DAY = 86400

OPTIONS = (
    # --- settings: environment variable and config.toml -------------------------------
    Option(
        "enabled",
        None,
        "bool",
        True,
        "record anything at all; `false` from any source wins (DO_NOT_TRACK and "
        "AUTOTELEMETRY_DISABLED are the variables that turn it off)",
        file=True,
        per_cli=True,
    ),
    Option(
        "endpoint",
        "AUTOTELEMETRY_ENDPOINT",
        "url",
        None,
        "where events are sent; unset means local only",
        file=True,
    ),
    Option(
        "protocol",
        "AUTOTELEMETRY_PROTOCOL",
        "choice",
        "otlp",
        "`otlp` (OTLP/HTTP logs; `/v1/logs` appended to a base URL) or `json` (webhook)",
        file=True,
        choices=("otlp", "json"),
    ),
    Option(
        "sample_rate",
        "AUTOTELEMETRY_SAMPLE_RATE",
        "rate",
        1.0,
        "probability that a run is recorded",
        file=True,
        per_cli=True,
    ),
    Option(
        "ci",
        "AUTOTELEMETRY_CI",
        "choice",
        "record",
        "`record` (events carry `env.ci`/`env.ci_provider`) or `skip` (record nothing in CI)",
        file=True,
        choices=("record", "skip"),
    ),
    Option(
        "signals",
        "AUTOTELEMETRY_SIGNALS",
        "bool",
        True,
        "record runs that SIGTERM or SIGHUP ends (`terminated`) when the CLI leaves them at "
        "the default; `false` leaves those signals untouched (docs/reliability.md, Signals)",
        file=True,
        per_cli=True,
    ),
    Option(
        "crash_messages",
        "AUTOTELEMETRY_CRASH_MESSAGES",
        "bool",
        True,
        "keep sanitised exception messages in crash events; `false` stores `message: null`",
        file=True,
    ),
    # --- environment only ----------------------------------------------------------
    Option(
        "disabled",
        "AUTOTELEMETRY_DISABLED",
        "flag",
        False,
        "turn everything off, whatever else says on (as does DO_NOT_TRACK=1)",
    ),
    Option(
        "home",
        "AUTOTELEMETRY_HOME",
        "path",
        None,
        "root of all per-user state (spool, store, install id, user config and allowlist); "
        "default `$XDG_STATE_HOME/autotelemetry` (`~/.local/state/autotelemetry`; macOS "
        "`~/Library/Application Support/autotelemetry`; Windows `%LOCALAPPDATA%\\autotelemetry`)",
    ),
    Option(
        "allow",
        "AUTOTELEMETRY_ALLOW",
        "text",
        None,
        "extra allowlisted programs for this run: comma-separated names or globs",
    ),
    Option(
        "allowlist",
        "AUTOTELEMETRY_ALLOWLIST",
        "path",
        None,
        "use only this allowlist file",
    ),
    Option(
        "debug",
        "AUTOTELEMETRY_DEBUG",
        "flag",
        False,
        "print each decision and event to stderr",
    ),
    Option(
        "headers",
        "AUTOTELEMETRY_HEADERS",
        "text",
        None,
        "`k=v,k2=v2` headers for the endpoint (auth), values percent-decoded; never "
        "written to disk, not settable in files",
    ),
    Option(
        "ca_bundle",
        "AUTOTELEMETRY_CA_BUNDLE",
        "path",
        None,
        "CA file or directory for TLS (verification cannot be turned off)",
    ),
    Option(
        "timeout", "AUTOTELEMETRY_TIMEOUT", "seconds", 10.0, "connect and read timeout per request"
    ),
    Option(
        "send_budget",
        "AUTOTELEMETRY_SEND_BUDGET",
        "seconds",
        60.0,
        "a sender run (or `flush`) stops after this",
    ),
    Option(
        "send_interval",
        "AUTOTELEMETRY_SEND_INTERVAL",
        "seconds0",
        10.0,
        "minimum time between two sender starts",
    ),
    Option(
        "batch_events",
        "AUTOTELEMETRY_BATCH_EVENTS",
        "count",
        500,
        "events per request (before gzip)",
    ),
    Option(
        "retry_base",
        "AUTOTELEMETRY_RETRY_BASE",
        "seconds",
        1.0,
        "first backoff after a transient failure (doubles each time, with jitter)",
    ),
    Option(
        "retry_max",
        "AUTOTELEMETRY_RETRY_MAX",
        "seconds",
        3600.0,
        "longest backoff",
    ),
    Option(
        "store_max_events",
        "AUTOTELEMETRY_STORE_MAX_EVENTS",
        "count",
        200_000,
        "store cap: the oldest events beyond it are deleted (unsent ones counted)",
    ),
    Option(
        "spool_max_bytes",
        "AUTOTELEMETRY_SPOOL_MAX_BYTES",
        "count",
        64 * MIB,
        "spool cap in bytes: the oldest files beyond it are evicted (counted)",
    ),
    Option(
        "spool_max_files",
        "AUTOTELEMETRY_SPOOL_MAX_FILES",
        "count",
        10000,
        "spool cap in files",
    ),
    Option(
        "spool_max_age",
        "AUTOTELEMETRY_SPOOL_MAX_AGE",
        "seconds",
        30 * DAY,
        "spool files older than this are evicted (counted)",
    ),
    # --- set by autotelemetry itself ---------------------------------------------------
    Option(
        "run",
        "AUTOTELEMETRY_RUN",
        "flag",
        False,
        "set by us: the one-shot consent of `autotelemetry run`, removed at start",
    ),
    Option(
        "parent_session",
        "AUTOTELEMETRY_PARENT_SESSION",
        "text",
        None,
        "set by us: the session id an instrumented run exports to its children "
        "(becomes their `parent_session_id`); do not set it yourself",
    ),
)

#: The same options by name.
BY_NAME = {option.name: option for option in OPTIONS}

#: Variables outside our prefix that mean "off", whatever else says on.
KILL_SWITCHES = ("AUTOTELEMETRY_DISABLED", "DO_NOT_TRACK")

#: Words a "bool" accepts, and what they mean.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def flag(value: "str | None") -> bool:
    """A "flag" kind: on unless unset, empty or one of 0/false/no/off (any case)."""
    return value is not None and value.strip().lower() not in ("", *_FALSE)


def coerce(option: Option, value: object) -> "tuple[object, str | None]":
    """``(value, None)`` when ``value`` is valid for ``option``, else ``(None, why)``.

    ``value`` is the text of a variable or what a config file holds (already
    typed by TOML). An empty variable means "unset" for paths, text and URLs.
    """
    kind = option.kind
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
        if isinstance(value, str) and value.strip().lower() in option.choices:
            return value.strip().lower(), None
        return None, "must be " + " or ".join(repr(c) for c in option.choices)
    if kind == "url":
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None, None  # empty: unset
            if text.lower().startswith(("http://", "https://")):
                return text, None
        return None, "must be an http:// or https:// URL"
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
