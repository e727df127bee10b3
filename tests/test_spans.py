"""Runs as spans: the semantic conventions for CLI programs, and the W3C trace context.

Real CLIs record; `autotelemetry flush` sends to a real receiver, which decodes every
payload with opentelemetry-proto. A run's span is a child of TRACEPARENT (CI systems,
OpenTelemetry's environment carrier) or of the instrumented CLI that started it; the
host's output is byte-identical either way.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Runner, Venv, assert_same_output
from receiver import Receiver
from test_delivery import FAST

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"
HAS_IS_REMOTE, IS_REMOTE = 0x100, 0x200
INTERNAL, UNSET, ERROR = 1, 0, 2


def flush(run: Runner, url: str, **env: str) -> None:
    out = run("autotelemetry", "flush", env={"AUTOTELEMETRY_ENDPOINT": url, **FAST, **env})
    assert out.returncode == 0, out.stdout + out.stderr


def by_session(items: list[dict]) -> dict[str, dict]:
    return {i["attrs"]["session.id"]: i for i in items}


@pytest.mark.parametrize("encoding", ["http/protobuf", "http/json"])
def test_a_span_per_run_with_the_cli_conventions(run, receiver, encoding):
    argvs = [
        ["db", "migrate", "--dry-run", "prod"],
        ["fail"],
        ["fail", "--code", "4"],
        ["db", "nosuch"],
        ["greet", "--token", "s3cr3t-value", "bob"],
        ["crash", "hunter2"],
    ]
    for argv in argvs:
        run("exampleclick", *argv)
    flush(run, receiver.url, AUTOTELEMETRY_PROTOCOL=encoding)
    events = run.stored()
    commands = [e for e in events if e["type"] == "command"]
    assert len(commands) == len(argvs) == len(receiver.spans)
    spans = by_session(receiver.spans)
    for ev in commands:
        span = spans[ev["session_id"]]
        trace = ev["trace"]
        assert span["name"] == ev["command"] and span["kind"] == INTERNAL
        assert span["trace_id"] == trace["trace_id"] and span["span_id"] == trace["span_id"]
        assert span["parent_span_id"] == "" and "parent_span_id" not in trace
        assert span["flags"] == 0x01 | HAS_IS_REMOTE
        attrs = span["attrs"]
        assert attrs["process.executable.name"] == "exampleclick"
        assert attrs["process.pid"] == ev["pid"] > 0
        assert attrs["process.exit.code"] == ev["exit_code"]
        if ev["exit_code"] == 0:
            assert "error.type" not in attrs and span["status"] == UNSET
        else:
            assert attrs["error.type"] == (ev["error_type"] or str(ev["exit_code"]))
            assert span["status"] == ERROR
        assert attrs["cli.status"] == ev["status"] and attrs["cli.flags"] == ev["flags"]
        start_ms = span["start"] / 1e6
        assert abs(span["end"] - span["start"] - ev["duration_ms"] * 1e6) < 1e3
        assert span["resource"]["service.name"] == "exampleclick"
        assert span["resource"]["service.version"] == "1.2.0"
        assert start_ms > 1.7e12
    codes = {(s["attrs"]["cli.command"], s["attrs"].get("error.type")) for s in receiver.spans}
    assert ("exampleclick fail", "ClickException") in codes
    assert ("exampleclick fail", "4") in codes  # sys.exit(4): no class, the exit code
    assert ("exampleclick crash", "RuntimeError") in codes
    # the crash's log record is in its run's span context, severity FATAL
    (crash,) = [r for r in receiver.records if r.get("eventName") == "exception"]
    run_span = spans[crash["attrs"]["session.id"]]
    assert (crash["trace_id"], crash["span_id"]) == (run_span["trace_id"], run_span["span_id"])
    assert crash["severityNumber"] == "SEVERITY_NUMBER_FATAL"
    # every log record carries its run's trace context
    for rec in receiver.records:
        if rec.get("eventName") == "cli.command":
            span = spans[rec["attrs"]["session.id"]]
            assert (rec["trace_id"], rec["span_id"], rec["flags"]) == (
                span["trace_id"],
                span["span_id"],
                1,
            )
    # names, never values: nothing the user typed is in any payload
    for message in receiver.messages:
        data = message.SerializeToString()
        for typed in (b"s3cr3t-value", b"hunter2", b"bob", b"prod"):
            assert typed not in data


def _one(run: Runner, receiver: Receiver, **env: str) -> tuple[dict, dict, list[dict]]:
    """Run one CLI with ``env``; (its event, its span or {}, its log records)."""
    before = len(run.stored())
    out = run("exampleclick", "db", "status", env=env)
    assert out.returncode == 0
    flush(run, receiver.url)
    ev = run.stored()[0]
    assert len(run.stored()) == before + 1
    spans = [s for s in receiver.spans if s["attrs"]["session.id"] == ev["session_id"]]
    recs = [r for r in receiver.records if r["attrs"].get("session.id") == ev["session_id"]]
    return ev, spans[0] if spans else {}, recs


def test_child_span_under_traceparent(run, run_bare, receiver, venvs):
    state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    env = {"TRACEPARENT": TRACEPARENT, "TRACESTATE": state}
    ev, span, (rec,) = _one(run, receiver, **env)
    assert ev["trace"]["trace_id"] == TRACE and ev["trace"]["parent_span_id"] == PARENT
    assert span["trace_id"] == TRACE and span["parent_span_id"] == PARENT
    assert span["span_id"] == ev["trace"]["span_id"] not in (PARENT, "")
    assert span["trace_state"] == state and ev["trace"]["state"] == state
    assert span["flags"] == 0x01 | HAS_IS_REMOTE | IS_REMOTE
    assert rec["trace_id"] == TRACE and rec["span_id"] == span["span_id"]
    # the host's output is what it is without us
    assert_same_output(
        run("exampleclick", "db", "status", env=env),
        run_bare("exampleclick", "db", "status", env=env),
        venvs,
    )


@pytest.fixture
def venvs(venv: Venv, bare_venv: Venv) -> tuple[Venv, Venv]:
    return venv, bare_venv


@pytest.mark.parametrize(
    "bad",
    [
        f"00-{TRACE.upper()}-{PARENT}-01",  # uppercase hex
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent
        f"ff-{TRACE}-{PARENT}-01",  # forbidden version
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE}-{PARENT[:-1]}-01",  # short
        "/home/alice/secret",
    ],
)
def test_malformed_traceparent_starts_a_new_trace(run, receiver, bad):
    ev, span, _ = _one(run, receiver, TRACEPARENT=bad, TRACESTATE="a=b")
    assert ev["trace"]["trace_id"] != TRACE and "parent_span_id" not in ev["trace"]
    assert "state" not in ev["trace"]  # tracestate only travels with a valid traceparent
    assert span["parent_span_id"] == "" and span["trace_id"] == ev["trace"]["trace_id"]
    assert bad not in json.dumps(ev)


def test_future_traceparent_version_is_accepted(run, receiver):
    _, span, _ = _one(run, receiver, TRACEPARENT=f"01-{TRACE}-{PARENT}-01-whatever")
    assert span["trace_id"] == TRACE and span["parent_span_id"] == PARENT


@pytest.mark.parametrize(
    "state",
    [
        "a=b,",
        "x" * 600 + "=1",
        "Upper=1",
        "a=b=c",
        "a=\x01",
        ",".join(f"k{i}=v" for i in range(33)),
    ],
)
def test_malformed_tracestate_is_dropped(run, receiver, state):
    ev, span, _ = _one(run, receiver, TRACEPARENT=TRACEPARENT, TRACESTATE=state)
    if state == "a=b,":  # an empty member is allowed and dropped
        assert ev["trace"]["state"] == "a=b"
        return
    assert "state" not in ev["trace"] and span["trace_state"] == ""
    assert span["parent_span_id"] == PARENT


def test_unsampled_parent_keeps_the_span_out(run, receiver):
    ev, span, (rec,) = _one(run, receiver, TRACEPARENT=f"00-{TRACE}-{PARENT}-00")
    assert ev["trace"]["flags"] == 0
    assert span == {}  # parentbased_always_on: no span under an unsampled parent
    assert rec["trace_id"] == TRACE and rec["flags"] == 0  # the log record still correlates


def _parent_cli(tmp_path: Path, child: list[str], extra_env: dict[str, str] | None = None) -> Path:
    """An instrumented click CLI (``parentcli``) that runs ``child`` and waits for it."""
    script = tmp_path / "parentcli.py"
    script.write_text(
        "import os, subprocess, sys, click\n"
        "@click.command()\n"
        "def main():\n"
        f"    env = dict(os.environ, **{extra_env or {}!r})\n"
        f"    subprocess.run({child!r}, check=True, env=env)\n"
        "main()\n"
    )
    return script


@pytest.mark.parametrize("incoming", [None, TRACEPARENT])
def test_child_span_under_an_instrumented_parent_cli(run, venv, receiver, tmp_path, incoming):
    script = _parent_cli(tmp_path, [venv.script("exampleclick"), "db", "status"])
    (run.home / "allowlist").write_text("exampleclick\nparentcli\n")
    env = run.env(**({"TRACEPARENT": incoming} if incoming else {}))
    out = subprocess.run([venv.python, str(script)], capture_output=True, env=env)
    assert out.returncode == 0, out.stderr
    flush(run, receiver.url)
    parent_ev, child_ev = sorted(run.stored(), key=lambda e: e["cli"]["name"] == "exampleclick")
    assert child_ev["parent_session_id"] == parent_ev["session_id"]
    spans = by_session(receiver.spans)
    parent, child = spans[parent_ev["session_id"]], spans[child_ev["session_id"]]
    assert child["trace_id"] == parent["trace_id"]
    assert child["parent_span_id"] == parent["span_id"]
    assert child["start"] >= parent["start"] and child["end"] <= parent["end"]
    if incoming:
        assert parent["trace_id"] == TRACE and parent["parent_span_id"] == PARENT
    else:
        assert parent["parent_span_id"] == ""


def test_a_traceparent_set_in_between_wins_over_the_parent_cli(run, venv, receiver, tmp_path):
    """A tracing program between two instrumented CLIs sets its own TRACEPARENT: the
    child belongs under that program's span, not directly under the parent CLI."""
    between = f"00-{TRACE}-{'c' * 16}-01"
    script = _parent_cli(
        tmp_path, [venv.script("exampleclick"), "db", "status"], {"TRACEPARENT": between}
    )
    (run.home / "allowlist").write_text("exampleclick\nparentcli\n")
    out = subprocess.run(
        [venv.python, str(script)], capture_output=True, env=run.env(TRACEPARENT=TRACEPARENT)
    )
    assert out.returncode == 0, out.stderr
    flush(run, receiver.url)
    child = next(s for s in receiver.spans if s["name"] == "exampleclick db status")
    assert child["trace_id"] == TRACE and child["parent_span_id"] == "c" * 16


