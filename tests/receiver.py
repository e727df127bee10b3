"""A real HTTP receiver on 127.0.0.1 with fault injection, for delivery tests.

Each request is answered by the next entry of ``plan`` (then by ``default``):
an int status, ``("status", code, headers)``, ``"hang"`` (block until
``release`` is set, then 200) or ``"drop"`` (read half the body and close the
socket without an answer). OTLP bodies are parsed strictly into the official
protobuf message; an event counts as delivered only once it was answered 2xx.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def parse_otlp(body: bytes) -> list[dict[str, Any]]:
    """Strict parse (no unknown fields allowed), then flatten to one dict per record."""
    from google.protobuf.json_format import MessageToDict, Parse
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    msg = Parse(body.decode("utf-8"), ExportLogsServiceRequest())
    out = []
    for rl in msg.resource_logs:
        resource = {a.key: _any(a.value) for a in rl.resource.attributes}
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                d = MessageToDict(rec)
                d["attrs"] = {a.key: _any(a.value) for a in rec.attributes}
                d["resource"] = resource
                d["scope"] = sl.scope.name
                out.append(d)
    return out


def _any(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_any(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


class Receiver:
    def __init__(self, protocol: str = "otlp") -> None:
        self.protocol = protocol
        self.plan: list[Any] = []
        self.default: Any = 200
        self.requests: list[dict[str, Any]] = []
        self.delivered: list[str] = []  # event ids answered 2xx, in order
        self.records: list[dict[str, Any]] = []  # OTLP records / webhook events, 2xx only
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

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            action = self.plan.pop(0) if self.plan else self.default
        length = int(h.headers.get("Content-Length") or 0)
        info: dict[str, Any] = {"time": time.monotonic(), "path": h.path, "action": action}
        info["headers"] = dict(h.headers)
        self.requests.append(info)
        if action == "drop":
            h.rfile.read(length // 2)
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        raw = h.rfile.read(length)
        body = gzip.decompress(raw) if h.headers.get("Content-Encoding") == "gzip" else raw
        info["body"] = body  # as sent (decompressed): privacy tests grep it
        if self.protocol == "otlp":
            records = parse_otlp(body)
            events = [r for r in records if r.get("eventName") != "autotelemetry.dropped"]
            ids = [r["attrs"]["log.record.uid"] for r in events]
        else:
            payload = json.loads(body)
            records = payload["events"]
            ids = [e["event_id"] for e in records]
            if "dropped" in payload:
                records = [*records, {"dropped": payload["dropped"]}]
        info["ids"] = ids
        if action == "hang":
            self.hanging.set()
            self.release.wait(60)
            action = 200
        headers: dict[str, str] = {}
        if callable(action):
            action = action(ids)
        if isinstance(action, tuple):
            _, action, headers = action
        if 200 <= action < 300:
            with self.lock:
                self.delivered.extend(ids)
                self.records.extend(records)
        h.send_response(action)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", "2")
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        try:
            h.wfile.write(b"{}")
        except OSError:
            pass

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
