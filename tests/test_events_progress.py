"""`events` (headers, complete crash rows, a terminal limit, truthful messages, time
filters) and progress on long work, shown on a terminal only (a real pseudo-terminal)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import SYNTHETIC_ENV, Runner
from test_report import write_spool


def run_tty(
    run: Runner, *args: str, stdout_tty: bool = False, env: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """Run `autotelemetry` with stderr (and stdout if asked) on a pseudo-terminal.

    Returns (exit code, what the terminal showed, stdout if it was a pipe).
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [run.venv.script("autotelemetry"), *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=slave,
        env=run.env(**(env or {})),
        cwd=run.cwd,
    )
    os.close(slave)
    piped = bytearray()
    reader = None
    if not stdout_tty:
        assert proc.stdout is not None
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: piped.extend(stdout.read()))
        reader.start()
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown.extend(chunk)
    os.close(master)
    code = proc.wait(120)
    if reader:
        reader.join(60)
    return code, shown.decode(errors="replace").replace("\r\n", "\n"), bytes(piped)


INSTALL_ID = str(uuid.UUID(int=1, version=4))


def _events(n: int, start: float, step: float, **extra: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        t = start + i * step
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
        out.append(
            {
                "schema_version": 1,
                "event_id": str(uuid.uuid4()),
                "type": "command",
                "timestamp": ts,
                "session_id": str(uuid.uuid4()),
                "install_id": INSTALL_ID,
                "env": dict(SYNTHETIC_ENV),
                "cli": {"name": "gen", "version": "1", "framework": "click"},
                "command": f"gen cmd{i % 3}",
                "flags": [],
                "duration_ms": 1.5,
                "exit_code": 0,
                "status": "success",
                "error_type": None,
                **extra,
            }
        )
    return out


def test_events_headers_and_complete_crash_rows(run):
    run("exampleclick", "db", "status")
    assert run("exampleclick", "explode", "x").returncode == 1
    stored = run.stored()
    command = next(e for e in stored if e["type"] == "command" and e["status"] == "crash")
    out = run("autotelemetry", "events")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert lines[0].split() == [
        "time", "(UTC)", "type", "cli", "version", "command", "status", "exit", "duration",
        "flags", "/", "exception",
    ]  # fmt: skip
    crash_row = next(line for line in lines if "  crash  " in line and "OSError" in line)
    assert f"  {command['exit_code']}  " in crash_row
    assert f"{command['duration_ms']:.1f} ms" in crash_row
    assert "1.2.0" in crash_row and "exampleclick explode" in crash_row
    assert len(lines) == 1 + len(stored)  # piped: everything, no "more" line
    assert out.stderr == b""


def test_events_limit_on_a_terminal_and_everything_when_piped(run):
    write_spool(run.home, _events(40, time.time() - 3600, 10))
    code, shown, _ = run_tty(run, "events", stdout_tty=True)
    assert code == 0
    rows = [line for line in shown.splitlines() if line.startswith("20")]
    assert len(rows) == 25
    assert "... 15 more (--limit N to see more, --limit 0 for all)" in shown
    code, shown, _ = run_tty(run, "events", "--limit", "0", stdout_tty=True)
    assert len([line for line in shown.splitlines() if line.startswith("20")]) == 40
    assert "more" not in shown
    out = run("autotelemetry", "events")
    assert len(out.stdout.splitlines()) == 41 and out.stderr == b""
    out = run("autotelemetry", "events", "--json", "--limit", "5")
    assert len(out.stdout.splitlines()) == 5
    assert all(json.loads(line)["type"] == "command" for line in out.stdout.splitlines())
    assert out.stderr == b"... 35 more (--limit N to see more, --limit 0 for all)\n"


def test_events_messages_tell_the_truth(run):
    out = run("autotelemetry", "events")
    assert out.stdout == b"" and out.stderr == b"no events yet\n"
    write_spool(run.home, _events(3, time.time() - 60, 1))
    out = run("autotelemetry", "events", "--cli", "nope")
    assert out.returncode == 0 and out.stdout == b""
    assert out.stderr == b"no events match these filters (3 stored)\n"


def test_time_filters_accept_rfc3339_dates_and_spans(run):
    now = time.time()
    write_spool(run.home, _events(48, now - 47.5 * 3600, 3600))  # one an hour, last 48 h
    assert len(run.stored("--since", "24h")) == 24
    assert len(run.stored("--since", "2d")) == 48
    assert len(run.stored("--since", "1440m", "--until", "720m")) == 12
    assert len(run.stored("--since", "86400s")) == 24
    assert len(run.stored("--since", "1w")) == 48
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    today = [e for e in run.stored() if e["timestamp"] >= day]
    assert len(run.stored("--since", day)) == len(today)
    assert len(run.stored("--until", day)) == 48 - len(today)
    # RFC 3339 with an offset means the same instant as its UTC form.
    t = now - 10 * 3600
    utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    shifted = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 2 * 3600)) + "+02:00"
    assert run.stored("--since", utc) == run.stored("--since", shifted)
    assert len(run.stored("--since", utc)) == 10
    report = json.loads(run("autotelemetry", "report", "--json", "--since", "24h").stdout)
    assert report["clis"][0]["events"] == 24


