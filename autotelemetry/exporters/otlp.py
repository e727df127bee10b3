"""OTLP/HTTP: a log record per event and a span per run, as official protobuf messages.

Built with the ``opentelemetry-proto`` message classes (``ExportLogsServiceRequest``,
``ExportTraceServiceRequest``) and sent as protobuf (``http/protobuf``, the default)
or in the OTLP/JSON mapping (``http/json``: lowerCamelCase keys, enums as integers,
trace and span ids as hex). Tool side only: the sender imports this, host CLIs never do.

Semantic conventions (checked against open-telemetry/semantic-conventions; the
table of every event field is in docs/delivery.md):

* resource: ``service.name`` (the CLI), ``service.version``, ``telemetry.sdk.*``,
  ``os.type``, ``os.version``, ``host.arch``, ``process.runtime.name``/``.version``,
  plus ``OTEL_RESOURCE_ATTRIBUTES`` (which cannot replace those);
* a ``command`` event is a log record named ``cli.command`` and, when it carries a
  trace context, a span following the CLI conventions (``span.cli.internal``):
  kind INTERNAL, ``process.executable.name``, ``process.pid``, ``process.exit.code``,
  ``error.type`` when the exit code is not 0 (the exception class, else the exit
  code), status ERROR then; its name is the canonical command path (a documented,
  low-cardinality name: registered command names only);
* a ``crash`` event is a log record named ``exception`` (``exception.type``,
  ``.message``, ``.stacktrace``), severity FATAL (it ended the program) or ERROR
  (a thread's), in the span context of its run.

Our own names live under ``cli.*`` and ``autotelemetry.*``.
"""

from __future__ import annotations

import base64
import calendar
import time
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from autotelemetry import __version__

SCOPE_NAME = "autotelemetry"
#: Span.flags bits beside the W3C trace flags: the parent's "is remote" is known / true.
HAS_IS_REMOTE = 0x100
IS_REMOTE = 0x200

#: semconv host.arch values for the machine names os.uname() reports.
_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "AMD64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "ARM64": "arm64",
    "i386": "x86",
    "i686": "x86",
    "x86": "x86",
    "ppc64le": "ppc64",
    "ppc64": "ppc64",
    "ppc": "ppc32",
    "s390x": "s390x",
    "armv7l": "arm32",
    "ia64": "ia64",
}
#: semconv os.type values.
_OS = {
    "Linux": "linux",
    "Darwin": "darwin",
    "Windows": "windows",
    "FreeBSD": "freebsd",
    "NetBSD": "netbsd",
    "OpenBSD": "openbsd",
    "DragonFly": "dragonflybsd",
    "SunOS": "solaris",
    "AIX": "aix",
}
#: (severity number, text) per command status; crashes use FATAL, thread crashes ERROR.
_INFO = (logs_pb2.SEVERITY_NUMBER_INFO, "INFO")  # 9
_WARN = (logs_pb2.SEVERITY_NUMBER_WARN, "WARN")  # 13
_ERROR = (logs_pb2.SEVERITY_NUMBER_ERROR, "ERROR")  # 17
_FATAL = (logs_pb2.SEVERITY_NUMBER_FATAL, "FATAL")  # 21


# --- values ----------------------------------------------------------------------


def _any(v: object) -> common_pb2.AnyValue:
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    if isinstance(v, float):
        return common_pb2.AnyValue(double_value=v)
    if isinstance(v, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[_any(x) for x in v]))
    return common_pb2.AnyValue(string_value=str(v))


def _attrs(pairs: Mapping[str, object]) -> list[common_pb2.KeyValue]:
    return [common_pb2.KeyValue(key=k, value=_any(v)) for k, v in pairs.items() if v is not None]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def nanos(timestamp: object) -> int:
    """RFC 3339 UTC (``2026-11-22T10:00:00.123Z``) to Unix nanoseconds (0 if unreadable)."""
    try:
        text = str(timestamp).rstrip("Z")
        whole, _, frac = text.partition(".")
        seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        return seconds * 1_000_000_000 + int((frac + "000000000")[:9])
    except (ValueError, TypeError):
        return 0


def _hex_bytes(value: object, length: int) -> bytes:
    """An id from the event's ``trace`` (lowercase hex), or b"" when absent or malformed."""
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        return b""
    return raw if len(raw) == length and any(raw) else b""


