"""Store-and-forward against a real HTTP receiver on 127.0.0.1 (see receiver.py).

Events are recorded by the real example CLIs; `autotelemetry flush` and the
detached sender deliver them. For every fault: what is delivered, kept and
dropped follows docs/delivery.md, every event arrives at least once, and the
local store holds each event exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import Runner
from receiver import Receiver

SCRIPTS = Path(__file__).parent / "scripts"
FAST = {"AUTOTELEMETRY_RETRY_BASE": "0.1", "AUTOTELEMETRY_SEND_BUDGET": "8"}


def record(run: Runner, n: int = 3) -> None:
    """n events in the spool, recorded in local mode (no sender involved)."""
    argvs = [
        ["db", "status"],
        ["db", "m", "--dry-run", "prod"],
        ["fail"],
        ["db", "nosuch"],
    ]  # one event each
    for i in range(n):
        run("exampleclick", *argvs[i % len(argvs)])


def flush(run: Runner, url: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return run("autotelemetry", "flush", env={"AUTOTELEMETRY_ENDPOINT": url, **FAST, **env})


def stored_ids(run: Runner) -> list[str]:
    ids = [e["event_id"] for e in run.stored()]
    assert len(ids) == len(set(ids)), "duplicate in the local store"
    return ids


def status(run: Runner, url: str | None = None) -> dict:
    env = {"AUTOTELEMETRY_ENDPOINT": url} if url else {}
    return json.loads(run("autotelemetry", "status", "--json", env=env).stdout)["delivery"]


def wait_for(predicate, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_all_sent_and_otlp_parses_strictly(run, receiver):
    record(run, 4)
    out = flush(run, receiver.url, AUTOTELEMETRY_HEADERS="Authorization=Bearer%20s3cret,X-Team=cli")
    assert out.returncode == 0, out.stderr
    assert b"sent 4; kept 0 for retry; dropped 0" in out.stdout
    assert sorted(receiver.delivered) == sorted(stored_ids(run))
    req = receiver.requests[0]
    assert req["path"] == "/v1/logs"
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    assert req["headers"]["Content-Encoding"] == "gzip"
    by_name = Counter(r["eventName"] for r in receiver.records)
    assert by_name["cli.command"] == 4
    rec = next(r for r in receiver.records if r["attrs"].get("cli.command", "").endswith("migrate"))
    assert rec["resource"]["service.name"] == "exampleclick"
    assert rec["resource"]["service.version"] == "1.2.0"
    attrs = rec["attrs"]
    assert attrs["process.exit.code"] == 0 and attrs["cli.flags"] == ["--dry-run"]
    assert attrs["cli.status"] == "success" and rec["resource"]["os.type"] == "linux"
    assert {"host.arch", "process.runtime.version"} <= set(rec["resource"])
    assert {"session.id", "process.pid"} <= set(attrs) and "error.type" not in attrs
    fail = next(r for r in receiver.records if r["attrs"].get("cli.status") == "failure")
    assert fail["attrs"]["process.exit.code"] == 1
    (failed,) = [e for e in run.stored() if e.get("status") == "failure"]
    assert fail["attrs"]["error.type"] == failed["error_type"] == "ClickException"
    # headers are never written to disk
    for path in run.home.rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes(), path
    # a second flush has nothing left to send
    again = flush(run, receiver.url)
    assert b"sent 0;" in again.stdout
    assert len(receiver.of("logs")) == 1 and len(receiver.of("traces")) == 1
    d = status(run, receiver.url)
    assert d["backlog"] == 0 and d["last"]["sent"] == 0


def test_json_webhook(run):
    r = Receiver(protocol="json")
    try:
        record(run, 2)
        out = flush(run, r.url + "/hook", AUTOTELEMETRY_PROTOCOL="json")
        assert out.returncode == 0, out.stderr
        assert r.requests[0]["path"] == "/hook"
        assert {e["event_id"] for e in r.records} == set(stored_ids(run))
        assert all(e["schema_version"] == 1 and "cli" in e for e in r.records)
    finally:
        r.close()


def test_500_then_200(run, receiver):
    record(run, 3)
    receiver.plan = [500]
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert [q["action"] for q in receiver.of("logs")] == [500, 200]
    assert sorted(receiver.delivered) == sorted(stored_ids(run))


def test_429_retry_after_is_respected(run, receiver):
    record(run, 2)
    receiver.plan = [("status", 429, {"Retry-After": "1"})]
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout + out.stderr
    first, second = receiver.of("logs")
    assert second["time"] - first["time"] >= 0.9
    assert sorted(receiver.delivered) == sorted(stored_ids(run))


def test_503_retry_after_beyond_budget_is_kept(run, receiver):
    record(run, 2)
    receiver.plan = [("status", 503, {"Retry-After": "3600"})]
    out = flush(run, receiver.url)
    assert out.returncode == 1
    assert b"sent 0; kept 2 for retry (HTTP 503)" in out.stdout
    d = status(run, receiver.url)
    assert d["backlog"] == 2 and d["next_retry"] > time.time() + 3000
    assert b"next retry" in run("autotelemetry", "status").stdout
    out = flush(run, receiver.url)  # `flush` is an explicit request: it tries now
    assert out.returncode == 0
    assert sorted(receiver.delivered) == sorted(stored_ids(run))


def spool_events(run: Runner, n: int) -> None:
    """n valid events in the spool, written by the hooked venv's own spool writer (fast)."""
    code = (
        "import sys, uuid\n"
        "from autotelemetry.hook import event, spool\n"
        "for i in range(int(sys.argv[1])):\n"
        "    spool.write(sys.argv[2], [event.dumps({'schema_version': 1,\n"
        "        'event_id': str(uuid.uuid4()), 'type': 'command',\n"
        "        'timestamp': '2026-11-01T10:00:00.000Z', 'session_id': str(uuid.uuid4()),\n"
        "        'install_id': str(uuid.uuid4()), 'cli': {'name': 'bulk', 'version': '1',\n"
        "        'framework': 'click'}, 'env': event.environment(), 'command': 'bulk run',\n"
        "        'flags': [], 'duration_ms': 1.0, 'exit_code': 0, 'status': 'success',\n"
        "        'error_type': None})])\n"
    )
    out = subprocess.run(
        [run.venv.python, "-c", code, str(n), str(run.home)], capture_output=True, env=run.env()
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("code", [401, 403, 404, 405, 415])
def test_endpoint_that_refuses_requests_keeps_everything_and_says_so(run, receiver, code):
    """Regression: 401 dropped the batch it answered (and 404/403 likewise): a bad token or
    URL destroyed the backlog one batch per backoff. Now nothing is dropped."""
    record(run, 3)
    receiver.default = code
    out = flush(run, receiver.url)
    assert out.returncode == 1
    assert out.stdout.startswith(
        f"sent 0; kept 3 for retry (the endpoint refuses every request: HTTP {code}); "
        "dropped 0".encode()
    ), out.stdout
    assert len(receiver.requests) == 1  # the request as a whole: nothing split
    d = status(run, receiver.url)
    assert d["dropped"] == {} and d["backlog"] == 3
    assert d["endpoint_error"]["code"] == code and d["next_retry"] > time.time()
    text = run("autotelemetry", "status", env={"AUTOTELEMETRY_ENDPOINT": receiver.url}).stdout
    assert f"the endpoint refuses every request: HTTP {code}".encode() in text
    doctor = run("autotelemetry", "doctor", env={"AUTOTELEMETRY_ENDPOINT": receiver.url})
    assert doctor.returncode == 1
    assert f"HTTP {code}".encode() in doctor.stdout and b"fix: " in doctor.stdout
    # Fixed: everything kept is delivered, the alarm clears.
    receiver.default = 200
    out = flush(run, receiver.url)
    assert out.returncode == 0 and b"sent 3; kept 0 for retry; dropped 0" in out.stdout
    assert sorted(receiver.delivered) == sorted(stored_ids(run))
    d = status(run, receiver.url)
    assert d["endpoint_error"] is None and d["next_retry"] is None


def test_400_for_every_record_means_a_wrong_endpoint_not_300_bad_events(run, receiver):
    """Regression: a 400 on every request (the wrong protocol) dropped everything after
    ~2 requests per event (598 requests for 300 events). Now: a few requests, none dropped."""
    spool_events(run, 300)
    receiver.default = 400
    out = flush(run, receiver.url)
    assert out.returncode == 1
    assert b"kept 300 for retry (the endpoint refuses every request: HTTP 400 for every " in (
        out.stdout
    ), out.stdout
    assert b"dropped 0" in out.stdout
    # One batch, halved down to single records until 3 of them failed alone: 1 + 9 + 3.
    assert len(receiver.requests) <= 15
    d = status(run, receiver.url)
    assert d["dropped"] == {} and d["backlog"] == 300
    assert "AUTOTELEMETRY_PROTOCOL" in d["endpoint_error"]["fix"]
    receiver.default = 200
    assert flush(run, receiver.url).returncode == 0
    assert len(set(receiver.delivered)) == 300


def test_a_single_event_rejected_alone_is_dropped_only_once_others_are_accepted(run, receiver):
    record(run, 1)
    (poison,) = stored_ids(run)
    receiver.default = lambda ids: 400 if poison in ids else 200
    out = flush(run, receiver.url)  # alone: no proof it is the record, not the endpoint
    assert out.returncode == 1 and b"dropped 0" in out.stdout
    assert status(run, receiver.url)["backlog"] == 1
    record(run, 2)  # with others, accepted: now proven bad on its own
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout
    assert b"sent 2; kept 0 for retry; dropped 1 (http_400: 1)" in out.stdout
    d = status(run, receiver.url)
    assert d["dropped"] == {"http_400": 1} and d["endpoint_error"] is None


def test_old_records_a_backend_refuses_do_not_block_the_backlog(run, receiver):
    """Three rejected records in a row with none accepted yet look like a wrong endpoint;
    one probe (the newest record, alone) tells them apart: here they are bad on their own."""
    spool_events(run, 10)
    ids = stored_ids(run)
    order = [e["event_id"] for e in reversed(run.stored())]  # oldest first (rowid order)
    refused = set(order[:3])
    receiver.default = lambda batch: 400 if refused & set(batch) else 200
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert b"sent 7; kept 0 for retry; dropped 3 (http_400: 3)" in out.stdout
    assert set(receiver.delivered) == set(ids) - refused
    assert status(run, receiver.url)["endpoint_error"] is None


def test_flush_and_status_after_a_retry_that_succeeded(run, receiver):
    """Regression: after a 503 then a success, flush said "kept 0 for retry (HTTP 503)" with a
    next-retry time in the past, and status kept showing a retry time with nothing to send."""
    record(run, 2)
    receiver.plan = [503]
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout
    assert out.stdout == (
        b"sent 2; kept 0 for retry; dropped 0; traces: sent 2 span(s), kept 0, dropped 0\n"
    )
    d = status(run, receiver.url)
    assert d["backlog"] == 0 and d["next_retry"] is None
    assert d["last"]["kept_reason"] is None
    assert b"next retry" not in run("autotelemetry", "status").stdout


def test_413_splits_until_it_fits_and_drops_a_poison_event(run, receiver):
    record(run, 5)
    ids = sorted(stored_ids(run))
    poison = ids[2]

    def judge(batch: list[str]) -> int:
        if len(batch) > 2:
            return 413
        return 400 if poison in batch else 200

    receiver.default = judge
    out = flush(run, receiver.url)
    assert b"sent 4; kept 0 for retry; dropped 1 (http_400: 1)" in out.stdout
    assert sorted(receiver.delivered) == sorted(i for i in ids if i != poison)
    assert len(set(stored_ids(run))) == 5


def test_hanging_server_times_out_and_keeps(run, receiver):
    record(run, 2)
    receiver.plan = ["hang"]
    out = flush(run, receiver.url, AUTOTELEMETRY_TIMEOUT="1", AUTOTELEMETRY_RETRY_BASE="30")
    assert out.returncode == 1 and b"kept 2 for retry (timeout)" in out.stdout
    receiver.release.set()
    out = flush(run, receiver.url)
    assert out.returncode == 0
    assert set(receiver.delivered) == set(stored_ids(run))


def test_connection_refused_then_delivered(run, receiver):
    record(run, 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d" % s.getsockname()[1]
    out = flush(run, dead, AUTOTELEMETRY_RETRY_BASE="30")
    assert out.returncode == 1 and b"kept 2 for retry (network error" in out.stdout
    assert flush(run, receiver.url).returncode == 0
    assert sorted(receiver.delivered) == sorted(stored_ids(run))


def test_connection_dropped_mid_request(run, receiver):
    record(run, 3)
    receiver.plan = ["drop"]
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout
    assert receiver.requests[0]["action"] == "drop"
    assert sorted(receiver.delivered) == sorted(stored_ids(run))


def test_debug_prints_payload_and_masks_headers(run, receiver):
    record(run, 1)
    out = flush(
        run, receiver.url, AUTOTELEMETRY_DEBUG="1", AUTOTELEMETRY_HEADERS="api-key=supersecret1"
    )
    assert b"payload {" in out.stderr and b"HTTP 200" in out.stderr
    assert b"supersecret1" not in out.stderr and b"api-key" in out.stderr


def _sender_starts(home: Path) -> int:
    try:
        text = (home / "sender.log").read_text()
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if line.endswith(" start"))


def test_detached_sender_killed_mid_batch_loses_nothing(run, receiver):
    receiver.plan = ["hang"]
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, "AUTOTELEMETRY_SEND_INTERVAL": "1"}
    out = run("exampleclick", "db", "status", env=env)
    assert out.returncode == 0 and out.stderr == b""
    assert receiver.hanging.wait(60), "the detached sender never sent"
    pid = int((run.home / "sender.lock").read_text())
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: _gone(pid), 30)
    receiver.release.set()
    record(run, 2)
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout + out.stderr
    ids = stored_ids(run)
    assert len(ids) == 3 and set(receiver.delivered) == set(ids)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.split() == ["State:", "Z", "(zombie)"] for line in f)
    except FileNotFoundError:
        return True


