"""OTLP/HTTP logs, JSON encoding: one log record per event.

Follows the OpenTelemetry conventions where they exist: a ``command`` event
is a log record with event name ``cli.command``, a ``crash`` event one named
``exception`` carrying ``exception.type``/``message``/``stacktrace``; the
resource has ``service.name`` (the CLI) and ``service.version``; attributes
use ``process.exit.code``, ``error.type``, ``os.type``, ``os.version``,
``host.arch``, ``process.runtime.*``, ``session.id`` and ``log.record.uid``.
Our own names live under ``cli.*`` (command, flags, status, duration, CI)
and ``autotelemetry.*`` (the install id, drop counters). Payloads parse
strictly into ``ExportLogsServiceRequest`` (a test checks it).
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Mapping
from typing import Any

from autotelemetry import __version__

CONTENT_TYPE = "application/json"
SCOPE = {"name": "autotelemetry", "version": __version__}

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
    "s390x": "s390x",
    "armv7l": "arm32",
}
#: semconv os.type values.
_OS = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows", "FreeBSD": "freebsd"}
#: severity per status: INFO, WARN for failures, ERROR for crashes.
_SEVERITY = {"success": (9, "INFO"), "crash": (17, "ERROR")}


def url(endpoint: str) -> str:
    """``/v1/logs`` appended to a base URL's path (its query kept after it), as
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` does; a path already ending in ``/v1/logs`` is kept."""
    from autotelemetry.endpoint import signal_url

    return signal_url(endpoint, "logs")


def _value(v: object) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}


def _attrs(pairs: Mapping[str, object]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in pairs.items() if v is not None]


def _nanos(timestamp: object) -> str:
    """RFC 3339 UTC (``2026-11-22T10:00:00.123Z``) to Unix nanoseconds, as a string."""
    try:
        text = str(timestamp).rstrip("Z")
        whole, _, frac = text.partition(".")
        seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        return str(seconds * 1_000_000_000 + int((frac + "000000000")[:9]))
    except (ValueError, TypeError):
        return "0"


def stacktrace(exc: dict) -> str:
    """A Python-style traceback text from sanitised frames (innermost last)."""
    lines = ["Traceback (most recent call last):"]
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


def record(ev: dict) -> dict[str, Any]:
    """The log record of one event."""
    env = ev.get("env") or {}
    cli = ev.get("cli") or {}
    attrs: dict[str, object] = {
        "log.record.uid": ev.get("event_id"),
        "session.id": ev.get("session_id"),
        "autotelemetry.install_id": ev.get("install_id"),
        "autotelemetry.sample_rate": ev.get("sample_rate"),
        "autotelemetry.schema_version": ev.get("schema_version"),
        "cli.framework": cli.get("framework"),
        "cli.command": ev.get("command"),
        "os.type": _OS.get(str(env.get("os")), str(env.get("os") or "").lower() or None),
        "os.version": env.get("os_version"),
        "host.arch": _ARCH.get(str(env.get("arch")), env.get("arch")),
        "process.runtime.name": "python",
        "process.runtime.version": env.get("python"),
        "cli.ci": env.get("ci"),
        "cli.ci_provider": env.get("ci_provider"),
        "cli.shell": env.get("shell"),
        "cli.tty": env.get("tty"),
    }
    if ev.get("type") == "crash":
        exc = ev.get("exception") or {}
        name = "exception"
        severity = _SEVERITY["crash"]
        attrs.update(
            {
                "exception.type": exc.get("type"),
                "exception.message": exc.get("message"),
                "exception.stacktrace": stacktrace(exc),
                "cli.exception.fingerprint": exc.get("fingerprint"),
                "cli.exception.top_frame": _top_frame(exc.get("frames")),
                "cli.exception.count": ev.get("count"),
                "error.type": exc.get("type"),
            }
        )
        body = f"{exc.get('type')}: {exc.get('message') or ''}".rstrip(": ")
    else:
        name = "cli.command"
        status = ev.get("status")
        severity = _SEVERITY.get(str(status), (13, "WARN"))
        attrs.update(
            {
                "cli.flags": list(ev.get("flags") or []),
                "cli.status": status,
                "cli.duration_ms": float(ev["duration_ms"])
                if isinstance(ev.get("duration_ms"), (int, float))
                else None,
                "process.exit.code": ev.get("exit_code"),
                "error.type": ev.get("error_type"),
            }
        )
        body = str(ev.get("command"))
    ts = _nanos(ev.get("timestamp"))
    return {
        "timeUnixNano": ts,
        "observedTimeUnixNano": ts,
        "severityNumber": severity[0],
        "severityText": severity[1],
        "eventName": name,
        "body": {"stringValue": body},
        "attributes": _attrs(attrs),
    }


def _resource(name: object, version: object) -> dict[str, Any]:
    return {
        "attributes": _attrs(
            {
                "service.name": name or "unknown_service",
                "service.version": version,
                "telemetry.sdk.name": "autotelemetry",
                "telemetry.sdk.language": "python",
                "telemetry.sdk.version": __version__,
            }
        )
    }


def request(events: list[dict], dropped: dict[str, int]) -> dict[str, Any]:
    """The ``ExportLogsServiceRequest`` as JSON-ready data: one resource per CLI+version."""
    groups: dict[tuple[object, object], list[dict]] = {}
    for ev in events:
        cli = ev.get("cli") or {}
        groups.setdefault((cli.get("name"), cli.get("version")), []).append(record(ev))
    resource_logs = [
        {"resource": _resource(n, v), "scopeLogs": [{"scope": SCOPE, "logRecords": recs}]}
        for (n, v), recs in groups.items()
    ]
    if dropped:
        now = str(time.time_ns())
        counts = {f"autotelemetry.dropped.{k}": int(v) for k, v in sorted(dropped.items())}
        counts["autotelemetry.dropped.total"] = sum(int(v) for v in dropped.values())
        resource_logs.append(
            {
                "resource": _resource("autotelemetry", __version__),
                "scopeLogs": [
                    {
                        "scope": SCOPE,
                        "logRecords": [
                            {
                                "timeUnixNano": now,
                                "observedTimeUnixNano": now,
                                "severityNumber": 13,
                                "severityText": "WARN",
                                "eventName": "autotelemetry.dropped",
                                "body": {"stringValue": "events dropped before delivery"},
                                "attributes": _attrs(counts),
                            }
                        ],
                    }
                ],
            }
        )
    return {"resourceLogs": resource_logs}


def encode(events: list[dict], dropped: dict[str, int]) -> bytes:
    return json.dumps(request(events, dropped), separators=(",", ":")).encode("utf-8")