def error_type(ev: dict) -> str | None:
    """semconv ``error.type``: set if and only if the exit code is not 0; the exception
    class when there is one, else the exit code (as HTTP uses its status code)."""
    code = ev.get("exit_code")
    if not isinstance(code, int) or code == 0:
        return None
    return str(ev.get("error_type") or code)


def stacktrace(exc: dict) -> str:
    """A Python-style traceback from sanitised frames (innermost last), chained
    exceptions first as Python prints them (their types only: frames are not kept)."""
    lines: list[str] = []
    for link in reversed(exc.get("chain") or ()):
        if not isinstance(link, dict):
            continue
        lines.append(str(link.get("type")))
        lines.append("")
        if link.get("relation") == "cause":
            lines.append("The above exception was the direct cause of the following exception:")
        else:
            lines.append("During handling of the above exception, another exception occurred:")
        lines.append("")
    lines.append("Traceback (most recent call last):")
    for frame in exc.get("frames") or ():
        if not isinstance(frame, dict):
            continue
        where = frame.get("module") or frame.get("file") or "?"
        lines.append(f'  File "{where}", line {frame.get("line")}, in {frame.get("function")}')
    message = exc.get("message")
    lines.append(f"{exc.get('type')}: {message}" if message else str(exc.get("type")))
    return "\n".join(lines)


def _top_frame(frames: object) -> str | None:
    """``module:function`` of the innermost in-app frame (what `report` groups show)."""
    if not isinstance(frames, list):
        return None
    app = [f for f in frames if isinstance(f, dict) and f.get("in_app")]
    if not app:
        return None
    return f"{app[-1].get('module') or app[-1].get('file')}:{app[-1].get('function')}"


# --- resource ------------------------------------------------------------------------


def _resource_key(ev: dict) -> tuple[object, ...]:
    cli = ev.get("cli") or {}
    env = ev.get("env") or {}
    return (
        cli.get("name"),
        cli.get("version"),
        env.get("os"),
        env.get("os_version"),
        env.get("arch"),
        env.get("python"),
    )


def _resource(key: tuple[object, ...], extra: dict[str, str]) -> resource_pb2.Resource:
    name, version, os_name, os_version, arch, python = key
    ours: dict[str, object] = {
        "service.name": name or "unknown_service",
        "service.version": version,
        "telemetry.sdk.name": "autotelemetry",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": __version__,
        "os.type": _OS.get(str(os_name), str(os_name or "").lower() or None),
        "os.version": os_version,
        "host.arch": _ARCH.get(str(arch), arch),
        "process.runtime.name": "python" if python else None,
        "process.runtime.version": python,
    }
    merged: dict[str, object] = {k: v for k, v in extra.items() if k not in ours}
    merged.update(ours)
    return resource_pb2.Resource(attributes=_attrs(merged))


def _scope() -> common_pb2.InstrumentationScope:
    return common_pb2.InstrumentationScope(name=SCOPE_NAME, version=__version__)


def _grouped(events: Iterable[dict]) -> dict[tuple[object, ...], list[dict]]:
    groups: dict[tuple[object, ...], list[dict]] = {}
    for ev in events:
        groups.setdefault(_resource_key(ev), []).append(ev)
    return groups


def _common(ev: dict) -> dict[str, object]:
    """Attributes every signal of an event carries."""
    env = ev.get("env") or {}
    cli = ev.get("cli") or {}
    return {
        "session.id": ev.get("session_id"),
        "autotelemetry.parent_session_id": ev.get("parent_session_id"),
        "autotelemetry.install_id": ev.get("install_id"),
        "autotelemetry.sample_rate": ev.get("sample_rate"),
        "cli.framework": cli.get("framework"),
        "cli.command": ev.get("command"),
        "process.pid": _int(ev.get("pid")),
        "process.interactive": env.get("tty") if isinstance(env.get("tty"), bool) else None,
        "cli.ci": env.get("ci"),
        "cli.ci_provider": env.get("ci_provider"),
        "cli.shell": env.get("shell"),
    }


# --- logs ------------------------------------------------------------------------------