def test_cli_with_endpoint_imports_neither_requests_nor_subprocess(run, venv, receiver, tmp_path):
    (run.home / "allowlist").write_text("modules_at_exit\n")
    dump = tmp_path / "modules.txt"
    script = str(SCRIPTS / "modules_at_exit.py")
    env = run.env(AUTOTELEMETRY_ENDPOINT=receiver.url)
    out = subprocess.run([venv.python, script, "click", str(dump), "--flag"], env=env)
    assert out.returncode == 0
    modules = set(dump.read_text().split())
    assert "autotelemetry.hook.spawn" in modules  # the spawn path ran
    assert not {"requests", "subprocess", "sqlite3", "urllib3"} & modules
    assert wait_for(lambda: len(receiver.delivered) == 1)
    # local mode: nothing of the delivery machinery is even imported
    out = subprocess.run([venv.python, script, "click", str(dump)], env=run.env())
    assert "autotelemetry.hook.spawn" not in set(dump.read_text().split())


def test_spool_caps_evict_oldest_and_count(run, receiver):
    record(run, 5)
    oldest = sorted((run.home / "spool").glob("*.jsonl"))[:3]
    old_ids = {json.loads(p.read_text())["event_id"] for p in oldest}
    out = flush(run, receiver.url, AUTOTELEMETRY_SPOOL_MAX_FILES="2")
    assert b"sent 2;" in out.stdout
    assert not old_ids & set(receiver.delivered)
    assert status(run)["dropped"] == {"spool_evicted": 3}
    (drop,) = [r for r in receiver.records if r["eventName"] == "autotelemetry.dropped"]
    assert drop["attrs"]["autotelemetry.dropped.spool_evicted"] == 3
    assert b"spool_evicted: 3" in run("autotelemetry", "status").stdout


