"""A real OpenTelemetry collector in the path: CLI → spool → sender → rotel → receiver.

rotel (an OTLP collector shipped as a binary in its PyPI wheel) listens on 127.0.0.1
with its OTLP/HTTP receiver and exports OTLP/HTTP to the test receiver, which decodes
every payload with opentelemetry-proto (strictly: no unknown field) and writes each as
one OTLP/JSON line, the format of the OpenTelemetry Collector's file exporter. What
arrives must be exactly what `flush --dry-run` said would be sent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, Collector, Runner
from receiver import decode, flatten_logs, flatten_spans
from test_delivery import FAST, wait_for
from test_spans import TRACEPARENT, _parent_cli

OTLP = "OTEL_EXPORTER_OTLP_"


def _record_a_session(run: Runner, venv: Any, tmp_path: Path) -> None:
    """Commands, a failure, a crash, and a parent CLI running a child under a CI trace."""
    for argv in (["db", "migrate", "--dry-run", "prod"], ["fail"], ["crash"], ["db", "nosuch"]):
        run("exampleclick", *argv)
    script = _parent_cli(tmp_path, [venv.script("exampleclick"), "db", "status"])
    (run.home / "allowlist").write_text("exampleclick\nparentcli\n")
    env = run.env(TRACEPARENT=TRACEPARENT)
    out = subprocess.run([venv.python, str(script)], capture_output=True, env=env)
    assert out.returncode == 0, out.stderr


def _expected(dry_run_stdout: bytes) -> tuple[dict[str, dict], dict[str, dict]]:
    """The log records (by uid) and spans (by span id) `flush --dry-run` printed."""
    logs: dict[str, dict] = {}
    spans: dict[str, dict] = {}
    for line in dry_run_stdout.splitlines():
        data = json.loads(line)
        body = json.dumps(data).encode()
        if "resourceSpans" in data:
            for s in flatten_spans(decode("traces", body, "application/json")):
                spans[s["span_id"]] = s
        else:
            for r in flatten_logs(decode("logs", body, "application/json")):
                if r.get("eventName") != "autotelemetry.dropped":
                    logs[r["attrs"]["log.record.uid"]] = r
    return logs, spans


def _file_counts(path: Path) -> tuple[int, int]:
    """(log records, spans) in the collector's file; every line one request in OTLP/JSON,
    strictly valid (a line being written is not counted yet)."""
    seen_logs = seen_spans = 0
    for line in path.read_text().splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue  # the last line, still being written
        if "resourceSpans" in data:
            seen_spans += len(flatten_spans(decode("traces", line.encode(), "application/json")))
        else:
            assert set(data) == {"resourceLogs"}
            seen_logs += len(flatten_logs(decode("logs", line.encode(), "application/json")))
    return seen_logs, seen_spans


def _check_file(path: Path, logs: int, spans: int) -> None:
    # The receiver counts a request before its line reaches the file: wait for the file.
    wait_for(lambda: _file_counts(path) == (logs, spans), 10)
    assert _file_counts(path) == (logs, spans)


@pytest.mark.parametrize("encoding", ["http/protobuf", "http/json"])
def test_through_a_real_collector_exactly_what_was_sent(run, venv, tmp_path, collector, encoding):
    _record_a_session(run, venv, tmp_path)
    env = {OTLP + "ENDPOINT": collector.url, OTLP + "PROTOCOL": encoding, **FAST}
    dry = run("autotelemetry", "flush", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    logs, spans = _expected(dry.stdout)
    assert len(logs) == 7 and len(spans) == 6  # 6 runs, one of them crashed
    out = run("autotelemetry", "flush", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert b"sent 7;" in out.stdout and b"traces: sent 6 span(s)" in out.stdout
    rx = collector.receiver
    assert wait_for(lambda: len(rx.delivered) == 7 and len(rx.spans) == 6, 60), (
        len(rx.delivered),
        len(rx.spans),
        collector.output.read_text()[-2000:],
    )
    received_logs = {r["attrs"]["log.record.uid"]: r for r in rx.records}
    received_spans = {s["span_id"]: s for s in rx.spans}
    assert received_logs == logs
    assert received_spans == spans
    # the trace made it through intact: CI → parent CLI → child CLI
    parent = next(s for s in spans.values() if s["parent_span_id"] == TRACEPARENT[36:52])
    child = next(s for s in spans.values() if s["parent_span_id"] == parent["span_id"])
    assert parent["trace_id"] == child["trace_id"] == TRACEPARENT[3:35]
    assert {r["content_type"] for r in rx.requests} == {
        "application/x-protobuf"
    }  # rotel re-encodes
    _check_file(collector.otlp_file, 7, 6)


def test_detached_sender_through_a_real_collector(run, collector):
    env = {OTLP + "ENDPOINT": collector.url, "AUTOTELEMETRY_SEND_INTERVAL": "1"}
    out = run("exampleclick", "db", "status", env=env)
    assert out.returncode == 0 and out.stderr == b""
    rx = collector.receiver
    assert wait_for(lambda: len(rx.delivered) == 1 and len(rx.spans) == 1, 60)
    (ev,) = run.stored()
    assert rx.delivered == [ev["event_id"]]
    assert rx.spans[0]["span_id"] == ev["trace"]["span_id"]
    assert rx.spans[0]["attrs"]["process.pid"] == ev["pid"]


def test_a_collector_without_traces_pipeline(run, make_collector):
    collector: Collector = make_collector("--otlp-receiver-traces-disabled")
    run("exampleclick", "db", "status")
    run("exampleclick", "fail")
    env = {OTLP + "ENDPOINT": collector.url, **FAST}
    out = run("autotelemetry", "flush", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert b"sent 2;" in out.stdout and b"dropped 2 (http_404: 2)" in out.stdout
    assert wait_for(lambda: len(collector.receiver.delivered) == 2, 60)
    doctor = json.loads(run("autotelemetry", "doctor", "--json", env=env).stdout)["checks"]
    assert any("no traces pipeline" in c["detail"] for c in doctor)


def test_spans_alone_refused_never_hold_back_the_logs(run, make_collector):
    """The logs were all sent (spans switched off); spans then meet a collector without a
    traces pipeline with no log in the same run: kept, no endpoint alarm, no backoff, and
    the next log goes out at once."""
    collector: Collector = make_collector("--otlp-receiver-traces-disabled")
    run("exampleclick", "db", "status")
    env = {OTLP + "ENDPOINT": collector.url, **FAST}
    first = run("autotelemetry", "flush", env={**env, "AUTOTELEMETRY_SIGNALS": "logs"})
    assert first.returncode == 0, first.stdout + first.stderr
    out = run("autotelemetry", "flush", env=env)  # only a span is waiting
    assert b"traces: sent 0 span(s), kept 1 (HTTP 404)" in out.stdout, out.stdout
    delivery = json.loads(run("autotelemetry", "status", "--json", env=env).stdout)["delivery"]
    assert delivery["endpoint_error"] is None and delivery["next_retry"] is None
    assert delivery["traces"]["backlog"] == 1 and delivery["traces"]["dropped"] == {}
    run("exampleclick", "db", "status")
    again = run("autotelemetry", "flush", env=env)
    assert b"sent 1;" in again.stdout and b"dropped 2 (http_404: 2)" in again.stdout, again.stdout
    assert wait_for(lambda: len(collector.receiver.delivered) == 2, 60)


def test_example_collector_config(run, tmp_path, make_collector):
    """examples/otel-collector/config.yaml, as far as rotel can run it.

    rotel reads no collector YAML: the test reads the file and runs what it declares
    with rotel's equivalents (OTLP/HTTP receiver, batch processor, one pipeline per
    signal; a signal without a pipeline is refused), and the test receiver plays the
    ``file`` exporter (OTLP/JSON lines at the configured file name). otelcol-contrib's
    own components (file exporter, attributes processor) are not run here.
    """
    config = yaml.safe_load((EXAMPLES / "otel-collector" / "config.yaml").read_text())
    http = config["receivers"]["otlp"]["protocols"]["http"]
    assert http["endpoint"] == "0.0.0.0:4318"
    assert "batch" in config["processors"]
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"logs", "traces"}  # both signals autotelemetry sends
    for pipeline in pipelines.values():
        assert pipeline["receivers"] == ["otlp"] and pipeline["processors"] == ["batch"]
        assert pipeline["exporters"] == ["file"]
    args = [
        f"--otlp-receiver-{s}-disabled" for s in ("logs", "traces", "metrics") if s not in pipelines
    ]
    out_file = tmp_path / Path(config["exporters"]["file"]["path"]).name
    collector = make_collector(*args, otlp_file=out_file)
    run("exampleclick", "db", "status")
    run("exampleclick", "crash")
    # as the config's header says: the endpoint is the receiver's base URL
    env = {"AUTOTELEMETRY_ENDPOINT": collector.url, **FAST}
    out = run("autotelemetry", "flush", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert wait_for(lambda: len(collector.receiver.spans) == 2, 60)
    assert wait_for(lambda: len(collector.receiver.delivered) == 3, 60)
    _check_file(out_file, 3, 2)


def test_report_from_the_collectors_file_equals_the_local_report(run, venv, tmp_path, collector):
    """What the collector wrote (OTLP/JSON lines, as its file exporter does) reads back into
    the same report as the local store: `report --input` understands this mapping."""
    _record_a_session(run, venv, tmp_path)
    env = {OTLP + "ENDPOINT": collector.url, **FAST}
    assert run("autotelemetry", "flush", env=env).returncode == 0
    rx = collector.receiver
    assert wait_for(lambda: len(rx.delivered) == 7 and len(rx.spans) == 6, 60)

    def report(*args: str) -> dict:
        out = run("autotelemetry", "report", "--json", "--top", "50", *args)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        return {k: v for k, v in data.items() if k not in ("source", "generated_at", "stored")}

    local = report()
    assert sum(c["runs"] for c in local["clis"]) == 6  # exampleclick and parentcli.py
    from_file = report("--input", str(collector.otlp_file))
    assert from_file == local
