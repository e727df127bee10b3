"""Reliability under load and faults: real CLIs, real kills, real limits (issue 9, items 1–3).

Every fault is injected for real (SIGKILL, RLIMIT_FSIZE, a file where a
directory should be, a damaged SQLite file); only the wall clock is not moved
(the system clock cannot be changed here and libfaketime is not installed),
so clock jumps are tested through the values that carry time: spool file
names, the spawn stamp's mtime, the stored retry time. The figures these tests
produce are in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import SYNTHETIC_ENV, Runner, read_spool
from conftest import assert_same_output as _same

FAST = {"AUTOTELEMETRY_RETRY_BASE": "0.1", "AUTOTELEMETRY_SEND_BUDGET": "8"}


def valid_event(**fields: object) -> dict:
    """A command event valid against the schema, with ``fields`` replaced."""
    ev: dict = {
        "schema_version": 1,
        "event_id": str(uuid.uuid4()),
        "type": "command",
        "timestamp": "2026-11-01T10:00:00.000Z",
        "session_id": str(uuid.uuid4()),
        "install_id": str(uuid.uuid4()),
        "cli": {"name": "synthetic", "version": "1", "framework": "click"},
        "env": dict(SYNTHETIC_ENV),
        "command": "synthetic run",
        "flags": [],
        "duration_ms": 1.0,
        "exit_code": 0,
        "status": "success",
        "error_type": None,
    }
    ev.update(fields)
    return ev


def stored(run: Runner) -> list[dict]:
    events = run.stored()
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event is in the store twice"
    return events


def synthetic_spool(run: Runner, n: int, per_file: int = 1) -> None:
    """n spool files written by the real spool.write of the hooked venv (fast: one process)."""
    code = (
        "import sys, uuid\n"
        "from autotelemetry.hook import event, spool\n"
        "n, k = int(sys.argv[1]), int(sys.argv[2])\n"
        "for i in range(n):\n"
        "    lines = [event.dumps({'schema_version': 1, 'event_id': str(uuid.uuid4()),\n"
        "        'type': 'command', 'timestamp': '2026-01-01T00:00:00.000Z',\n"
        "        'session_id': str(uuid.uuid4()), 'install_id': str(uuid.uuid4()),\n"
        "        'cli': {'name': 'synthetic', 'version': '1', 'framework': 'click'},\n"
        "        'env': event.environment(), 'command': 'synthetic run',\n"
        "        'flags': ['--x'], 'duration_ms': 1.0, 'exit_code': 0, 'status': 'success',\n"
        "        'error_type': None}) for _ in range(k)]\n"
        "    spool.write(sys.argv[3], lines)\n"
    )
    out = subprocess.run(
        [run.venv.python, "-c", code, str(n), str(per_file), str(run.home)],
        capture_output=True,
        env=run.env(AUTOTELEMETRY_SPOOL_MAX_FILES="1000000"),
    )
    assert out.returncode == 0, out.stderr


# --- 1. concurrency ---------------------------------------------------------------


@pytest.mark.slow
def test_500_runs_50_at_a_time_with_readers_and_a_sender(run, receiver):
    """Every event lands in the store exactly once and reaches the endpoint at least once."""
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, "AUTOTELEMETRY_SEND_INTERVAL": "2", **FAST}
    argvs = [["db", "status"], ["db", "m", "--dry-run", "p"], ["fail"], ["--bogus"]]
    stop = threading.Event()
    reads = []

    def reader() -> None:
        while not stop.is_set():
            out = run("autotelemetry", "report", "--json")
            reads.append(out.returncode)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        with ThreadPoolExecutor(50) as pool:
            results = list(
                pool.map(lambda i: run("exampleclick", *argvs[i % 4], env=env), range(500))
            )
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert [r.returncode for r in results] == [(0, 0, 1, 2)[i % 4] for i in range(500)]
    assert reads and set(reads) == {0}, "a reader failed while CLIs and a sender ran"
    out = run("autotelemetry", "flush", "--wait", "60", env=env)
    assert out.returncode == 0, out.stderr + out.stdout
    events = stored(run)
    assert len(events) == 500
    assert set(receiver.delivered) == {e["event_id"] for e in events}
    assert list((run.home / "spool").glob("*.jsonl")) == []
    assert not (run.home / "quarantine").exists()


def test_lock_of_a_killed_sender_blocks_nobody(run, receiver):
    """flock is released by the kernel when its holder dies: no timeout to wait out."""
    synthetic_spool(run, 5)
    receiver.default = "hang"
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    proc = subprocess.Popen(
        [run.venv.script("autotelemetry"), "flush"],
        env=run.env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert receiver.hanging.wait(30)
    proc.kill()
    proc.wait()
    receiver.default = 200
    receiver.release.set()
    out = run("autotelemetry", "flush", "--wait", "0", env=env)
    assert out.returncode == 0, out.stderr
    assert b"sent 5" in out.stdout


# --- 2. faults ----------------------------------------------------------------------

KILL_IN_WRITE = """
import os, signal, sys
real_write = os.write
def write(fd, data):
    # Fault injection: die by SIGKILL half-way through the spool file's write.
    if "/spool/." in os.readlink("/proc/self/fd/%d" % fd):
        real_write(fd, bytes(data)[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real_write(fd, data)
os.write = write
from exampleclick.cli import main
main()
"""


def test_sigkill_during_the_exit_write_leaves_no_half_event(run, tmp_path):
    script = tmp_path / "killer.py"
    script.write_text(KILL_IN_WRITE)
    (tmp_path / "killer_ok.py").write_text("from exampleclick.cli import main\nmain()\n")
    (run.home / "allowlist").write_text("killer*\n")
    out = subprocess.run(
        [run.venv.python, str(script), "db", "status"], capture_output=True, env=run.env()
    )
    assert out.returncode == -signal.SIGKILL
    assert out.stdout == b"up to date\n"  # the CLI's own output was already out
    spool = run.home / "spool"
    assert list(spool.glob("*.jsonl")) == []
    (tmp,) = spool.glob(".*.tmp")  # the half-written file is only ever a temporary
    assert stored(run) == []  # readers skip it...
    old = time.time() - 601
    os.utime(tmp, (old, old))
    assert stored(run) == []
    assert list(spool.iterdir()) == []  # ...and remove it once stale
    subprocess.run([run.venv.python, str(script)[:-3] + "_ok.py", "db", "status"], env=run.env())
    assert [e["command"] for e in stored(run)] == ["killer_ok.py db status"]


def kill_at_random(
    argv: list[str], env: dict[str, str], times: int, seed: int, low: float, high: float
) -> list[tuple[int, int]]:
    """Start ``argv`` ``times`` times, SIGKILL each after a random delay in [low, high).

    Returns (pid, exit status) of each run: -9 when the kill landed, else its own status.
    """
    rng = random.Random(seed)
    runs = []
    for _ in range(times):
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(low, high))
        proc.kill()
        runs.append((proc.pid, proc.wait()))
    return runs


def test_sigkill_cli_at_random_instants(run):
    """Bounded loop: whatever instant the kill hits, events are whole or absent.

    Spool files are named after their writer's pid, so each run's event can be
    accounted for exactly: a run that finished wrote exactly one file, a killed
    one none or one (never a partial one: only a temporary), and the store ends
    up with exactly the events of those files.
    """
    kills = 25
    cli = [run.venv.script("exampleclick"), "db", "status"]
    runs = kill_at_random(cli, run.env(), kills, seed=9, low=0.0, high=0.35)
    spool = run.home / "spool"
    files = sorted(spool.glob("*.jsonl")) if spool.exists() else []
    writers = [int(p.name.split("-")[1]) for p in files]
    assert len(writers) == len(set(writers))  # one file per process at most
    for pid, status in runs:
        if status == 0:
            assert pid in writers, "a run that finished left no event"
    assert set(writers) <= {pid for pid, _ in runs}
    assert any(status == -9 for _, status in runs)  # the loop really killed runs
    events = stored(run)  # every spool file parses: nothing quarantined
    assert len(events) == len(files)
    assert not (run.home / "quarantine").exists()
    assert all(e["command"] == "exampleclick db status" for e in events)


def test_sigkill_ingest_at_random_points_loses_and_duplicates_nothing(run):
    synthetic_spool(run, 300, per_file=3)
    ingest = [run.venv.script("autotelemetry"), "events", "--json"]
    kill_at_random(ingest, run.env(), 8, seed=7, low=0.05, high=0.6)
    assert len(stored(run)) == 900


def test_sigkill_sender_at_random_points_loses_nothing(run, receiver):
    synthetic_spool(run, 40)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, "AUTOTELEMETRY_BATCH_EVENTS": "2", **FAST}
    flush = [run.venv.script("autotelemetry"), "flush"]
    kill_at_random(flush, run.env(**env), 6, seed=3, low=0.3, high=0.9)
    out = run("autotelemetry", "flush", env=env)
    assert out.returncode == 0, out.stderr
    ids = {e["event_id"] for e in stored(run)}
    assert len(ids) == 40
    assert set(receiver.delivered) == ids  # at least once (duplicates allowed on the wire)


def _fsize_limit(limit: int):
    def limit_fsize() -> None:
        # Ignored SIGXFSZ is inherited across exec: writes past the limit fail with EFBIG.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_fsize


def test_disk_full_never_changes_the_cli_and_recovers(run, run_bare, venv, bare_venv):
    """RLIMIT_FSIZE stands in for a full disk: the spool write fails with EFBIG."""
    for argv in (["db", "status"], ["fail"], ["crash", "x"], ["--bogus"]):
        hooked = run("exampleclick", *argv, preexec_fn=_fsize_limit(64))
        bare = run_bare("exampleclick", *argv, preexec_fn=_fsize_limit(64))
        _same(hooked, bare, (venv, bare_venv))
    spool = run.home / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []  # no partial file, no temporary
    # A reader under the same limit fails (the store cannot grow) but takes nothing from the spool.
    run("exampleclick", "db", "status")
    reader = run("autotelemetry", "events", "--json", preexec_fn=_fsize_limit(4096))
    assert reader.returncode != 0  # a new store needs more than one page
    assert len(list(spool.glob("*.jsonl"))) == 1
    assert [e["command"] for e in stored(run)] == ["exampleclick db status"]


@pytest.mark.parametrize("case", ["file", "missing", "file-in-the-way", "no-HOME"])
def test_home_faults(run, run_bare, venv, bare_venv, tmp_path, case):
    """The CLI is unchanged whatever the state home is; recovery once it is usable again."""
    base = tmp_path / "h"
    base.mkdir()
    env = {"AUTOTELEMETRY_ALLOW": "exampleclick"}
    if case == "file":  # the home itself is a file
        home = base / "home"
        home.write_text("x")
    elif case == "missing":  # created on first use, private
        home = base / "a" / "b" / "home"
    elif case == "file-in-the-way":  # a parent became a file
        (base / "parent").write_text("")
        home = base / "parent" / "home"
    else:  # HOME unset, no AUTOTELEMETRY_HOME: the XDG state dir is used
        home = base / "xdg" / "autotelemetry"
        env["XDG_STATE_HOME"] = str(base / "xdg")
    if case != "no-HOME":
        env["AUTOTELEMETRY_HOME"] = str(home)
    hooked_env = run.env(**env)
    if case == "no-HOME":
        del hooked_env["AUTOTELEMETRY_HOME"]
        hooked_env.pop("HOME", None)
    for argv in (["db", "status"], ["crash"], ["db", "nosuch"]):
        hooked = subprocess.run(
            [venv.script("exampleclick"), *argv], capture_output=True, env=hooked_env
        )
        _same(hooked, run_bare("exampleclick", *argv), (venv, bare_venv))
    if case in ("missing", "no-HOME"):
        assert home.stat().st_mode & 0o777 == 0o700
        assert len([e for e in read_spool(home) if e["type"] == "command"]) == 3
    else:  # recovery: remove what was in the way, the next run records
        blocker = home if case == "file" else base / "parent"
        blocker.unlink()
        subprocess.run([venv.script("exampleclick"), "db", "status"], env=hooked_env, check=True)
        assert len(read_spool(home)) == 1


# A read-only home (also as root, with the DAC capabilities dropped), a full disk and corrupt
# files, for the host and for every subcommand: tests/test_security.py
# (test_every_subcommand_fails_cleanly).


# --- clock ---------------------------------------------------------------------------


def _put(run: Runner, born_ns: int, command: str) -> None:
    spool = run.home / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    ev = valid_event(
        timestamp="2099-01-01T00:00:00.000Z"
        if born_ns > time.time_ns()
        else "1971-01-01T00:00:00.000Z",
        cli={"name": "clock", "version": None, "framework": "click"},
        command=command,
    )
    (spool / f"{born_ns:020d}-1-00000000.jsonl").write_text(json.dumps(ev) + "\n")


def test_spool_files_and_events_from_the_future_and_past(run):
    """Clock jumps: names and stamps far from now are neither lost silently nor fatal."""
    now = time.time_ns()
    _put(run, now + 10 * 86400 * 10**9, "clock future")  # written while the clock was ahead
    _put(run, now - 40 * 86400 * 10**9, "clock past")  # looks older than the 30-day cap
    _put(run, now, "clock now")
    # Every reader enforces the age cap before it ingests, by the name's time (a counted
    # drop); an event's own timestamp, future or past, is stored as it is.
    commands = {e["command"] for e in stored(run)}
    assert commands == {"clock future", "clock now"}
    assert run("autotelemetry", "report", "--since", "2090-01-01").returncode == 0
    # The age cap (a counted drop) applies to names from the past; the future is kept.
    _put(run, now + 10 * 86400 * 10**9, "clock future 2")
    _put(run, now - 40 * 86400 * 10**9 + 1, "clock past 2")
    out = run(
        "autotelemetry", "flush", env={"AUTOTELEMETRY_ENDPOINT": "http://127.0.0.1:9/", **FAST}
    )
    assert out.returncode == 1  # nothing listens on port 9: kept for retry
    status = json.loads(run("autotelemetry", "status", "--json").stdout)
    assert status["delivery"]["dropped"].get("spool_evicted") == 2
    assert "clock future 2" in {e["command"] for e in stored(run)}


def test_stamp_and_retry_time_from_before_a_clock_jump_back_do_not_stall_delivery(run, receiver):
    """Regression: a spawn stamp / retry time days ahead used to stop every spawn until then."""
    run("exampleclick", "db", "status")
    stored(run)  # creates the store
    db = sqlite3.connect(run.home / "store.sqlite")
    db.execute(
        "INSERT OR REPLACE INTO meta VALUES ('delivery.next_retry', ?)",
        (json.dumps(time.time() + 5 * 86400),),
    )
    db.commit()
    db.close()
    stamp = run.home / "sender.stamp"
    stamp.touch()
    ahead = time.time() + 5 * 86400
    os.utime(stamp, (ahead, ahead))
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    run("exampleclick", "db", "st", env=env)
    deadline = time.monotonic() + 30
    while len(receiver.delivered) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.delivered) == 2


# --- corrupt store -----------------------------------------------------------------


def _damage_pages(path: Path) -> None:
    # Seeded: with os.urandom, one damage in three let an INSERT through before any read
    # failed (that event then went down with the store, counted, but the test's exact
    # figures are for damage found at open).
    rng = random.Random(16)
    data = bytearray(path.read_bytes())
    for i in range(4096, len(data), 4096):  # keep the header page, scramble the rest
        data[i + 8 : i + 200] = bytes(rng.getrandbits(8) for _ in range(192))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "pages", "empty"])
def test_corrupt_store_is_set_aside_and_rebuilt(run, run_bare, damage):
    """Exact: the 3 events of the damaged store are counted as lost (nothing is readable
    of it), the run recorded after the damage is in the fresh store, nothing else."""
    for _ in range(3):
        run("exampleclick", "db", "status")
    assert len(stored(run)) == 3
    path = run.home / "store.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    elif damage == "pages":
        _damage_pages(path)
    else:  # truncated to 0 bytes: SQLite would open it as an empty store
        path.write_bytes(b"")
    status = run("autotelemetry", "status")
    assert status.returncode == 0
    assert b"corrupt" in status.stdout
    # The host CLI never notices.
    _same(run("exampleclick", "db", "status"), run_bare("exampleclick", "db", "status"))
    events = run("autotelemetry", "events", "--json")
    assert events.returncode == 0, events.stderr
    assert b"set aside" in events.stderr and b"3 lost" in events.stderr, events.stderr
    assert len(events.stdout.splitlines()) == 1  # the run recorded after the damage
    run("exampleclick", "db", "status")
    assert len(stored(run)) == 2  # recovery: the fresh store records again
    assert run("autotelemetry", "report").returncode == 0
    copies = list(run.home.glob("store.sqlite.corrupt-*"))
    assert len(copies) == 1
    text = run("autotelemetry", "status").stdout
    assert b"set aside" in text and b"lost 3 event(s)" in text
    d = json.loads(run("autotelemetry", "status", "--json").stdout)["delivery"]
    assert d["lost"] == 3 and d["dropped"] == {"store_corrupt": 3}
    assert [(x["saved"], x["lost"]) for x in d["salvages"]] == [(0, 3)]


def _table_leaves(path: Path) -> list[tuple[int, int]]:
    """(page number, rows) of every leaf page of the events table."""
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' "
            "ORDER BY pageno"
        ).fetchall()
    finally:
        db.close()


def test_damaged_pages_salvage_the_rest_deliver_it_and_count_the_lost(run, receiver):
    """Regression: undelivered events in a store with damaged pages vanished uncounted
    (300 never sent, `dropped` stayed empty). Now what is readable is saved and sent,
    and the rest is counted, exactly (the rows of the two damaged pages)."""
    synthetic_spool(run, 300)
    ids = {e["event_id"] for e in stored(run)}
    assert len(ids) == 300
    path = run.home / "store.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    leaves = _table_leaves(path)
    damaged = [leaves[len(leaves) // 3], leaves[2 * len(leaves) // 3]]
    lost = sum(n for _, n in damaged)
    data = bytearray(path.read_bytes())
    for page, _ in damaged:
        at = (page - 1) * 4096
        data[at : at + 4096] = os.urandom(4096)
    path.write_bytes(bytes(data))
    # The listing streams: the damage is met after rows were printed, so this listing
    # says it is incomplete (exit 1) once the store is set aside and salvaged.
    out = run("autotelemetry", "events", "--json")
    assert out.returncode == 1, out.stderr
    assert f"{300 - lost} saved, {lost} lost".encode() in out.stderr, out.stderr
    assert b"the listing above is incomplete" in out.stderr
    out = run("autotelemetry", "events", "--json")
    assert out.returncode == 0, out.stderr
    saved = {json.loads(line)["event_id"] for line in out.stdout.splitlines()}
    assert len(saved) == 300 - lost and saved <= ids
    d = json.loads(run("autotelemetry", "status", "--json").stdout)["delivery"]
    assert d["dropped"] == {"store_corrupt": lost} and d["lost"] == lost
    # Delivered: what was saved, and the count of what was not.
    flushed = run("autotelemetry", "flush", env={"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST})
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr
    assert set(receiver.delivered) == saved
    (drop,) = [r for r in receiver.records if r["eventName"] == "autotelemetry.dropped"]
    assert drop["attrs"]["autotelemetry.dropped.store_corrupt"] == lost


def test_delivered_events_stay_delivered_through_a_salvage(run, receiver):
    synthetic_spool(run, 50)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    assert run("autotelemetry", "flush", env=env).returncode == 0
    assert len(set(receiver.delivered)) == 50
    synthetic_spool(run, 20)
    assert len(stored(run)) == 70
    path = run.home / "store.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Damage an index the listing walks (the table itself stays readable).
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events_ts'").fetchone()
    db.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * 4096 + 8 : root * 4096] = os.urandom(4096 - 8)
    path.write_bytes(bytes(data))
    out = run("autotelemetry", "events", "--json")
    assert out.returncode == 0 and b"70 saved, 0 lost" in out.stderr, out.stderr
    receiver.delivered.clear()
    assert run("autotelemetry", "flush", env=env).returncode == 0
    assert len(receiver.delivered) == 20  # only the 20 never sent: the 50 stay delivered


# --- 3. processes --------------------------------------------------------------------

PROC = r"""
import multiprocessing, os, signal, subprocess, sys, threading, time
import click

def child():
    pass

@click.group()
def main():
    pass

@main.command("mp")
@click.argument("method")
def mp(method):
    ctx = multiprocessing.get_context(method)
    p = ctx.Process(target=child)
    p.start(); p.join()
    click.echo("mp %s %s" % (method, p.exitcode))

@main.command("fork")
def fork():
    pid = os.fork()
    if pid == 0:
        click.echo("child")
        sys.exit(0)
    os.waitpid(pid, 0)

@main.command("sub")
@click.argument("what")
def sub(what):
    argv = {"python": [sys.executable, "-c", "import click"],
            "cli": [os.path.join(os.path.dirname(sys.executable), "exampleclick"), "db", "st"]}
    subprocess.run(argv[what], check=True)

@main.command("thread")
@click.option("--daemon", is_flag=True)
def thread(daemon):
    threading.Thread(target=time.sleep, args=(0.5,), daemon=daemon).start()

@main.command("osexit")
def osexit():
    sys.stdout.flush()
    os._exit(3)

@main.command("term")
def term():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)

@main.command("spew")
def spew():
    for i in range(100000):
        click.echo("line %d" % i)

@main.command("exec")
def exec_():
    exe = os.path.join(os.path.dirname(sys.executable), "exampleclick")
    os.execv(exe, [exe, "db", "status"])

if __name__ == "__main__":
    main()
"""

#: argv → the events the run must leave (commands, in order), and the rule (docs/reliability.md).
PROCESS_CASES = [
    (["mp", "fork"], ["proc.py mp"]),  # children never record their parent's command
    (["mp", "spawn"], ["proc.py mp"]),  # a spawned child is `python -c ...`: never recorded
    (["mp", "forkserver"], ["proc.py mp"]),
    (["fork"], ["proc.py fork"]),
    (["sub", "python"], ["proc.py sub"]),  # a Python child that is not an allowlisted CLI
    (["sub", "cli"], ["exampleclick db status", "proc.py sub"]),  # an allowlisted child: its own
    (["thread"], ["proc.py thread"]),  # recorded when the command ends, not when threads do
    (["thread", "--daemon"], ["proc.py thread"]),
    (["osexit"], []),  # os._exit skips atexit: nothing (as for argcomplete)
    (["term"], ["proc.py term"]),  # SIGTERM at its default: `terminated`, still dies by it
    (["exec"], ["exampleclick db status"]),  # the exec'd program records itself, if allowlisted
]


@pytest.mark.parametrize(
    "argv,commands", PROCESS_CASES, ids=[" ".join(c[0]) for c in PROCESS_CASES]
)
def test_process_models(run, run_bare, venv, bare_venv, tmp_path, argv, commands):
    script = tmp_path / "proc.py"
    script.write_text(PROC)
    (run.home / "allowlist").write_text("proc\nexampleclick\n")

    def go(v, runner: Runner) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [v.python, str(script), *argv], capture_output=True, env=runner.env(), timeout=60
        )

    hooked, bare = go(venv, run), go(bare_venv, run_bare)
    _same(hooked, bare, (venv, bare_venv))
    assert [e["command"] for e in run.events()] == commands


def test_sigpipe_cli_into_head(run, run_bare, venv, bare_venv, tmp_path):
    """`cli | head -1`: same output and status; the run is recorded once (a failure)."""
    script = tmp_path / "proc.py"
    script.write_text(PROC)
    (run.home / "allowlist").write_text("proc\n")

    def go(v, runner: Runner) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", f'"{v.python}" "{script}" spew | head -1'],
            capture_output=True,
            env=runner.env(),
        )

    hooked, bare = go(venv, run), go(bare_venv, run_bare)
    _same(hooked, bare, (venv, bare_venv))
    assert hooked.stdout == b"line 0\n"
    (ev,) = run.events()
    assert ev["command"] == "proc.py spew"
    assert ev["exit_code"] == 1 and ev["status"] in ("failure", "crash")


def _senders_for(home: Path) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"autotelemetry.sender" in cmd and str(home).encode() in env:
            found.append(int(pid))
    return found


def test_no_orphan_senders_or_zombies(run, venv, receiver, tmp_path):
    """Forks, multiprocessing and subprocesses with an endpoint: senders end, none linger."""
    script = tmp_path / "proc.py"
    script.write_text(PROC)
    (run.home / "allowlist").write_text("proc\nexampleclick\n")
    env = run.env(AUTOTELEMETRY_ENDPOINT=receiver.url, AUTOTELEMETRY_SEND_INTERVAL="0.5", **FAST)
    for argv in (["fork"], ["mp", "fork"], ["mp", "spawn"], ["sub", "cli"], ["thread"]):
        subprocess.run([venv.python, str(script), *argv], env=env, capture_output=True, check=True)
    deadline = time.monotonic() + 30
    while (len(receiver.delivered) < 6 or _senders_for(run.home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(set(receiver.delivered)) == 6
    assert _senders_for(run.home) == []
    # Every sender that ever ran (its pid is in sender.log) is gone, not a zombie.
    log = (run.home / "sender.log").read_text()
    pids = {int(w[4:]) for w in log.split() if w.startswith("pid=")}
    assert pids

    def zombie(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return False

    # A sender's parent is the CLI, which has exited: the sender was re-parented to init,
    # which reaps it (a zombie may be seen for an instant between exit and reaping).
    deadline = time.monotonic() + 10
    while any(zombie(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if zombie(p)], "a sender stayed a zombie"