@pytest.mark.slow
def test_200_concurrent_runs_few_senders(run, receiver):
    env = run.env(AUTOTELEMETRY_ENDPOINT=receiver.url, AUTOTELEMETRY_SEND_INTERVAL="30")
    procs = [
        subprocess.Popen(
            [run.venv.script("exampleclick"), "db", "status"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(200)
    ]
    for p in procs:
        assert p.wait(300) == 0 and p.stderr.read() == b""
    assert wait_for(lambda: len(set(receiver.delivered)) == 200, 180), len(receiver.delivered)
    try:
        # One spawn window covers the burst; a racing CLI or two may add a sender.
        assert _sender_starts(run.home) <= 3
    finally:
        try:  # the sender lingers for the rest of its window: end it now
            os.kill(int((run.home / "sender.lock").read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    assert len(stored_ids(run)) == 200


# --- OTLP: partial success, a signal the collector refuses, dry run -----------------------


@pytest.mark.parametrize("encoding", ["http/protobuf", "http/json"])
def test_partial_success_counts_rejected_records_with_the_message(run, receiver, encoding):
    record(run, 3)
    receiver.plan = [
        ("partial", 2, "quota exceeded: 2 log records over the limit"),
        ("partial", 1, "span limit"),
    ]
    out = flush(run, receiver.url, AUTOTELEMETRY_PROTOCOL=encoding)
    assert out.returncode == 0, out.stdout + out.stderr
    assert [q["signal"] for q in receiver.requests] == ["logs", "traces"]
    assert b"sent 1; kept 0 for retry; dropped 2 (rejected: 2)" in out.stdout
    assert b"traces: sent 2 span(s), kept 0, dropped 1 (rejected: 1)" in out.stdout
    d = status(run, receiver.url)
    assert d["dropped"] == {"rejected": 2} and d["traces"]["dropped"] == {"rejected": 1}
    assert d["rejected"]["logs"]["count"] == 2
    assert d["rejected"]["logs"]["message"] == "quota exceeded: 2 log records over the limit"
    assert d["rejected"]["traces"]["message"] == "span limit"
    text = run("autotelemetry", "status", env={"AUTOTELEMETRY_ENDPOINT": receiver.url}).stdout
    assert b"rejected 2 log record(s) in total" in text and b"quota exceeded" in text
    doctor = run("autotelemetry", "doctor", "--json", env={"AUTOTELEMETRY_ENDPOINT": receiver.url})
    warned = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "collector"]
    assert {c["level"] for c in warned} == {"warn"}
    assert any("quota exceeded: 2 log records" in c["detail"] for c in warned)
    # rejected records are dropped, not retried; the next batch reports the count
    record(run, 1)
    flush(run, receiver.url, AUTOTELEMETRY_PROTOCOL=encoding)
    (drop,) = [r for r in receiver.records if r["eventName"] == "autotelemetry.dropped"]
    assert drop["attrs"]["autotelemetry.dropped.rejected"] == 2
    assert len(receiver.of("logs")) == 2


def test_a_warning_without_rejections_is_kept_as_a_message(run, receiver):
    record(run, 1)
    receiver.plan = [("partial", 0, "deprecated attribute names")]
    flush(run, receiver.url)
    d = status(run, receiver.url)
    assert d["dropped"] == {} and d["rejected"]["logs"]["count"] == 0
    assert d["rejected"]["logs"]["message"] == "deprecated attribute names"


def test_a_collector_without_traces_pipeline_loses_no_logs(run, receiver):
    record(run, 3)
    receiver.plan = [200, 404]  # logs accepted, /v1/traces unknown
    out = flush(run, receiver.url)
    assert out.returncode == 0, out.stdout
    assert len(receiver.delivered) == 3 and receiver.spans == []
    assert b"traces: sent 0 span(s), kept 0 (HTTP 404), dropped 3 (http_404: 3)" in out.stdout
    d = status(run, receiver.url)
    assert d["next_retry"] is None  # no backoff for the logs
    assert d["traces"] == {"backlog": 0, "dropped": {"http_404": 3}}
    doctor = run("autotelemetry", "doctor", "--json", env={"AUTOTELEMETRY_ENDPOINT": receiver.url})
    assert any("no traces pipeline" in c["detail"] for c in json.loads(doctor.stdout)["checks"])
    # the logs keep flowing
    record(run, 1)
    receiver.plan = [200, 404]
    flush(run, receiver.url)
    assert len(receiver.delivered) == 4


def _snapshot(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


@pytest.mark.parametrize("encoding", ["http/protobuf", "http/json", "json"])
def test_dry_run_prints_exactly_what_is_sent_and_changes_nothing(run, encoding):
    receiver = Receiver(protocol="json" if encoding == "json" else "otlp")
    try:
        _dry_run(run, receiver, encoding)
    finally:
        receiver.close()


def _dry_run(run: Runner, receiver: Receiver, encoding: str) -> None:
    from receiver import decode

    record(run, 3)
    assert flush(run, receiver.url, AUTOTELEMETRY_PROTOCOL=encoding).returncode == 0
    receiver.requests.clear()
    receiver.messages.clear()
    receiver.records.clear()
    # A drop, so the next batch carries counts: over a one-event store cap the oldest
    # events go, undelivered ones among them (counted as store_cap).
    record(run, 2)
    capped = run("autotelemetry", "events", env={"AUTOTELEMETRY_STORE_MAX_EVENTS": "1"})
    assert capped.returncode == 0, capped.stderr
    capped_away = status(run, receiver.url)["dropped"]["store_cap"]
    assert 1 <= capped_away <= 2
    record(run, 4)  # in the spool, not yet in the store
    receiver.requests.clear()
    receiver.messages.clear()
    receiver.records.clear()
    before = _snapshot(run.home)
    assert any(name.startswith("spool/") for name in before)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, "AUTOTELEMETRY_PROTOCOL": encoding, **FAST}
    dry = run("autotelemetry", "flush", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert _snapshot(run.home) == before  # store, spool, ledger: byte-identical
    assert receiver.requests == []
    printed = [json.loads(line) for line in dry.stdout.splitlines()]
    assert b"nothing sent, nothing changed" in dry.stderr
    out = flush(run, receiver.url, AUTOTELEMETRY_PROTOCOL=encoding)
    assert out.returncode == 0
    if encoding == "json":
        sent = [r for r in receiver.records if "event_id" in r]
        assert printed[0]["events"] == sent
        assert printed[0]["dropped"] == {"store_cap": capped_away}
        assert len(printed) == 1
        return
    assert len(printed) == len(receiver.messages) == 2  # one logs and one traces request
    for data, sent in zip(printed, receiver.messages):
        signal = "traces" if "resourceSpans" in data else "logs"
        shown = decode(signal, json.dumps(data).encode(), "application/json")
        for msg in (shown, sent):  # the drop record's time is taken when it is built
            for rl in getattr(msg, "resource_logs", []):
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        if rec.event_name == "autotelemetry.dropped":
                            rec.time_unix_nano = rec.observed_time_unix_nano = 0
        assert shown == sent
    if encoding == "http/json":  # the very JSON posted (the spans carry no build time)
        assert json.loads(receiver.of("traces")[-1]["body"]) == printed[1]
    assert "autotelemetry.dropped.store_cap" in json.dumps(printed[0])
    spans = printed[1]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == 4 + 2 - capped_away  # the spool's 4 and the store's undelivered
