"""An inherited W3C trace context: TRACEPARENT/TRACESTATE, or an instrumented parent's span.

Host side, rare path: :func:`autotelemetry.hook.recorder._trace_context` imports this only
when TRACEPARENT or ``AUTOTELEMETRY_PARENT_SPAN`` is in the environment (a CI system
or OpenTelemetry's environment carrier set it, or an instrumented CLI started this
one); a run without either is the root of a new trace and never loads it. Stdlib
only (nothing is imported at all), never raises for any value.

Only ids leave this module, and a ``tracestate`` that passes the W3C grammar (at most
32 members, 512 characters): a malformed value is dropped whole, never copied.
"""

import os

_TRACE_HEX = frozenset("0123456789abcdef")
_TRACESTATE_KEY = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-*/@")


def parse_traceparent(value: str) -> "tuple[str, str, int] | None":
    """(trace id, parent span id, flags) of a W3C ``traceparent``; ``None`` if malformed.

    Version ``00`` has exactly four fields; a later version may append more after a
    ``-`` (parsed as ``00``); ``ff`` is invalid, as are all-zero ids and uppercase hex.
    """
    if len(value) < 55 or value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    if value[:2] == "ff" or (len(value) > 55 and (value[:2] == "00" or value[55] != "-")):
        return None
    trace_id, span_id = value[3:35], value[36:52]
    if not set(value[:2] + trace_id + span_id + value[53:55]) <= _TRACE_HEX:
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id, int(value[53:55], 16)


def valid_tracestate(value: "str | None") -> "str | None":
    """A well-formed W3C ``tracestate`` (empty members dropped), else ``None``."""
    if not value or len(value) > 512:
        return None
    members = [m.strip(" \t") for m in value.split(",")]
    members = [m for m in members if m]
    if len(members) > 32:
        return None
    for member in members:
        key, eq, val = member.partition("=")
        if not (key and eq and val and set(key) <= _TRACESTATE_KEY and "=" not in val):
            return None
        if not all(" " <= ch <= "~" for ch in val) or val[-1] == " ":
            return None
    return ",".join(members) or None


def inherit(environ: "dict[str, str] | os._Environ[str]", handoff: str) -> "list[object]":
    """[this run's trace context, the span id of the TRACEPARENT seen ("" if none)].

    The run's span is a child of the instrumented parent CLI's span (``handoff``:
    ``<traceparent>/<span id of the TRACEPARENT that parent saw>``) when TRACEPARENT
    did not change since that parent saw it; else of TRACEPARENT; else the root of a
    new trace. The parent's trace flags (sampled) are inherited; TRACESTATE travels
    only with a valid TRACEPARENT.
    """
    parent = None
    seen = ""
    incoming = environ.get("TRACEPARENT")
    if incoming:
        parent = parse_traceparent(incoming.strip())
        if parent is not None:
            seen = parent[1]
    handed = environ.get(handoff)
    if handed:
        theirs, _, their_seen = handed.partition("/")
        inherited = parse_traceparent(theirs)
        if inherited is not None and their_seen == seen:
            parent = inherited
    trace: "dict[str, object]" = {"trace_id": "", "span_id": os.urandom(8).hex(), "flags": 1}
    if parent is None:
        trace["trace_id"] = os.urandom(16).hex()
    else:
        trace["trace_id"] = parent[0]
        trace["parent_span_id"] = parent[1]
        trace["flags"] = parent[2]
        state = valid_tracestate(environ.get("TRACESTATE")) if seen else None
        if state:
            trace["state"] = state
    return [trace, seen]


__all__ = ["inherit", "parse_traceparent", "valid_tracestate"]