def test_traceparent_exported_to_children_only_when_configured(run, venv, tmp_path):
    seen = tmp_path / "seen.txt"
    probe = [
        venv.python,
        "-c",
        f"import os; open({str(seen)!r}, 'w').write(os.environ.get('TRACEPARENT', 'none'))",
    ]
    script = _parent_cli(tmp_path, probe)
    (run.home / "allowlist").write_text("parentcli\n")
    for extra, expect_ours in (
        ({}, False),
        ({"AUTOTELEMETRY_EXPORT_TRACEPARENT": "1"}, True),
    ):
        for incoming in ({}, {"TRACEPARENT": TRACEPARENT}):
            env = run.env(**extra, **incoming)
            out = subprocess.run([venv.python, str(script)], capture_output=True, env=env)
            assert out.returncode == 0, out.stderr
            ev = run.events()[-1]
            value = seen.read_text()
            if expect_ours:
                trace = ev["trace"]
                assert value == f"00-{trace['trace_id']}-{trace['span_id']}-01"
            else:
                assert value == incoming.get("TRACEPARENT", "none")
    # settable in config.toml too, and shown with its source
    (run.home / "config.toml").write_text("export_traceparent = true\n")
    data = json.loads(run("autotelemetry", "status", "--json").stdout)
    assert data["settings"]["export_traceparent"] == {
        "value": True,
        "source": str(run.home / "config.toml"),
    }
    out = subprocess.run([venv.python, str(script)], capture_output=True, env=run.env())
    assert out.returncode == 0
    assert seen.read_text() == f"00-{run.events()[-1]['trace']['trace_id']}-" + (
        f"{run.events()[-1]['trace']['span_id']}-01"
    )
