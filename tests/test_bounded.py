"""Bounded and recoverable in every mode (issue 16): every cap enforced by whoever touches
the data, immune to clock jumps; invalid events quarantined and counted; readers that never
crash; one sender at a time; temporaries that never pile up; crash counts that add up.

Time is faked through the values that carry it (a stamp or a file name in the future or
the past), never by sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import Runner
from test_reliability import synthetic_spool, valid_event

ROOT = Path(__file__).resolve().parent.parent


def status(run: Runner, **env: str) -> dict:
    out = run("autotelemetry", "status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["delivery"]


def put_line(run: Runner, line: str, born_ns: int | None = None) -> Path:
    spool = run.home / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    path = spool / f"{born_ns or time.time_ns():020d}-1-{os.urandom(4).hex()}.jsonl"
    path.write_text(line + "\n")
    return path


# --- limits in every mode -------------------------------------------------------------


def test_a_limits_stamp_from_the_future_does_not_switch_the_writers_caps_off(run):
    """Regression: `eviction.due` (then `spool._limits_due`) took a `spool.limits` stamp from
    the future as fresh, so once the clock had been ahead no writer checked the caps again
    (12,320 files stayed)."""
    synthetic_spool(run, 100)  # over the cap of 50 before the first check
    stamp = run.home / "spool.limits"
    stamp.touch()
    ahead = time.time() + 30 * 86400
    os.utime(stamp, (ahead, ahead))
    # 1,000 writes by the real writer (about 1 in 64 checks the caps): a cap of 50 files.
    code = (
        "import sys, uuid\n"
        "from autotelemetry.hook import spool\n"
        "for i in range(1000):\n"
        "    spool.write(sys.argv[1], ['{}'])\n"
    )
    out = subprocess.run(
        [run.venv.python, "-c", code, str(run.home)],
        capture_output=True,
        env=run.env(AUTOTELEMETRY_SPOOL_MAX_FILES="50"),
    )
    assert out.returncode == 0, out.stderr
    assert abs(stamp.stat().st_mtime - time.time()) < 600  # claimed, moved to now
    evicted = sum(int(p.name.rsplit("-", 1)[1]) for p in (run.home / "evictions").iterdir())
    remaining = len(list((run.home / "spool").glob("*.jsonl")))
    assert evicted >= 50 and evicted + remaining == 1100  # every file kept or counted


def test_local_mode_readers_enforce_the_spool_and_store_caps_and_count(run):
    """Regression: without a sender nothing enforced the spool caps on readers' side, and the
    store had no limit at all in local mode."""
    synthetic_spool(run, 120)
    env = {"AUTOTELEMETRY_SPOOL_MAX_FILES": "100", "AUTOTELEMETRY_STORE_MAX_EVENTS": "60"}
    out = run("autotelemetry", "events", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 60  # the newest 60 of the 100 kept
    d = status(run)
    assert d["dropped"] == {"spool_evicted": 20, "store_cap": 40}
    assert d["evicted"] == 40
    assert list((run.home / "evictions").iterdir()) == []  # folded into the store, once
    text = run("autotelemetry", "status").stdout
    assert b"spool_evicted: 20" in text and b"40 stored event(s) deleted by the store cap" in text
    # Again: nothing more is evicted, nothing counted twice.
    assert run("autotelemetry", "events", "--json", env=env).returncode == 0
    assert status(run)["dropped"] == {"spool_evicted": 20, "store_cap": 40}


def test_store_byte_cap_evicts_oldest_first(run):
    synthetic_spool(run, 400)
    env = {"AUTOTELEMETRY_STORE_MAX_BYTES": str(200 << 10)}
    out = run("autotelemetry", "events", "--json", env=env)
    assert out.returncode == 0, out.stderr
    kept = len(out.stdout.splitlines())
    assert 0 < kept < 400
    d = status(run)
    assert d["dropped"] == {"store_cap": 400 - kept} and d["evicted"] == 400 - kept
    db = sqlite3.connect(run.home / "store.sqlite")
    (low,) = db.execute("SELECT min(rowid) FROM events").fetchone()
    pages, free = (
        db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count")
    )
    db.close()
    assert low == 400 - kept + 1  # the oldest went first
    assert (pages - free) * 4096 <= 200 << 10


def test_spool_file_ages_are_measured_both_ways(run):
    """A name from the far past is evicted (counted); one from the future is kept."""
    now = time.time_ns()
    put_line(run, json.dumps(valid_event(command="past")), now - 40 * 86400 * 10**9)
    put_line(run, json.dumps(valid_event(command="future")), now + 40 * 86400 * 10**9)
    out = run("autotelemetry", "events", "--json")
    assert [json.loads(line)["command"] for line in out.stdout.splitlines()] == ["future"]
    assert status(run)["dropped"] == {"spool_evicted": 1}


# --- validation -------------------------------------------------------------------------

MALFORMED = [
    '{"event_id":"a"}',  # readers died on it (`events`: KeyError 'timestamp')
    json.dumps(valid_event(duration_ms=None)),  # TypeError in `events`
    json.dumps(valid_event())[:-1] + ',"x":NaN}',  # `--json` printed a literal NaN
    json.dumps(valid_event(exit_code=2**70)),  # valid JSON Schema, too big for SQLite
    json.dumps(valid_event(status="great")),
    json.dumps(valid_event(command="x\ud800")),  # a lone surrogate
    "[1, 2]",
    "{",
]


def test_invalid_events_are_quarantined_counted_and_never_stored_half(run):
    good = valid_event()
    path = put_line(run, "\n".join([json.dumps(good), *MALFORMED]))
    out = run("autotelemetry", "events", "--json")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["event_id"] for line in out.stdout.splitlines()] == [good["event_id"]]
    assert b"NaN" not in out.stdout
    assert f"{len(MALFORMED)} invalid record(s)".encode() in out.stderr
    assert not path.exists() and (run.home / "quarantine" / path.name).exists()
    assert status(run)["dropped"] == {"invalid": len(MALFORMED)}
    text = run("autotelemetry", "events")
    assert text.returncode == 0 and b"synthetic run" in text.stdout
    assert run("autotelemetry", "report", "--json").returncode == 0
    # Read again (as if the reader had died before moving the file): not counted twice.
    (run.home / "quarantine" / path.name).rename(path)
    assert run("autotelemetry", "events", "--json").returncode == 0
    assert status(run)["dropped"] == {"invalid": len(MALFORMED)}


def test_readers_never_crash_on_a_stored_row_and_never_print_nan(run):
    """Rows an older version stored unchecked: `events` (text and JSON) and `report` cope."""
    synthetic_spool(run, 1)
    assert len(run.stored()) == 1
    db = sqlite3.connect(run.home / "store.sqlite")
    bodies = ['{"event_id":"a"}', '{"event_id":"b","duration_ms":NaN}', "[1]", '"x"']
    for i, body in enumerate(bodies):
        db.execute(
            "INSERT INTO events (event_id, type, ts, body, duration_ms, exit_code) "
            "VALUES (?, 'command', '2026-11-01T10:00:00Z', ?, NULL, NULL)",
            (f"legacy-{i}", body),
        )
    db.commit()
    db.close()
    text = run("autotelemetry", "events")
    assert text.returncode == 0, text.stderr
    assert len(text.stdout.splitlines()) == 1 + 5  # header + rows
    out = run("autotelemetry", "events", "--json")
    assert out.returncode == 0, out.stderr
    assert b"NaN" not in out.stdout
    for line in out.stdout.splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the output"))
    assert run("autotelemetry", "report").returncode == 0
    report = run("autotelemetry", "report", "--json")
    assert report.returncode == 0 and b"NaN" not in report.stdout


def test_the_compiled_validator_agrees_with_jsonschema():
    """The ingest validator is the schema compiled: on generated events (valid, and each with
    one field broken), it says valid exactly when jsonschema does."""
    jsonschema = pytest.importorskip("jsonschema")
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from autotelemetry.store import validate

    assert validate.UNSUPPORTED == []
    assert validate.HOW == "generated"
    schema = validate.load_schema()
    reference = jsonschema.Draft202012Validator(schema)
    compiled, _ = validate.compile_schema(schema)
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**65), max_value=2**65),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from(["command", "crash", "click", "success", "--x", "3.11.7", "-x", ""]),
        st.sampled_from([str(uuid.uuid4()), "2026-11-01T10:00:00.123Z", "2026-11-01T10:00Z"]),
        st.lists(st.text(max_size=3), max_size=3),
        st.just({}),
    )
    crash = {
        **{k: v for k, v in valid_event().items() if k not in ("flags", "status", "error_type")},
        "type": "crash",
        "exception": {
            "type": "ValueError",
            "message": None,
            "frames": [{"module": "m", "function": "f", "line": 1, "in_app": True}],
            "fingerprint": "abc",
        },
        "count": 2,
    }

    def paths(value: object, prefix: tuple = ()) -> list[tuple]:
        out = [prefix] if prefix else []
        if isinstance(value, dict):
            for k, v in value.items():
                out += paths(v, (*prefix, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out += paths(v, (*prefix, i))
        return out

    @hypothesis.settings(max_examples=1500, deadline=None, derandomize=True)
    @hypothesis.given(
        base=st.sampled_from([valid_event(flags=["--a", "--b"]), crash]),
        where=st.integers(min_value=0),
        value=values,
        drop=st.booleans(),
    )
    def agree(base: dict, where: int, value: object, drop: bool) -> None:
        ev = json.loads(json.dumps(base))
        spots = paths(ev)
        *parents, last = spots[where % len(spots)]
        node = ev
        for key in parents:
            node = node[key]
        if drop and isinstance(node, dict):
            del node[last]
        else:
            node[last] = value
        expected = reference.is_valid(ev)
        assert (validate.problem(ev) is None) == expected, (ev, validate.problem(ev))
        assert (compiled(ev) is None) == expected

    assert validate.problem(valid_event()) is None and validate.problem(crash) is None
    agree()


def test_the_generated_validator_is_up_to_date():
    from autotelemetry.store import validate

    text = (ROOT / "autotelemetry" / "schema.json").read_text(encoding="utf-8")
    generated = (ROOT / validate.GENERATED).read_text(encoding="utf-8")
    assert generated == validate.generated_module(text), "run `make docs`"


# --- one sender at a time ------------------------------------------------------------------


def _sender_starts(home: Path) -> int:
    try:
        text = (home / "sender.log").read_text()
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if line.endswith(" start"))


def test_cli_runs_finishing_together_start_exactly_one_sender(run, receiver):
    """Regression: the claim was check-then-rename: concurrent CLIs started 2-3 senders in
    the same second. Now a non-blocking flock taken under the stamp check, handed over."""
    env = run.env(AUTOTELEMETRY_ENDPOINT=receiver.url, AUTOTELEMETRY_SEND_INTERVAL="120")
    cli = [run.venv.script("exampleclick"), "db", "status"]
    with ThreadPoolExecutor(24) as pool:
        codes = list(
            pool.map(
                lambda _: subprocess.run(cli, env=env, capture_output=True).returncode, range(24)
            )
        )
    assert codes == [0] * 24
    deadline = time.monotonic() + 60
    while len(set(receiver.delivered)) < 24 and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert len(set(receiver.delivered)) == 24
        assert _sender_starts(run.home) == 1
    finally:  # the sender lingers for its window: end it now
        try:
            os.kill(int((run.home / "sender.lock").read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass


def test_a_sender_that_cannot_log_still_exits_quietly(run, tmp_path):
    """Regression: `sender.main` died on its first log write (outside its `try`) when the
    home could not be written (disk full, read-only)."""
    synthetic_spool(run, 1)
    (run.home / "sender.log").mkdir()  # a log that can never be opened for writing
    out = subprocess.run(
        [run.venv.python, "-m", "autotelemetry.sender"],
        capture_output=True,
        env=run.env(AUTOTELEMETRY_ENDPOINT="http://127.0.0.1:9/", AUTOTELEMETRY_SEND_BUDGET="2"),
    )
    assert out.returncode == 0 and out.stderr == b"", out.stderr


# --- temporaries ----------------------------------------------------------------------------


def test_stale_temporaries_of_killed_writers_are_removed_by_readers(run):
    """`hook/fs.write_file` leaves `.<name>.<random>.tmp` after a SIGKILL (install id,
    crash state, spool files): readers delete the stale ones, from the past or the future."""
    run.home.mkdir(exist_ok=True)
    (run.home / "spool").mkdir(mode=0o700, exist_ok=True)
    names = {
        run.home / ".install_id.0123456789ab.tmp": -3600,
        run.home / ".crash-state.ba9876543210.tmp": +86400,  # written while the clock was ahead
        run.home / "spool" / f".{time.time_ns():020d}-1-aa.jsonl.abcdefabcdef.tmp": -3600,
    }
    fresh = run.home / ".install_id.fedcba987654.tmp"  # a writer at work right now
    for path, offset in [*names.items(), (fresh, 0)]:
        path.write_bytes(b"x")
        os.utime(path, (time.time() + offset, time.time() + offset))
    other = run.home / ".not-ours.tmp"
    other.write_bytes(b"x")
    os.utime(other, (time.time() - 3600, time.time() - 3600))
    assert run("autotelemetry", "events").returncode == 0
    assert [p for p in names if p.exists()] == []
    assert fresh.exists() and other.exists()


# --- crash counts -------------------------------------------------------------------------


def test_concurrent_crashes_are_all_counted(run):
    """Regression: the rate limit's read-modify-write of crash-state lost counts (154
    crashing runs counted as 105). Now each suppressed crash is a file of its own, taken by
    the next stored crash of the fingerprint."""
    n = 40
    cli = [run.venv.script("exampleclick"), "crash", "x"]
    env = run.env()
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda _: subprocess.run(cli, env=env, capture_output=True), range(n)))
    # The window ends (its start moved an hour and more back): the next crash is stored.
    state = run.home / "crash-state"
    lines = []
    for line in state.read_text().splitlines():
        fp, start, seen, count = line.split()
        lines.append(f"{fp} {float(start) - 7200:.3f} {seen} {count}")
    state.write_text("\n".join(lines) + "\n")
    subprocess.run(cli, env=env, capture_output=True)
    crashes = [e for e in run.stored() if e["type"] == "crash"]
    assert sum(e["count"] for e in crashes) == n + 1
    assert not (run.home / "crash-repeats").exists() or not list(
        (run.home / "crash-repeats").iterdir()
    )


# --- doctor -------------------------------------------------------------------------------


def test_doctor_reports_drops_backlog_and_last_send(run, receiver):
    """Regression: doctor said "no problems found" with 300 events dropped and an endpoint
    answering 401 (it only tried a TCP connect)."""
    put_line(run, '{"event_id":"a"}')
    synthetic_spool(run, 3)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, "AUTOTELEMETRY_RETRY_BASE": "0.1"}
    receiver.default = 503
    run("autotelemetry", "flush", env={**env, "AUTOTELEMETRY_SEND_BUDGET": "1"})
    out = run("autotelemetry", "doctor", env=env)
    assert b"1 spool records that were not valid events (quarantined) (invalid)" in out.stdout
    assert b"3 event(s) not yet sent, the oldest from 2026-01-01T00:00:00.000Z" in out.stdout
    assert b"kept 3 (HTTP 503)" in out.stdout
    receiver.default = 401
    test = run("autotelemetry", "doctor", "--send-test", env=env)
    assert test.returncode == 1
    assert b"HTTP 401" in test.stdout and b"AUTOTELEMETRY_HEADERS" in test.stdout
    receiver.default = 200
    ok = run("autotelemetry", "doctor", "--send-test", "--json", env=env)
    checks = {c["name"]: c for c in json.loads(ok.stdout)["checks"]}
    assert checks["send test"]["level"] == "ok" and "HTTP 200" in checks["send test"]["detail"]
    assert receiver.requests[-1]["headers"].get("Content-Encoding") == "gzip"


def test_doctor_and_status_on_a_read_only_mount_do_not_call_a_healthy_store_corrupt(run, tmp_path):
    """Regression: opened read-only, a WAL store needs its -shm: on a read-only mount that
    failed, and doctor called the healthy store corrupt."""
    synthetic_spool(run, 2)
    assert len(run.stored()) == 2
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # a real read-only mount (a bind mount of the home)
        mounted = subprocess.run(["mount", "--bind", str(run.home), str(ro)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot bind-mount here: {mounted.stderr!r}")
        try:
            remount = ["mount", "-o", "remount,ro,bind", str(ro)]
            assert subprocess.run(remount, capture_output=True).returncode == 0
            env = {"AUTOTELEMETRY_HOME": str(ro)}
            out = run("autotelemetry", "doctor", env=env)
            status_out = run("autotelemetry", "status", env=env)
            events = run("autotelemetry", "events", "--json", env=env)
        finally:
            subprocess.run(["umount", str(ro)], capture_output=True)
    else:
        (run.home / "store.sqlite").chmod(0o400)
        run.home.chmod(0o500)
        try:
            out = run("autotelemetry", "doctor")
            status_out = run("autotelemetry", "status")
            events = run("autotelemetry", "events", "--json")
        finally:
            run.home.chmod(0o700)
    assert b"corrupt" not in out.stdout and b"corrupt" not in status_out.stdout, out.stdout
    assert b"store" in status_out.stdout
    assert events.returncode != 0 and b"Traceback" not in events.stderr
