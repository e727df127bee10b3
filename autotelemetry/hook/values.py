"""Reading options' values: the one parser of every kind, and the variables that set them.

The option table (:mod:`autotelemetry.hook.options`) says what each knob is; this
module reads a value for one. :func:`coerce` parses a variable's text or what a
config file holds, :func:`value` reads an environment-only option,
:func:`apply_variables` puts the settings' variables over the other sources and
:func:`disabled_reason` says why telemetry is off.

Host side, on rare paths only (``handover.lazy("values")``): a setting's variable is
set, a config file exists, or the endpoint path reads its intervals. Of the table it
needs only the rows without their documentation, which the wheel's built module holds as
a literal (tools/amalgamate.py, FOLDED). So no host CLI loads the table itself: its
documentation and the code that derives its columns cost an endpoint run ~0.5M
instructions (docs/performance.md). It imports only ``os``.
"""

import os

from autotelemetry.hook import env, handover

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from autotelemetry.hook.config import Settings

#: Every option's ``(variable, kind, default, file, choices)`` by name (in the table's
#: order), what each kind accepts (the messages of :func:`coerce`), the kill switches and
#: OpenTelemetry's endpoint variables: ``options.parsing_columns``, folded at build time.
ROWS, KINDS, KILL_SWITCHES, OTEL_ENDPOINTS = handover.lazy("options").parsing_columns()

#: Words a "bool" accepts, and what they mean.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def flag(value: "str | None") -> bool:
    """A "flag" kind: on unless unset, empty or one of 0/false/no/off (any case)."""
    return value is not None and value.strip().lower() not in ("", *_FALSE)


def value(name: str, environ: "Mapping[str, str]" = os.environ) -> object:
    """An environment-only option: its variable's value when set and valid, else its default."""
    variable, _kind, default, _file, _choices = ROWS[name]
    raw = env.get(variable, environ) if variable else None
    if raw is None:
        return default
    parsed, why = coerce(name, raw)
    return default if why is not None or parsed is None else parsed


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
    for name, (variable, _kind, _default, file, _choices) in ROWS.items():
        if not file or not variable:
            continue  # environment-only, or files only
        raw = env.get(variable, environ)
        if raw is None:
            continue
        parsed, why = coerce(name, raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values[name] = parsed
        settings.sources[name] = variable
    if settings.sources["endpoint"] == "default":
        _otel_endpoint(settings, environ)
    # Only the kill switches count here (a completion run is not "disabled"), and
    # disabled_reason() scans every variable name: ask it only when one is set.
    for switch in KILL_SWITCHES:
        if env.has(switch, environ):
            reason = disabled_reason(environ)
            if reason is not None and not reason.startswith("shell"):
                settings.values["enabled"] = False
                settings.sources["enabled"] = reason.split()[0]
            return


def _otel_endpoint(settings: "Settings", environ: "Mapping[str, str]") -> None:
    """The fallback endpoint from OpenTelemetry's variables, when none of ours set one.

    OTEL_SDK_DISABLED=true turns the fallback off (as it turns off an OpenTelemetry SDK);
    recording stays on.
    """
    for variable in OTEL_ENDPOINTS:
        raw = env.get(variable, environ)
        if not raw:
            continue
        if (env.get("OTEL_SDK_DISABLED", environ) or "").strip().lower() == "true":
            return
        endpoint, why = coerce("endpoint", raw)
        if why:
            settings.problems.append(f"{variable}: {why}, ignored")
            continue
        settings.values["endpoint"] = endpoint
        settings.sources["endpoint"] = variable
        return


def coerce(name: str, value: object) -> "tuple[object, str | None]":
    """``(value, None)`` when ``value`` is valid for the option ``name``, else ``(None, why)``.

    ``value`` is the text of a variable or what a config file holds (already
    typed by TOML). An empty variable means "unset" for paths, text and URLs.
    """
    _variable, kind, _default, _file, choices = ROWS[name]
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