def log_record(ev: dict) -> logs_pb2.LogRecord:
    """The log record of one event, in the span context of its run."""
    attrs: dict[str, object] = {
        "log.record.uid": ev.get("event_id"),
        "autotelemetry.schema_version": ev.get("schema_version"),
        **_common(ev),
    }
    if ev.get("type") == "crash":
        exc = ev.get("exception") or {}
        name = "exception"
        severity = _ERROR if ev.get("thread") == "thread" else _FATAL
        attrs.update(
            {
                "exception.type": exc.get("type"),
                "exception.message": exc.get("message"),
                "exception.stacktrace": stacktrace(exc),
                "error.type": exc.get("type"),
                "cli.exception.fingerprint": exc.get("fingerprint"),
                "cli.exception.top_frame": _top_frame(exc.get("frames")),
                "cli.exception.thread": ev.get("thread"),
                "cli.exception.count": _int(ev.get("count")),
            }
        )
        body = f"{exc.get('type')}: {exc.get('message') or ''}".rstrip(": ")
    else:
        name = "cli.command"
        status = ev.get("status")
        severity = _INFO if status == "success" else _WARN
        duration = ev.get("duration_ms")
        attrs.update(
            {
                "cli.flags": list(ev.get("flags") or []),
                "cli.status": status,
                "cli.duration_ms": float(duration) if isinstance(duration, (int, float)) else None,
                "process.exit.code": ev.get("exit_code"),
                "error.type": error_type(ev),
            }
        )
        body = str(ev.get("command"))
    ts = nanos(ev.get("timestamp"))
    record = logs_pb2.LogRecord(
        time_unix_nano=ts,
        observed_time_unix_nano=ts,
        severity_number=severity[0],
        severity_text=severity[1],
        event_name=name,
        body=common_pb2.AnyValue(string_value=body),
        attributes=_attrs(attrs),
    )
    trace = ev.get("trace")
    if isinstance(trace, dict):
        trace_id = _hex_bytes(trace.get("trace_id"), 16)
        span_id = _hex_bytes(trace.get("span_id"), 8)
        if trace_id and span_id:
            record.trace_id = trace_id
            record.span_id = span_id
            flags = trace.get("flags")
            record.flags = flags & 0xFF if isinstance(flags, int) else 0
    return record


def _dropped_record(dropped: dict[str, int]) -> logs_pb2.LogRecord:
    now = time.time_ns()
    counts = {f"autotelemetry.dropped.{k}": int(v) for k, v in sorted(dropped.items())}
    counts["autotelemetry.dropped.total"] = sum(int(v) for v in dropped.values())
    return logs_pb2.LogRecord(
        time_unix_nano=now,
        observed_time_unix_nano=now,
        severity_number=_WARN[0],
        severity_text=_WARN[1],
        event_name="autotelemetry.dropped",
        body=common_pb2.AnyValue(string_value="events dropped before delivery"),
        attributes=_attrs(counts),
    )


def logs_request(
    events: list[dict], dropped: dict[str, int], resource: dict[str, str] | None = None
) -> logs_service_pb2.ExportLogsServiceRequest:
    """One ``ResourceLogs`` per CLI (and environment); the drop counts as one more record."""
    extra = resource or {}
    request = logs_service_pb2.ExportLogsServiceRequest()
    for key, group in _grouped(events).items():
        rl = request.resource_logs.add()
        rl.resource.CopyFrom(_resource(key, extra))
        sl = rl.scope_logs.add()
        sl.scope.CopyFrom(_scope())
        sl.log_records.extend(log_record(ev) for ev in group)
    if dropped:
        rl = request.resource_logs.add()
        key = ("autotelemetry", __version__, None, None, None, None)
        rl.resource.CopyFrom(_resource(key, extra))
        sl = rl.scope_logs.add()
        sl.scope.CopyFrom(_scope())
        sl.log_records.append(_dropped_record(dropped))
    return request


# --- traces ----------------------------------------------------------------------------


def spans_of(events: Iterable[dict]) -> list[dict]:
    """The events that become spans: ``command`` events with a sampled trace context
    (a parent that is not sampled keeps its children out, as OpenTelemetry's default
    ``parentbased_always_on`` sampler does; their log records still carry the ids)."""
    out = []
    for ev in events:
        trace = ev.get("trace")
        if ev.get("type") != "command" or not isinstance(trace, dict):
            continue
        flags = trace.get("flags")
        if not isinstance(flags, int) or not flags & 0x01:
            continue
        if _hex_bytes(trace.get("trace_id"), 16) and _hex_bytes(trace.get("span_id"), 8):
            out.append(ev)
    return out


