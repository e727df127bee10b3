"""Events from files, for ``report --input``: the fleet view on the same engine.

Two line formats, told apart line by line:

* **OTLP/JSON lines**, as the OpenTelemetry Collector's file exporter writes
  them: one ``ExportLogsServiceRequest`` (``{"resourceLogs": [...]}``) per
  line. Each log record becomes the event it was sent from, by the mapping in
  :data:`RECORD_ATTRIBUTES` (the one place that knows our OTLP attribute
  names; docs/delivery.md is the other side of it). Lines of other signals
  (``resourceSpans``, ``resourceMetrics``) are counted and ignored: the runs
  they describe are the log records already counted.
* **Events**, one JSON object per line, as ``autotelemetry events --json``
  prints them (and the spool holds them).

The events are loaded into a throwaway store (a private temporary directory,
deleted afterwards) by the same validation and deduplication as the spool's
(a collector delivers at least once: a record seen twice counts once), and the
report is built over it exactly as over the local store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from autotelemetry.store import Store
from autotelemetry.store import ingest as loader

#: OTLP log record attribute -> event field (path), as docs/delivery.md maps them.
#: A renamed attribute is added here; keep the old name too while old files exist.
RECORD_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "log.record.uid": ("event_id",),
    "session.id": ("session_id",),
    "autotelemetry.install_id": ("install_id",),
    "autotelemetry.sample_rate": ("sample_rate",),
    "autotelemetry.schema_version": ("schema_version",),
    "cli.framework": ("cli", "framework"),
    "cli.command": ("command",),
    "cli.flags": ("flags",),
    "cli.status": ("status",),
    "cli.duration_ms": ("duration_ms",),
    "process.exit.code": ("exit_code",),
    "error.type": ("error_type",),
    "exception.type": ("exception", "type"),
    "exception.message": ("exception", "message"),
    "cli.exception.fingerprint": ("exception", "fingerprint"),
    "cli.exception.count": ("count",),
    "autotelemetry.parent_session_id": ("parent_session_id",),
    "process.pid": ("pid",),
    # Record attributes in files written before they moved to the resource:
    "os.type": ("env", "os"),
    "os.version": ("env", "os_version"),
    "host.arch": ("env", "arch"),
    "process.runtime.version": ("env", "python"),
    "cli.ci": ("env", "ci"),
    "cli.ci_provider": ("env", "ci_provider"),
    "cli.shell": ("env", "shell"),
    "process.interactive": ("env", "tty"),
    "cli.tty": ("env", "tty"),  # the name before process.interactive
}
#: Resource attribute -> event field.
RESOURCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "service.name": ("cli", "name"),
    "service.version": ("cli", "version"),
    "os.type": ("env", "os"),
    "os.version": ("env", "os_version"),
    "host.arch": ("env", "arch"),
    "process.runtime.version": ("env", "python"),
}
#: Log record event name -> event type.
EVENT_NAMES = {"cli.command": "command", "exception": "crash"}
#: The record that reports drops (docs/delivery.md): counted, not an event.
DROPPED = "autotelemetry.dropped"
DROPPED_PREFIX = "autotelemetry.dropped."
#: A crash's frames come from the stacktrace text; this one names the in-app frame.
STACKTRACE = "exception.stacktrace"
TOP_FRAME = "cli.exception.top_frame"
_FRAME = re.compile(r'^\s*File "(?P<where>[^"]*)", line (?P<line>\S+), in (?P<function>.+)$')
#: Events inserted per transaction.
BATCH = 5000


def value(v: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` as a plain value (64-bit ints arrive as strings)."""
    if not isinstance(v, dict):
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return None
    if "doubleValue" in v:
        try:
            return float(v["doubleValue"])
        except (TypeError, ValueError):
            return None
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [value(x) for x in (v["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in v:
        return attributes((v["kvlistValue"] or {}).get("values"))
    return None


def attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or ():
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = value(item.get("value"))
    return out


def rfc3339(nanos: Any) -> str | None:
    """Unix nanoseconds (int or string) as the events' timestamp format (UTC, ms)."""
    try:
        n = int(nanos)
    except (TypeError, ValueError):
        return None
    if n <= 0:
        return None
    seconds, rest = divmod(n, 1_000_000_000)
    try:
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return None
    return f"{whole}.{rest // 1_000_000:03d}Z"


def _put(event: dict[str, Any], path: tuple[str, ...], v: Any) -> None:
    target = event
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = v


def frames(stacktrace: Any, top: Any) -> list[dict[str, Any]]:
    """Frames (innermost last) from the stacktrace text; the named top frame is in-app."""
    out: list[dict[str, Any]] = []
    if not isinstance(stacktrace, str):
        return out
    for line in stacktrace.splitlines():
        m = _FRAME.match(line)
        if m:
            number = m.group("line")
            out.append(
                {
                    "module": m.group("where"),
                    "function": m.group("function").strip(),
                    "line": int(number) if number.isdigit() else None,
                }
            )
    if isinstance(top, str):
        for frame in reversed(out):
            if f"{frame['module']}:{frame['function']}" == top:
                frame["in_app"] = True
                break
    return out


def otlp_events(request: dict[str, Any], dropped: Counter) -> Iterator[dict[str, Any]]:
    """The events of one ``ExportLogsServiceRequest`` (drop reports go to ``dropped``)."""
    for resource_logs in request.get("resourceLogs") or ():
        if not isinstance(resource_logs, dict):
            continue
        resource = attributes((resource_logs.get("resource") or {}).get("attributes"))
        for scope_logs in resource_logs.get("scopeLogs") or ():
            if not isinstance(scope_logs, dict):
                continue
            for record in scope_logs.get("logRecords") or ():
                if not isinstance(record, dict):
                    continue
                attrs = attributes(record.get("attributes"))
                name = record.get("eventName")
                if name == DROPPED:
                    for key, n in attrs.items():
                        reason = key[len(DROPPED_PREFIX) :]
                        if key.startswith(DROPPED_PREFIX) and reason != "total":
                            dropped[reason] += n if isinstance(n, int) else 0
                    continue
                kind = EVENT_NAMES.get(str(name))
                if kind is None:
                    continue
                event: dict[str, Any] = {"schema_version": 1, "type": kind}
                for key, path in RESOURCE_ATTRIBUTES.items():
                    if resource.get(key) is not None:
                        _put(event, path, resource[key])
                for key, path in RECORD_ATTRIBUTES.items():
                    if attrs.get(key) is not None:
                        _put(event, path, attrs[key])
                event["timestamp"] = rfc3339(record.get("timeUnixNano")) or rfc3339(
                    record.get("observedTimeUnixNano")
                )
                if kind == "crash":
                    exc = event.setdefault("exception", {})
                    exc["frames"] = frames(attrs.get(STACKTRACE), attrs.get(TOP_FRAME))
                if not isinstance(event.get("event_id"), str):
                    # No record id: the record's own content identifies it (repeats count once).
                    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
                    event["event_id"] = "otlp-" + digest[:32]
                yield event


@contextmanager
def scratch_store() -> Iterator[Store]:
    """A throwaway store in a private temporary directory, removed afterwards."""
    directory = tempfile.mkdtemp(prefix="autotelemetry-report-")
    try:
        with Store(directory, scratch=True) as store:
            yield store
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _open(path: str) -> IO[bytes]:
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def load(
    store: Store, paths: list[str], progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Read every file into ``store``; returns what was read (the report's ``source``).

    ``progress(bytes read, bytes in all files)`` is told as batches are stored.
    """
    total = 0
    for path in paths:
        try:
            total += os.path.getsize(path) if path != "-" else 0
        except OSError:
            pass
    summary: dict[str, Any] = {
        "inputs": list(paths),
        "lines": 0,
        "events": 0,
        "stored": 0,
        "duplicates": 0,
        "skipped": 0,
        "other_signals": 0,
    }
    dropped: Counter = Counter()
    batch: list[tuple[dict, str]] = []
    done = 0

    def flush() -> None:
        inserted, duplicates, malformed = loader.insert(store, batch)
        summary["stored"] += inserted
        summary["duplicates"] += duplicates
        summary["skipped"] += malformed
        batch.clear()
        if progress:
            progress(done, total)

    for path in paths:
        with _open(path) as f:
            for raw in f:
                done += len(raw)
                if not raw.strip():
                    continue
                summary["lines"] += 1
                try:
                    line = raw.decode("utf-8").strip()
                    obj = json.loads(line)
                except (UnicodeDecodeError, ValueError, RecursionError):
                    summary["skipped"] += 1
                    continue
                if not isinstance(obj, dict):
                    summary["skipped"] += 1
                elif "resourceLogs" in obj:
                    for ev in otlp_events(obj, dropped):
                        if ev["timestamp"] is None:
                            summary["skipped"] += 1  # no time: cannot be placed in any window
                            continue
                        batch.append((ev, json.dumps(ev, separators=(",", ":"))))
                        summary["events"] += 1
                elif "resourceSpans" in obj or "resourceMetrics" in obj:
                    summary["other_signals"] += 1
                elif isinstance(obj.get("event_id"), str) and obj.get("type") in (
                    "command",
                    "crash",
                ):
                    batch.append((obj, line))
                    summary["events"] += 1
                else:
                    summary["skipped"] += 1
                if len(batch) >= BATCH:
                    flush()
    flush()
    summary["dropped_reported"] = dict(sorted(dropped.items()))
    return summary


__all__ = ["RECORD_ATTRIBUTES", "RESOURCE_ATTRIBUTES", "load", "otlp_events", "scratch_store"]