def test_ingest_progress_on_a_terminal_only(run):
    spool = run.home / "spool"
    spool.mkdir(mode=0o700)
    born = time.time_ns()
    for i, ev in enumerate(_events(1500, time.time() - 3600, 1)):
        (spool / f"{born + i:020d}-1-{i:08x}.jsonl").write_text(json.dumps(ev) + "\n")
    code, shown, out = run_tty(run, "report", "--json")
    assert code == 0
    assert "ingesting spool files" in shown and "1500/1500" in shown
    assert json.loads(out)["clis"][0]["events"] == 1500  # stdout untouched by the bar
    # Not a terminal: silent.
    for i, ev in enumerate(_events(1500, time.time() - 3600, 1)):
        (spool / f"{born + i:020d}-2-{i:08x}.jsonl").write_text(json.dumps(ev) + "\n")
    out = run("autotelemetry", "report", "--json")
    assert out.returncode == 0 and out.stderr == b""


@pytest.mark.slow
def test_report_progress_over_a_large_store(run):
    events = _events(100_000, time.time() - 86400, 0.5)
    write_spool(run.home, events, per_file=2000)
    assert run("autotelemetry", "events", "--limit", "1").returncode == 0  # ingest first
    code, shown, out = run_tty(run, "report")
    assert code == 0
    assert "building the report" in shown and "ingesting" not in shown
    assert b"gen: 100,000 runs" in out
    plain = run("autotelemetry", "report")
    assert plain.stderr == b"" and plain.stdout == out.replace(b"\r\n", b"\n")


def _flush_env(url: str) -> dict[str, str]:
    return {
        "AUTOTELEMETRY_ENDPOINT": url,
        "AUTOTELEMETRY_RETRY_BASE": "1",
        "AUTOTELEMETRY_SEND_BUDGET": "20",
    }


def test_flush_progress_while_waiting_for_another_sender(run, receiver):
    write_spool(run.home, _events(3, time.time() - 60, 1))
    fd = os.open(run.home / "sender.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "another sender" holds the lock
    try:
        code, shown, _ = run_tty(run, "flush", "--wait", "2", env=_flush_env(receiver.url))
        assert code == 1 and "a sender is still running" in shown
        assert "waiting for the running sender (seconds)" in shown and "2/2" in shown
        out2 = run("autotelemetry", "flush", "--wait", "1", env=_flush_env(receiver.url))
        assert out2.returncode == 1
        assert b"(seconds)" not in out2.stderr  # no bar when stderr is not a terminal
    finally:
        os.close(fd)
    assert receiver.requests == []


def test_flush_progress_while_waiting_to_retry(run, receiver):
    write_spool(run.home, _events(3, time.time() - 60, 1))
    receiver.plan = [503]
    code, shown, out = run_tty(run, "flush", env=_flush_env(receiver.url))
    assert code == 0, shown
    assert "HTTP 503: 0 sent so far; retrying in" in shown
    assert out.startswith(b"sent 3; kept 0 for retry")
    write_spool(Path(run.home), _events(2, time.time() - 30, 1))
    receiver.plan = [503]
    piped = run("autotelemetry", "flush", env=_flush_env(receiver.url))
    assert piped.returncode == 0 and b"retrying in" not in piped.stderr