def span(ev: dict) -> trace_pb2.Span:
    """The span of one run (semconv ``span.cli.internal``)."""
    trace = ev["trace"]
    cli = ev.get("cli") or {}
    start = nanos(ev.get("timestamp"))
    duration = ev.get("duration_ms")
    end = start + (int(float(duration) * 1_000_000) if isinstance(duration, (int, float)) else 0)
    code = ev.get("exit_code")
    attrs: dict[str, object] = {
        "process.executable.name": cli.get("name"),
        "process.exit.code": code if isinstance(code, int) else None,
        "error.type": error_type(ev),
        **_common(ev),
        "cli.flags": list(ev.get("flags") or []),
        "cli.status": ev.get("status"),
    }
    parent = _hex_bytes(trace.get("parent_span_id"), 8)
    flags = (trace.get("flags") or 0) & 0xFF
    result = trace_pb2.Span(
        trace_id=_hex_bytes(trace.get("trace_id"), 16),
        span_id=_hex_bytes(trace.get("span_id"), 8),
        parent_span_id=parent,
        trace_state=str(trace.get("state") or ""),
        # The parent, when there is one, is another process's span: remote.
        flags=flags | HAS_IS_REMOTE | (IS_REMOTE if parent else 0),
        name=str(ev.get("command") or cli.get("name") or "unknown"),
        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=max(end, start),
        attributes=_attrs(attrs),
    )
    if isinstance(code, int) and code != 0:
        result.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    return result


def traces_request(
    events: list[dict], resource: dict[str, str] | None = None
) -> trace_service_pb2.ExportTraceServiceRequest:
    """One ``ResourceSpans`` per CLI (and environment); empty when no event is a span."""
    extra = resource or {}
    request = trace_service_pb2.ExportTraceServiceRequest()
    for key, group in _grouped(spans_of(events)).items():
        rs = request.resource_spans.add()
        rs.resource.CopyFrom(_resource(key, extra))
        ss = rs.scope_spans.add()
        ss.scope.CopyFrom(_scope())
        ss.spans.extend(span(ev) for ev in group)
    return request


def count(request: Any) -> int:
    """Log records or spans in a request."""
    if isinstance(request, logs_service_pb2.ExportLogsServiceRequest):
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


# --- encodings -------------------------------------------------------------------------

_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})


def _otlp_json(value: Any) -> Any:
    """Protobuf JSON to the OTLP/JSON mapping: trace and span ids as hex (not base64),
    and an empty array value written as ``{"values": []}`` (protobuf JSON omits the
    empty list; rotel, a real collector, answers 400 to ``{"arrayValue": {}}``)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _ID_FIELDS and isinstance(v, str):
                out[k] = _hex(v)
            elif k == "arrayValue" and v == {}:
                out[k] = {"values": []}
            else:
                out[k] = _otlp_json(v)
        return out
    if isinstance(value, list):
        return [_otlp_json(v) for v in value]
    return value


def _hex(value: str) -> str:
    return base64.b64decode(value).hex()


def to_json(message: Any) -> dict[str, Any]:
    """The OTLP/JSON form of a message (what ``http/json`` sends, what dry-run prints)."""
    return _otlp_json(json_format.MessageToDict(message, use_integers_for_enums=True))


def encode(message: Any, encoding: str) -> bytes:
    if encoding == "http/json":
        import json

        return json.dumps(to_json(message), separators=(",", ":")).encode("utf-8")
    return message.SerializeToString()


def parse_response(signal: str, body: bytes, content_type: str | None) -> tuple[int, str]:
    """(rejected records or spans, the collector's message) of a 2xx answer.

    The OTLP response is ``Export{Logs,Trace}ServiceResponse`` with an optional
    ``partial_success``; an empty or unreadable body means full success.
    """
    if not body:
        return 0, ""
    if signal == "traces":
        response: Any = trace_service_pb2.ExportTraceServiceResponse()
    else:
        response = logs_service_pb2.ExportLogsServiceResponse()
    try:
        if "json" in (content_type or "").lower():
            json_format.Parse(body.decode("utf-8"), response, ignore_unknown_fields=True)
        else:
            response.ParseFromString(body)
    except Exception:
        return 0, ""
    partial = response.partial_success
    rejected = partial.rejected_spans if signal == "traces" else partial.rejected_log_records
    message = " ".join(str(partial.error_message).split())[:500]
    return max(0, int(rejected)), message


__all__ = [
    "count",
    "encode",
    "error_type",
    "log_record",
    "logs_request",
    "nanos",
    "parse_response",
    "span",
    "spans_of",
    "stacktrace",
    "to_json",
    "traces_request",
]
