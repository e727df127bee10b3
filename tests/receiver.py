"""A real HTTP receiver on 127.0.0.1 with fault injection, for delivery tests.

Each request is answered by the next entry of ``plan`` (then by ``default``):
an int status, ``("status", code, headers)``, ``("partial", rejected, message)``
(a 200 carrying an OTLP partial success), ``"hang"`` (block until ``release`` is
set, then 200) or ``"drop"`` (read half the body and close the socket without an
answer); a callable gets the request's ids and returns one of those.

OTLP bodies are parsed strictly (no unknown field) into the official protobuf
messages: ``ExportLogsServiceRequest`` on ``/v1/logs`` (or any other path),
``ExportTraceServiceRequest`` on ``/v1/traces``, protobuf or OTLP/JSON by
Content-Type. An event counts as delivered only once it was answered 2xx: log
records by ``log.record.uid`` into ``delivered``/``records``, spans into ``spans``.
With ``otlp_file`` set, every accepted request is appended to that file as one line
of OTLP/JSON, the format of the OpenTelemetry Collector's file exporter.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf import json_format, unknown_fields
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

_IDS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids_to_base64(value: Any) -> Any:
    """OTLP/JSON ids are hex; protobuf's JSON parser expects base64."""
    if isinstance(value, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in _IDS and isinstance(v, str)
            else _hex_ids_to_base64(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids_to_base64(v) for v in value]
    return value


def _base64_ids_to_hex(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).hex()
            if k in _IDS and isinstance(v, str)
            else _base64_ids_to_hex(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_base64_ids_to_hex(v) for v in value]
    return value


def decode(signal: str, body: bytes, content_type: str | None) -> Any:
    """The request as its official message, strictly (an unknown field is an error)."""
    msg: Any = (
        trace_service_pb2.ExportTraceServiceRequest()
        if signal == "traces"
        else logs_service_pb2.ExportLogsServiceRequest()
    )
    if "json" in (content_type or ""):
        data = json.loads(body)
        if signal == "traces":
            for rs in data.get("resourceSpans", []):
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        for key in _IDS:
                            if key in span:
                                hexid = span[key]
                                assert hexid == hexid.lower() and len(hexid) in (16, 32), hexid
        json_format.ParseDict(_hex_ids_to_base64(data), msg)
    else:
        msg.ParseFromString(body)
        _assert_known(msg)
    return msg


def _assert_known(msg: Any) -> None:
    """No field of ``msg`` or any message inside it is unknown to the official schema."""
    assert len(unknown_fields.UnknownFieldSet(msg)) == 0, f"unknown fields in {type(msg)}"
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        repeated = getattr(field, "is_repeated", None)
        if repeated is None:  # protobuf < 6
            repeated = field.label == field.LABEL_REPEATED
        if repeated:
            for item in value:
                _assert_known(item)
        else:
            _assert_known(value)


def otlp_json(msg: Any) -> dict[str, Any]:
    """OTLP/JSON (hex ids, integer enums, empty arrays as ``{"values": []}``) of a
    message: one line of a collector file."""
    return _base64_ids_to_hex(json_format.MessageToDict(msg, use_integers_for_enums=True))


def _any(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_any(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def flatten_logs(msg: Any) -> list[dict[str, Any]]:
    """One dict per log record: MessageToDict fields plus attrs, resource, scope."""
    out = []
    for rl in msg.resource_logs:
        resource = {a.key: _any(a.value) for a in rl.resource.attributes}
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                d = json_format.MessageToDict(rec)
                d["attrs"] = {a.key: _any(a.value) for a in rec.attributes}
                d["resource"] = resource
                d["scope"] = sl.scope.name
                d["trace_id"] = rec.trace_id.hex()
                d["span_id"] = rec.span_id.hex()
                d["flags"] = rec.flags
                out.append(d)
    return out


def flatten_spans(msg: Any) -> list[dict[str, Any]]:
    out = []
    for rs in msg.resource_spans:
        resource = {a.key: _any(a.value) for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.append(
                    {
                        "name": span.name,
                        "kind": span.kind,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "trace_state": span.trace_state,
                        "flags": span.flags,
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                        "status": span.status.code,
                        "status_message": span.status.message,
                        "attrs": {a.key: _any(a.value) for a in span.attributes},
                        "resource": resource,
                        "scope": ss.scope.name,
                    }
                )
    return out


def parse_otlp(body: bytes, content_type: str = "application/x-protobuf") -> list[dict]:
    """Log records of an ``ExportLogsServiceRequest`` body, flattened."""
    return flatten_logs(decode("logs", body, content_type))


def partial_response(signal: str, rejected: int, message: str, content_type: str) -> bytes:
    if signal == "traces":
        resp: Any = trace_service_pb2.ExportTraceServiceResponse()
        resp.partial_success.rejected_spans = rejected
    else:
        resp = logs_service_pb2.ExportLogsServiceResponse()
        resp.partial_success.rejected_log_records = rejected
    resp.partial_success.error_message = message
    if "json" in content_type:
        return json.dumps(json_format.MessageToDict(resp)).encode()
    return resp.SerializeToString()


class Receiver:
    def __init__(self, protocol: str = "otlp", otlp_file: Path | None = None) -> None:
        self.protocol = protocol
        self.otlp_file = otlp_file
        self.plan: list[Any] = []
        self.default: Any = 200
        self.requests: list[dict[str, Any]] = []
        self.delivered: list[str] = []  # event ids answered 2xx, in order
        self.records: list[dict[str, Any]] = []  # OTLP records / webhook events, 2xx only
        self.spans: list[dict[str, Any]] = []  # OTLP spans, 2xx only
        self.messages: list[Any] = []  # every accepted request, as its protobuf message
        self.release = threading.Event()
        self.hanging = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def of(self, signal: str) -> list[dict[str, Any]]:
        """The requests received on one signal (``logs``, ``traces``)."""
        return [r for r in self.requests if r.get("signal") == signal]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        signal = "traces" if h.path.rstrip("/").endswith("/v1/traces") else "logs"
        if self.protocol != "otlp":
            signal = "events"
        info: dict[str, Any] = {"time": time.monotonic(), "path": h.path, "signal": signal}
        info["headers"] = dict(h.headers)
        with self.lock:
            action = self.plan.pop(0) if self.plan else self.default
        info["action"] = action
        self.requests.append(info)
        if action == "drop":
            h.rfile.read(length // 2)
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        raw = h.rfile.read(length)
        body = gzip.decompress(raw) if h.headers.get("Content-Encoding") == "gzip" else raw
        content_type = h.headers.get("Content-Type") or ""
        spans: list[dict[str, Any]] = []
        msg: Any = None
        info["body"] = body  # as sent (decompressed): privacy tests grep it
        if self.protocol == "otlp":
            msg = decode(signal, body, content_type)
            if signal == "traces":
                records: list[dict[str, Any]] = []
                spans = flatten_spans(msg)
                ids = [s["attrs"]["session.id"] for s in spans]
            else:
                records = flatten_logs(msg)
                events = [r for r in records if r.get("eventName") != "autotelemetry.dropped"]
                ids = [r["attrs"]["log.record.uid"] for r in events]
        else:
            payload = json.loads(body)
            records = payload["events"]
            ids = [e["event_id"] for e in records]
            if "dropped" in payload:
                records = [*records, {"dropped": payload["dropped"]}]
        info["ids"] = ids
        info["content_type"] = content_type
        info["body"] = body
        if action == "hang":
            self.hanging.set()
            self.release.wait(60)
            action = 200
        headers: dict[str, str] = {}
        if callable(action):
            action = action(ids) if signal != "traces" else 200
        answer = b"{}" if self.protocol != "otlp" or "json" in content_type else b""
        if isinstance(action, tuple) and action[0] == "partial":
            _, rejected, message = action
            answer = partial_response(signal, rejected, message, content_type)
            action = 200
        elif isinstance(action, tuple):
            _, action, headers = action
        if 200 <= action < 300:
            with self.lock:
                if signal != "traces":
                    self.delivered.extend(ids)
                self.records.extend(records)
                self.spans.extend(spans)
                if msg is not None:
                    self.messages.append(msg)
                    if self.otlp_file is not None:
                        with open(self.otlp_file, "a", encoding="utf-8") as f:
                            f.write(json.dumps(otlp_json(msg), separators=(",", ":")) + "\n")
        h.send_response(action)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(answer)))
        h.send_header(
            "Content-Type", content_type if self.protocol == "otlp" else "application/json"
        )
        h.end_headers()
        try:
            h.wfile.write(answer)
        except OSError:
            pass

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def https_sink(cert: Path, key: Path, ca: Path | None = None) -> ThreadingHTTPServer:
    """An HTTPS server on 127.0.0.1 that answers every POST 200 and notes its path in
    ``server.hits``; with ``ca``, a client certificate signed by it is required."""
    import ssl

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if ca is not None:
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    # Handshake in the handler thread: a client that gives up mid-handshake must not
    # block the accept loop.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.hits = hits  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
