"""Security (SPEC law 6; issue 14): trust nothing we did not write.

Each test runs a real attack by a real second account: the suite runs as root (as in CI),
so the attacker's files are planted as uid 65534 (``os.chown``/``os.lchown``), and a
read-only home is made real for a root child by dropping its DAC capabilities. Every test
asserts that the attack fails AND that the host CLI's output and exit status are exactly
those of a run without autotelemetry. The threat model and the rule each test pins are in
docs/security.md.
"""

from __future__ import annotations

import base64
import ctypes
import http.server
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SCRIPTS, Runner, Venv, read_spool, sender_environs
from conftest import assert_same_output as _same
from receiver import Receiver, https_sink

NOBODY = 65534
FAST = {"AUTOTELEMETRY_RETRY_BASE": "0.1", "AUTOTELEMETRY_SEND_BUDGET": "5"}
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="planting as another uid needs root")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

#: Every fixed file name we open under the home (tests/test_security.py pins the list).
HOME_FILES = (
    "allowlist",
    "config.toml",
    "install_id",
    "crash-state",
    "notice_shown",
    "spool.limits",
    "sender.stamp",
    "sender.lock",
    "sender.log",
    "store.sqlite",
    "store.sqlite-wal",
    "store.sqlite-shm",
)
HOME_DIRS = ("spool", "quarantine", "evictions")
VICTIM = b"the victim's own file: must never change\n"


# --- helpers ---------------------------------------------------------------------------


def plant(path: Path, data: bytes = b"", mode: int = 0o644) -> Path:
    """A regular file written by the attacker (uid 65534)."""
    path.write_bytes(data)
    os.chown(path, NOBODY, NOBODY)
    path.chmod(mode)
    return path


def plant_link(path: Path, target: Path) -> Path:
    """A symlink planted by the attacker."""
    path.symlink_to(target)
    os.lchown(path, NOBODY, NOBODY)
    return path


def plant_fifo(path: Path) -> Path:
    os.mkfifo(path, 0o666)
    os.chown(path, NOBODY, NOBODY)
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Path]:
    """A file and a directory of the victim (our own uid) outside the home: targets."""
    directory = tmp_path / "victim-dir"
    directory.mkdir(mode=0o700)
    (directory / "keep").write_bytes(VICTIM)
    path = tmp_path / "victim"
    path.write_bytes(VICTIM)
    path.chmod(0o600)
    before = (path.stat().st_mtime_ns, sorted(os.listdir(directory)))
    yield path
    assert path.read_bytes() == VICTIM, "the victim's file was written through a planted link"
    assert (path.stat().st_mtime_ns, sorted(os.listdir(directory))) == before
    assert (directory / "keep").read_bytes() == VICTIM


def _call(
    runner: Runner, program: str, *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[bytes]:
    """``runner(...)`` with a shorter timeout: a hang fails the test instead of the suite."""
    return subprocess.run(
        [runner.venv.script(program), *args],
        capture_output=True,
        env=runner.env(**(env or {})),
        cwd=runner.cwd,
        timeout=kw.pop("timeout", 60),
        **kw,  # type: ignore[arg-type]
    )


def host_unchanged(
    run: Runner, run_bare: Runner, venvs: tuple[Venv, Venv], env: dict[str, str] | None = None
) -> None:
    """The example CLI (success, usage error, crash) is byte-identical to a bare run."""
    for argv in (["db", "status"], ["db", "nosuch"], ["crash", "x"]):
        _same(
            _call(run, "exampleclick", *argv, env=env),
            _call(run_bare, "exampleclick", *argv),
            venvs,
        )


def one_line_error(out: subprocess.CompletedProcess[bytes], *needles: bytes) -> None:
    """A command that failed did so with one line on stderr, no traceback."""
    assert out.returncode != 0, out.stdout
    assert b"Traceback" not in out.stderr, out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr
    for needle in needles:
        assert needle in out.stderr, out.stderr


def no_traceback(out: subprocess.CompletedProcess[bytes]) -> None:
    assert b"Traceback" not in out.stderr + out.stdout, out.stderr


def _pty_run(run: Runner, env: dict[str, str]) -> None:
    """One run with stderr on a terminal (the only way the notice marker is opened)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [run.venv.script("exampleclick"), "db", "status"],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=run.env(**env),
    )
    os.close(slave)
    try:
        while os.read(master, 4096):
            pass
    except OSError:
        pass
    os.close(master)
    assert proc.wait(timeout=60) == 0


def _wait_for_senders(home: Path, timeout: float = 30) -> None:
    """Until no detached sender of ``home`` is alive (they hold the lock, write the log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sender_environs(home):
            return
        time.sleep(0.1)
    raise AssertionError("a detached sender did not finish")


def exercise(run: Runner, run_bare: Runner, venvs: tuple[Venv, Venv], url: str) -> None:
    """Every path we open, opened: host runs (success, crash, a terminal for the notice,
    an endpoint for the spawn stamp and the detached sender), then every reading and
    writing command. The host must be unchanged; no command may show a traceback."""
    env = {"AUTOTELEMETRY_ENDPOINT": url, "AUTOTELEMETRY_SEND_INTERVAL": "0.5", **FAST}
    host_unchanged(run, run_bare, venvs, env)
    _pty_run(run, env)
    # The amortised limit check of a writer (1 run in 64), called directly.
    check = (
        "import sys, time; from autotelemetry.hook import eviction\n"
        "try:\n    eviction.due(sys.argv[1], time.time_ns())\n"
        "except OSError as exc:\n    print(type(exc).__name__)\n"
    )
    out = subprocess.run(
        [run.venv.python, "-c", check, str(run.home)], capture_output=True, timeout=60
    )
    no_traceback(out)
    _wait_for_senders(run.home)
    for argv in (["flush"], ["events"], ["report"], ["status"], ["doctor"]):
        no_traceback(_call(run, "autotelemetry", *argv, env=env))
    _wait_for_senders(run.home)


# --- the home: refused, never tightened ------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770], ids=["0777", "sticky-1777", "0770"])
def test_a_home_writable_by_others_is_refused_not_tightened(run, run_bare, venv, bare_venv, mode):
    run.home.chmod(mode)
    host_unchanged(run, run_bare, (venv, bare_venv))
    assert sorted(p.name for p in run.home.iterdir()) == ["allowlist"]  # nothing written
    assert run.home.stat().st_mode & 0o7777 == mode  # never "tightened and trusted"
    kind = b"world" if mode & 0o002 else b"group"
    status = _call(run, "autotelemetry", "status")
    assert status.returncode == 0
    line = next(x for x in status.stdout.splitlines() if x.startswith(b"problem:") and kind in x)
    assert f"{run.home} is {kind.decode()}-writable (mode {mode & 0o777:03o})".encode() in line
    assert b"refused, nothing is recorded or sent" in line
    assert f"chmod go-w {run.home}".encode() in line  # the exact fix
    doctor = _call(run, "autotelemetry", "doctor")
    assert doctor.returncode == 1
    assert b"FAIL  home" in doctor.stdout and f"chmod go-w {run.home}".encode() in doctor.stdout
    run.home.chmod(0o700)  # the fix: the next run records
    _call(run, "exampleclick", "db", "status")
    assert [e["command"] for e in run.events()] == ["exampleclick db status"]


def test_an_existing_private_enough_home_is_used_as_it_is(run):
    """0755 (listable, not writable by others) is trusted and never changed; what we write
    in it is 0600/0700 (doctor suggests 0700)."""
    run.home.chmod(0o755)
    _call(run, "exampleclick", "crash", "x")
    assert run.home.stat().st_mode & 0o777 == 0o755
    assert len(run.stored()) == 2
    for path in run.home.rglob("*"):
        if path.name != "allowlist":  # the test's own file
            assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path
    doctor = _call(run, "autotelemetry", "doctor")
    assert b"can be listed by other users" in doctor.stdout
    assert f"chmod 700 {run.home}".encode() in doctor.stdout


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_a_home_we_create_is_private_from_the_start(run, tmp_path, umask):
    base = tmp_path / f"base-{umask:o}"
    base.mkdir()
    home = base / "a" / "b" / "home"  # the home and two parents are missing
    env = {"AUTOTELEMETRY_HOME": str(home), "AUTOTELEMETRY_ALLOW": "exampleclick"}
    out = _call(run, "exampleclick", "crash", "x", env=env, preexec_fn=lambda: os.umask(umask))
    assert out.returncode == 1
    for directory in (base / "a", base / "a" / "b", home, home / "spool"):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    for path in home.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o600, path
    assert {e["type"] for e in read_spool(home)} == {"command", "crash"}


@root_only
@pytest.mark.parametrize("which", ["home", "spool"])
def test_a_state_dir_owned_by_another_user_is_refused(run, run_bare, venv, bare_venv, which):
    victim = run.home if which == "home" else run.home / "spool"
    victim.mkdir(mode=0o700, exist_ok=True)
    os.chown(victim, NOBODY, NOBODY)
    host_unchanged(run, run_bare, (venv, bare_venv))
    assert read_spool(run.home) == []
    if which == "home":
        assert sorted(os.listdir(run.home)) == ["allowlist"]  # nothing written in it
    status = _call(run, "autotelemetry", "status").stdout
    assert f"{victim} is owned by another user (uid {NOBODY})".encode() in status
    assert b"fix: " in status


@pytest.mark.parametrize("which", ["home", "spool", "quarantine", "evictions"])
def test_a_symlinked_state_dir_is_refused(run, run_bare, venv, bare_venv, tmp_path, which):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    if which == "home":
        home = tmp_path / "link-home"
        home.symlink_to(target)
        env = {"AUTOTELEMETRY_HOME": str(home), "AUTOTELEMETRY_ALLOW": "exampleclick"}
    else:
        home, env = run.home, {}
        (home / which).symlink_to(target)
    host_unchanged(run, run_bare, (venv, bare_venv), env)
    # Spool files that would be evicted or quarantined: still nothing through the link.
    no_traceback(_call(run, "autotelemetry", "events", env=env))
    assert list(target.iterdir()) == []
    status = _call(run, "autotelemetry", "status", env=env)
    assert f"{home / which if which != 'home' else home} is a symlink".encode() in status.stdout


# --- planted files in a once-0777 home -------------------------------------------------


@pytest.fixture
def once_open(run: Runner) -> Path:
    """A home left 0777 while the attacker plants files; the test then closes it (0700)."""
    run.home.chmod(0o777)
    return run.home


def _closed(home: Path) -> None:
    """The user (or an admin) fixes the mode: the planted files are still there."""
    home.chmod(0o700)


@pytest.mark.parametrize("mode", [0o664, 0o646], ids=["group-writable", "world-writable"])
@pytest.mark.parametrize("name", ["allowlist", "config.toml"])
def test_our_own_file_writable_by_others_is_not_trusted(run, run_bare, venv, bare_venv, name, mode):
    """Anyone who can write it could turn recording on or send the events elsewhere."""
    if name == "config.toml":
        (run.home / name).write_text("enabled = false\n")  # would turn recording off
    (run.home / name).chmod(mode)
    host_unchanged(run, run_bare, (venv, bare_venv))
    recorded = [e for e in run.events() if e["type"] == "command"]
    assert len(recorded) == (0 if name == "allowlist" else 3)
    kind = "group" if mode == 0o664 else "world"
    status = _call(run, "autotelemetry", "status").stdout.decode()
    assert f"{run.home / name}: is {kind}-writable (mode {mode:03o}), ignored" in status
    assert f"`chmod go-w {run.home / name}`" in status  # the exact fix
    (run.home / name).chmod(0o644)
    _call(run, "exampleclick", "db", "status")
    assert len([e for e in run.events() if e["type"] == "command"]) == len(recorded) + (
        1 if name == "allowlist" else 0
    )


@root_only
def test_planted_allowlist_does_not_turn_recording_on(run, run_bare, venv, bare_venv, once_open):
    (once_open / "allowlist").unlink()
    plant(once_open / "allowlist", b"exampleclick\nexampletyper\n")
    _closed(once_open)
    host_unchanged(run, run_bare, (venv, bare_venv))
    assert not (once_open / "spool").exists()
    status = _call(run, "autotelemetry", "status").stdout
    assert (
        f"{once_open / 'allowlist'}: is owned by another user (uid {NOBODY}), ignored".encode()
        in status
    )
    assert f"rm {once_open / 'allowlist'}".encode() in status  # the fix
    (once_open / "allowlist").unlink()
    (once_open / "allowlist").write_text("exampleclick\n")  # the user's own: trusted
    _call(run, "exampleclick", "db", "status")
    assert len(run.events()) == 1


@root_only
def test_planted_config_cannot_redirect_events(run, run_bare, venv, bare_venv, once_open, receiver):
    plant(once_open / "config.toml", f'endpoint = "{receiver.url}"\nenabled = true\n'.encode())
    _closed(once_open)
    host_unchanged(run, run_bare, (venv, bare_venv))
    flush = _call(run, "autotelemetry", "flush")
    assert flush.returncode == 0 and b"no endpoint configured" in flush.stdout
    assert receiver.requests == []  # nothing reached the attacker's endpoint
    data = json.loads(_call(run, "autotelemetry", "status", "--json").stdout)
    assert data["endpoint"] is None
    assert any("config.toml: is owned by another user" in p for p in data["problems"])
    assert len(run.stored()) == 4  # recorded locally all the same (crash: 2 events)


@root_only
@pytest.mark.parametrize(
    "kind", ["symlink", "foreign-db", "wal-symlink", "hard-link", "journal", "journal-fifo"]
)
def test_planted_store_is_refused_and_nothing_is_lost(run, once_open, victim, kind):
    store = once_open / "store.sqlite"
    if kind == "symlink":
        plant_link(store, victim)
    elif kind == "foreign-db":
        db = sqlite3.connect(store)
        db.execute("CREATE TABLE events (event_id TEXT)")
        db.commit()
        db.close()
        os.chown(store, NOBODY, NOBODY)
    elif kind in ("wal-symlink", "journal", "journal-fifo"):
        _closed(once_open)
        code = "import sys; from autotelemetry.store import Store; Store(sys.argv[1]).close()"
        subprocess.run([run.venv.python, "-c", code, str(once_open)], check=True)
        assert store.exists()  # a real store of ours
        once_open.chmod(0o777)
        if kind == "wal-symlink":
            plant_link(once_open / "store.sqlite-wal", victim)
        elif kind == "journal":  # SQLite plays a -journal back at open: it would replace the store
            plant(once_open / "store.sqlite-journal", b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" * 64)
        else:  # SQLite's open of it would block
            plant_fifo(once_open / "store.sqlite-journal")
    else:  # a hard link to another file of ours (protected_hardlinks off, or root)
        os.link(victim, store)
    planted = store.read_bytes() if kind == "foreign-db" else None
    _closed(once_open)
    _call(run, "exampleclick", "db", "status")
    refused = {"wal-symlink": "store.sqlite-wal", "journal": "store.sqlite-journal"}.get(
        kind, "store.sqlite-journal" if kind == "journal-fifo" else "store.sqlite"
    )
    for argv in (["events"], ["report"], ["flush"], ["purge", "--yes"]):
        one_line_error(_call(run, "autotelemetry", *argv), refused.encode(), b"refused", b"fix: ")
    if planted is not None:
        assert store.read_bytes() == planted
    status = _call(run, "autotelemetry", "status").stdout
    assert f"{once_open / refused} ".encode() in status and b"fix: `rm " in status
    assert b"FAIL  home" in _call(run, "autotelemetry", "doctor").stdout
    (once_open / refused).unlink()  # the fix; the spool kept the event meanwhile
    assert [e["command"] for e in run.stored()] == ["exampleclick db status"]


@root_only
@pytest.mark.parametrize("name", ["quarantine", "crash-repeats"])
def test_a_symlinked_reader_directory_is_never_entered(run, once_open, tmp_path, name):
    """Every reader (our commands, the sender) trims these two before reading the spool:
    through a planted link it would delete another directory's files."""
    precious = tmp_path / "precious"
    precious.mkdir()
    names = [f"{i:03d}" for i in range(150)]  # more than the quarantine keeps; unstamped
    for n in names:
        (precious / n).write_bytes(VICTIM)
    plant_link(once_open / name, precious)
    _closed(once_open)
    _call(run, "exampleclick", "db", "status")
    for argv in (["events"], ["report"], ["flush"], ["status"]):
        assert _call(run, "autotelemetry", *argv).returncode == 0
    assert sorted(os.listdir(precious)) == names
    assert [e["command"] for e in run.stored()] == ["exampleclick db status"]


@root_only
def test_a_refused_store_stops_the_sender_at_once(run, once_open, victim, receiver):
    plant_link(once_open / "store.sqlite", victim)
    _closed(once_open)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    _call(run, "exampleclick", "db", "status", env=env)  # starts the detached sender
    try:
        _wait_for_senders(once_open)  # before: it looped on "events arrived", at full CPU
    finally:
        for pid in sender_environs(once_open):
            os.kill(pid, signal.SIGKILL)
    log = (once_open / "sender.log").read_text()
    assert log.count(" error: ") == 1 and "is a symlink" in log, log
    assert "exiting, the events are kept" in log
    assert receiver.requests == [] and len(run.events()) == 1  # kept in the spool


@root_only
@pytest.mark.parametrize("name", ["sender.log", "sender.lock", "sender.stamp"])
def test_planted_sender_files_are_never_written_through(run, once_open, victim, receiver, name):
    plant_link(once_open / name, victim)
    _closed(once_open)
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    _call(run, "exampleclick", "db", "status", env=env)  # may start the detached sender
    _wait_for_senders(once_open)
    flush = _call(run, "autotelemetry", "flush", env=env)
    if name == "sender.lock":  # no lock, no sending: one line says why and how to fix it
        one_line_error(flush, b"sender.lock", b"refused", b"fix: `rm ")
    else:
        assert flush.returncode == 0, flush.stderr
        assert len(receiver.delivered) == 1  # delivery goes on without the planted file
    assert (once_open / name).is_symlink()  # refused, not "repaired"


@root_only
def test_planted_and_symlinked_spool_files_are_set_aside_unread(run, once_open, tmp_path):
    spool = once_open / "spool"
    spool.mkdir(mode=0o700)
    now = time.time_ns()

    def event(command: str) -> bytes:
        ev = {"event_id": f"00000000-0000-4000-8000-{abs(hash(command)) % 10**12:012d}"}
        ev.update(type="command", timestamp="2026-01-01T00:00:00Z", command=command)
        ev["cli"] = {"name": "exampleclick", "version": None, "framework": "click"}
        return json.dumps(ev).encode() + b"\n"

    plant(spool / f"{now:020d}-1-00000001.jsonl", event("exampleclick forged"), 0o600)
    private = tmp_path / "private.jsonl"  # the victim's own file elsewhere, of our uid
    private.write_bytes(event("exampleclick private"))
    private.chmod(0o600)
    plant_link(spool / f"{now + 1:020d}-2-00000002.jsonl", private)
    plant_fifo(spool / f"{now + 2:020d}-3-00000003.jsonl")
    # a hard link to another file of ours (protected_hardlinks off, or root): read as an
    # event before, while doctor called it not ours
    linked = tmp_path / "linked.jsonl"
    linked.write_bytes(event("exampleclick linked"))
    linked.chmod(0o600)
    os.link(linked, spool / f"{now + 3:020d}-4-00000004.jsonl")
    _closed(once_open)
    _call(run, "exampleclick", "db", "status")
    assert [e["command"] for e in run.stored()] == ["exampleclick db status"]
    assert private.read_bytes() == event("exampleclick private")  # read nowhere, deleted never
    assert linked.read_bytes() == event("exampleclick linked")
    aside = sorted(p.name for p in (once_open / "quarantine").iterdir())
    assert len(aside) == 4 and all(n.startswith("untrusted-") for n in aside)
    status = _call(run, "autotelemetry", "status").stdout
    assert b"4 spool entr(ies) not yours" in status
    assert b"4 spool entr(ies) not yours" in _call(run, "autotelemetry", "doctor").stdout


@root_only
def test_forged_eviction_marks_are_not_counted(run, once_open):
    (once_open / "evictions").mkdir(mode=0o700)
    plant(once_open / "evictions" / f"{time.time_ns():020d}-1-999999", b"")
    _closed(once_open)
    data = json.loads(_call(run, "autotelemetry", "status", "--json").stdout)
    assert data["delivery"]["dropped"] == {}
    assert any("999999 is owned by another user" in p for p in data["problems"])


# --- symlinks, FIFOs and devices at every path we open --------------------------------


#: Every path we open, in groups that do not hide each other (a refused spool directory
#: would stop the store from ever being opened, a refused stamp the detached sender).
PATH_GROUPS = {
    "host": (
        *("allowlist", "config.toml", "install_id", "crash-state", "notice_shown"),
        *("spool.limits", "sender.log", "evictions"),
    ),
    "delivery": (
        "sender.stamp",
        "sender.lock",
        "store.sqlite-wal",
        "store.sqlite-shm",
        "quarantine",
    ),
    "store": ("store.sqlite", "spool"),
}
assert sorted(sum(PATH_GROUPS.values(), ())) == sorted(HOME_FILES + HOME_DIRS)


def _plant_node(path: Path, node: str, victim: Path) -> None:
    if node == "symlink":
        plant_link(path, victim if path.name in HOME_FILES else victim.parent / "victim-dir")
    elif node == "fifo":
        plant_fifo(path)
    else:
        os.mknod(path, 0o20666, os.makedev(1, 5))  # a character device: /dev/zero
        os.chown(path, NOBODY, NOBODY)


@root_only
@pytest.mark.parametrize("group", list(PATH_GROUPS))
@pytest.mark.parametrize("node", ["symlink", "fifo", "device"])
def test_a_symlink_fifo_or_device_at_every_path_we_open(
    run, run_bare, venv, bare_venv, victim, receiver, tmp_path, node, group
):
    """Planted where each of our files and directories lives: never followed, never
    opened blocking, never written; the host finishes unchanged (timeouts in ``_call``);
    doctor names each one."""
    if node == "device":
        try:
            os.mknod(tmp_path / "probe-device", 0o20600, os.makedev(1, 5))
        except PermissionError:
            pytest.skip("mknod is not permitted here")
    names = PATH_GROUPS[group]
    if "allowlist" in names:
        (run.home / "allowlist").unlink()
    for name in names:
        _plant_node(run.home / name, node, victim)
    runner = _with(run, {"AUTOTELEMETRY_ALLOW": "exampleclick"})
    exercise(runner, run_bare, (venv, bare_venv), receiver.url)
    doctor = _call(runner, "autotelemetry", "doctor").stdout.decode()
    for name in names:
        path = run.home / name
        if name in ("install_id", "crash-state"):
            assert path.is_file() and path.stat().st_uid == os.geteuid()  # replaced by rename
            continue
        assert path.is_symlink() if node == "symlink" else not path.is_file(), path
        assert f"{path} " in doctor, (path, doctor)


@pytest.fixture
def env_etc(venv: Venv) -> Iterator[Path]:
    """The shared venv's per-environment config directory; emptied after the test."""
    directory = venv.path / "etc" / "autotelemetry"
    directory.mkdir(parents=True, exist_ok=True)
    yield directory
    for name in ("allowlist", "config.toml"):
        (directory / name).unlink(missing_ok=True)


@root_only
@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("user", "allowlist"),
        ("environment", "allowlist"),
        ("explicit", "allowlist"),
        ("user", "config.toml"),
        ("environment", "config.toml"),
    ],
)
def test_fifo_allowlist_or_config_never_hangs_a_bystander(
    run, venv, bare_venv, env_etc, tmp_path, where, name
):
    """Regression: a FIFO at the allowlist path hung every Python program of the
    environment that imports argparse, before its type was checked."""
    extra: dict[str, str] = {}
    if where == "user":
        (run.home / name).unlink(missing_ok=True)
        plant_fifo(run.home / name)
    elif where == "environment":
        plant_fifo(env_etc / name)
    else:
        extra["AUTOTELEMETRY_ALLOWLIST"] = str(plant_fifo(tmp_path / "fifo-list"))
    code = "import argparse; argparse.ArgumentParser(prog='t').parse_args([]); print('ok')"
    hooked = subprocess.run(
        [venv.python, "-c", code], capture_output=True, env=run.env(**extra), timeout=30
    )
    bare = subprocess.run(
        [bare_venv.python, "-c", code], capture_output=True, env=run.env(), timeout=30
    )
    _same(hooked, bare)
    # The allowlisted CLI finishes too, and status names the FIFO.
    _call(run, "exampleclick", "db", "status", env=extra, timeout=30)
    status = _call(run, "autotelemetry", "status", env=extra, timeout=30)
    assert b"is not a regular file" in status.stdout, status.stdout


def _with(runner: Runner, env: dict[str, str]) -> Runner:
    """``runner`` with extra variables in every call (a shallow copy)."""

    class WithEnv(Runner):
        def env(self, **extra: str) -> dict[str, str]:
            return Runner.env(self, **{**env, **extra})

    return WithEnv(runner.venv, runner.home, runner.cwd)


# --- every file we create: unpredictable name, O_EXCL|O_NOFOLLOW, 0600 ---------------

TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")


def _audited(run: Runner, log: Path, program: str, *args: str, **env: str) -> None:
    out = subprocess.run(
        [run.venv.python, str(SCRIPTS / "audited.py"), str(log), run.venv.script(program), *args],
        capture_output=True,
        env=run.env(**env),
        cwd=run.cwd,
        timeout=120,
    )
    if program == "autotelemetry":  # (the example CLI's crash prints its own traceback)
        assert b"Traceback" not in out.stderr, out.stderr


def test_every_open_is_trusted_and_every_new_name_unpredictable(run, tmp_path, receiver):
    """Python's audit hook sees every file operation of the host and of the command: every
    open never follows a symlink and never waits, every create is exclusive, every file
    with content appears by rename from a name with 64 random bits, never reused."""
    log = tmp_path / "audit.jsonl"
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    for _ in range(2):
        _audited(run, log, "exampleclick", "db", "status", **env)
        _audited(run, log, "exampleclick", "crash", "x", **env)
    _wait_for_senders(run.home)
    for argv in (
        ["allow", "--user", "exampletyper", "--exclude", "db"],
        ["deny", "--user", "exampletyper"],
        ["disable"],
        ["enable"],
        ["reset-id"],
        ["events"],
        ["flush"],
        ["status"],
        ["doctor"],
        ["purge", "--yes"],
    ):
        _audited(run, log, "autotelemetry", *argv, **env)
    ops = [json.loads(line) for line in log.read_text().splitlines()]
    opens = [o for o in ops if o["op"] == "open"]
    assert len(opens) > 20
    for o in opens:
        assert o["flags"] & os.O_NOFOLLOW and o["flags"] & os.O_NONBLOCK, o
        if o["flags"] & os.O_CREAT:
            assert o["flags"] & os.O_EXCL, o
    created = [Path(o["path"]).name for o in opens if o["flags"] & os.O_CREAT]
    randoms = [n for n in created if TEMP_NAME.match(n)]
    assert len(set(randoms)) == len(randoms)  # never the same name twice
    renamed = [o for o in ops if o["op"] == "rename"]
    temps = [Path(o["path"]).name for o in renamed if Path(o["path"]).name in created]
    assert len(temps) >= 12, renamed  # spool files, install ids, crash state, allowlist, config
    assert set(temps) <= set(randoms), temps  # content appears only by rename from those
    written = {Path(o["to"]).name for o in renamed if Path(o["path"]).name in temps}
    assert {"install_id", "crash-state", "allowlist", "config.toml"} <= written
    assert all(o["mode"] == 0o700 for o in ops if o["op"] == "mkdir")
    # The only files created at their final name are empty ones, exclusively.
    # (and the suppressed crashes' counts: one empty file each, named by its fingerprint,
    # time, pid and 32 random bits)
    repeat = re.compile(r"^[0-9a-f]{16}\.\d+\.\d+\.[0-9a-f]{8}$")
    fixed = {n for n in created if not TEMP_NAME.match(n) and not repeat.match(n)}
    allowed = {"notice_shown", "sender.stamp", "sender.lock", "sender.log", "spool.limits"}
    assert fixed <= allowed | {"store.sqlite"}, fixed


# --- endpoint credentials never reach the disk, a log or a terminal -------------------


def test_endpoint_credentials_stay_off_disk_and_out_of_every_output(run, receiver):
    webhook = Receiver("json")
    try:
        _credentials(run, receiver, webhook)
    finally:
        webhook.close()


def _credentials(run: Runner, receiver: Receiver, webhook: Receiver) -> None:
    url = (
        receiver.url.replace("http://", "http://robot:Pa%24%24-s3cret@")
        + "/base/?api_key=K3Y-9f8e7d"
    )
    secrets = [b"s3cret", b"Pa%24%24", b"Pa$$", b"K3Y-9f8e7d", b"api_key=K"]
    token = base64.b64encode(b"robot:Pa$$-s3cret")
    secrets.append(token)
    env = {
        "AUTOTELEMETRY_ENDPOINT": url,
        "AUTOTELEMETRY_DEBUG": "1",
        "AUTOTELEMETRY_SEND_INTERVAL": "0.5",
        **FAST,
    }
    outputs = [_call(run, "exampleclick", "db", "status", env=env)]  # the detached sender
    deadline = time.monotonic() + 30
    while not receiver.delivered and time.monotonic() < deadline:
        time.sleep(0.1)
    _wait_for_senders(run.home)
    _call(run, "exampleclick", "db", "status", env=env)
    for argv in (["flush"], ["status"], ["status", "--json"], ["doctor"], ["doctor", "--json"]):
        outputs.append(_call(run, "autotelemetry", *argv, env=env))
    _wait_for_senders(run.home)
    json_url = url.replace(receiver.url.split("//")[1], webhook.url.split("//")[1])
    json_env = {**env, "AUTOTELEMETRY_PROTOCOL": "json", "AUTOTELEMETRY_ENDPOINT": json_url}
    _call(run, "exampleclick", "db", "status", env=json_env)
    outputs.append(_call(run, "autotelemetry", "flush", env=json_env))
    _wait_for_senders(run.home)
    assert len(receiver.delivered) == 2 and len(webhook.delivered) == 1
    # Sent where it belongs: the signal path before the query, userinfo as Basic auth.
    assert {r["path"] for r in receiver.requests} == {
        "/base/v1/logs?api_key=K3Y-9f8e7d",
        "/base/v1/traces?api_key=K3Y-9f8e7d",
    }
    assert {r["path"] for r in webhook.requests} == {"/base/?api_key=K3Y-9f8e7d"}
    basic = {"Basic " + token.decode()}
    assert {r["headers"]["Authorization"] for r in receiver.requests + webhook.requests} == basic
    assert f"sending to {receiver.url}/base/v1/logs?… (logs, http/protobuf)".encode() in (
        outputs[1].stderr
    )
    for shown in outputs[2], outputs[4]:  # status, doctor: the display form of the setting
        assert f"{receiver.url}/base/?…".encode() in shown.stdout, shown.stdout
    for out in outputs:
        for secret in secrets:
            assert secret not in out.stdout + out.stderr, (secret, out.args)
    for path in run.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret not in data, (secret, path)
    last = json.loads(_call(run, "autotelemetry", "status", "--json").stdout)["delivery"]["last"]
    assert last["endpoint"] == f"{webhook.url}/base/?…"


def test_headers_never_reach_disk_or_debug_output(run, receiver):
    secret = "Bearer%20tok-9f8e7d6c5b4a"
    env = {
        "AUTOTELEMETRY_ENDPOINT": receiver.url,
        "AUTOTELEMETRY_HEADERS": f"Authorization={secret},X-Api-Key=k3y-abcdef123",
        "AUTOTELEMETRY_DEBUG": "1",
        "AUTOTELEMETRY_SEND_INTERVAL": "0.5",
        **FAST,
    }
    cli = run("exampleclick", "db", "status", env=env)  # spawns the detached sender
    deadline = time.monotonic() + 30
    while not receiver.delivered and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.delivered
    assert receiver.requests[0]["headers"]["Authorization"] == "Bearer tok-9f8e7d6c5b4a"
    flush = run("autotelemetry", "flush", env=env)
    status = run("autotelemetry", "status", env=env)
    for needle in (b"tok-9f8e7d6c5b4a", b"k3y-abcdef123", b"Bearer%20tok"):
        assert needle not in cli.stderr + flush.stderr + flush.stdout + status.stdout
        for path in run.home.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), path


def test_a_header_that_cannot_be_sent_is_one_line_and_keeps_the_events(run, receiver):
    bad = {
        "AUTOTELEMETRY_ENDPOINT": receiver.url,
        "AUTOTELEMETRY_HEADERS": "X-Api-Key=%D0%BA%D0%BB%D1%8E%D1%87",  # "ключ": not Latin-1
        "AUTOTELEMETRY_SEND_INTERVAL": "0.5",
        **FAST,
    }
    _call(run, "exampleclick", "db", "status", env=bad)  # the detached sender logs it
    _wait_for_senders(run.home)
    flush = _call(run, "autotelemetry", "flush", env=bad)
    one_line_error(flush, b"'X-Api-Key'", b"Latin-1", b"the events are kept")
    assert "ключ".encode() not in flush.stderr
    status = _call(run, "autotelemetry", "status", env=bad)
    assert status.returncode == 0 and b"'X-Api-Key' cannot be sent" in status.stdout
    doctor = _call(run, "autotelemetry", "doctor", env=bad)
    assert doctor.returncode == 1 and b"'X-Api-Key' cannot be sent" in doctor.stdout
    log = (run.home / "sender.log").read_text()
    assert "not sending" in log and "'X-Api-Key'" in log and "ключ" not in log
    assert receiver.requests == []
    good = {**bad, "AUTOTELEMETRY_HEADERS": "X-Api-Key=plain"}
    flush = _call(run, "autotelemetry", "flush", env=good)
    assert flush.returncode == 0 and b"sent 1" in flush.stdout  # kept, then delivered


# --- read-only, full and corrupt homes: one line, never a traceback --------------------

#: Every subcommand (user-scope consent so the shared venv is never written).
SUBCOMMANDS = (
    ["status"],
    ["status", "--json"],
    ["doctor"],
    ["enable"],
    ["disable"],
    ["allow", "--user", "newcli"],
    ["deny", "--user", "exampleclick"],
    ["deny", "exampleclick"],
    ["events"],
    ["events", "--json"],
    ["report"],
    ["report", "--json"],
    ["flush"],
    ["schema"],
    ["purge", "--yes"],
    ["reset-id"],
    ["sitecustomize"],
    ["run", "exampleclick", "db", "status"],
)
#: The commands that must write to do their job: they fail (exit 1) on a read-only or
#: full home, with one line on stderr.
WRITERS = {"enable", "disable", "allow", "deny", "events", "report", "flush", "purge", "reset-id"}


def _drop_dac() -> None:
    """preexec: a root child that obeys file permissions (no CAP_DAC_OVERRIDE/READ_SEARCH
    after exec): a 0500 home is then really read-only for it."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _fsize_zero() -> None:
    """preexec: RLIMIT_FSIZE 0 stands in for a full disk (writes fail with EFBIG)."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _populated(run: Runner) -> None:
    """A store with an event, one pending spool file, a crash state and an install id."""
    _call(run, "exampleclick", "crash", "x")
    assert len(run.stored()) == 2
    _call(run, "exampleclick", "db", "status")


def _read_only(home: Path) -> None:
    for path in [home, *home.rglob("*")]:
        path.chmod(0o500 if path.is_dir() else 0o400)


@linux_only
@pytest.mark.parametrize("fault", ["read-only", "full", "corrupt"])
def test_every_subcommand_fails_cleanly(run, run_bare, venv, bare_venv, fault):
    _populated(run)
    preexec = None
    if fault == "read-only":
        if os.geteuid() == 0:
            try:
                subprocess.run(["true"], preexec_fn=_drop_dac, check=True)
            except (OSError, subprocess.SubprocessError):
                pytest.skip("cannot drop capabilities here")
            preexec = _drop_dac
        _read_only(run.home)
    elif fault == "full":
        preexec = _fsize_zero
    else:
        for name, data in {
            "store.sqlite": os.urandom(8192),
            "config.toml": b"\xff\xfe not utf-8 [[[",
            "install_id": os.urandom(100),
            "crash-state": os.urandom(300),
            "sender.lock": os.urandom(10),
        }.items():
            (run.home / name).write_bytes(data)
        (run.home / "allowlist").write_bytes(b"exampleclick\n\xff\xfe\x00garbage\n")
    env = {"AUTOTELEMETRY_ENDPOINT": "http://127.0.0.1:9/", "AUTOTELEMETRY_SEND_BUDGET": "2"}
    try:
        for argv in (["db", "status"], ["crash", "x"]):
            hooked = _call(run, "exampleclick", *argv, env=env, preexec_fn=preexec)
            bare = _call(run_bare, "exampleclick", *argv, preexec_fn=preexec)
            _same(hooked, bare, (venv, bare_venv))
        for argv in SUBCOMMANDS:
            for extra in ({}, env) if argv[0] == "flush" else ({},):
                out = _call(run, "autotelemetry", *argv, env=extra, preexec_fn=preexec)
                assert b"Traceback" not in out.stderr + out.stdout, (argv, out.stderr)
                if argv[0] == "run":
                    _same(out, _call(run_bare, "exampleclick", "db", "status"), (venv, bare_venv))
                elif out.returncode != 0 and argv[0] != "doctor" and b"kept" not in out.stdout:
                    one_line_error(out, b"autotelemetry " + argv[0].encode() + b": ")
                if fault != "corrupt" and argv[0] in WRITERS:
                    assert out.returncode != 0, (argv, out.stdout)
                if argv[0] == "doctor" and fault != "corrupt":
                    assert out.returncode == 1 and b"FAIL  home" in out.stdout, out.stdout
    finally:
        for path in [run.home, *run.home.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)
    if fault != "corrupt":  # nothing was lost: every event is there once the home is back
        assert {e["command"] for e in run.stored()} >= {"exampleclick db status"}


# --- TLS and the sender's environment ------------------------------------------------


def _tls_server(tmp_path: Path) -> tuple[http.server.HTTPServer, str, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    server = https_sink(cert, key)
    return server, f"https://127.0.0.1:{server.server_address[1]}/", cert


def test_tls_self_signed_refused_custom_ca_accepted(run, tmp_path):
    server, url, cert = _tls_server(tmp_path)
    try:
        run("exampleclick", "db", "status")
        base = {"AUTOTELEMETRY_ENDPOINT": url, "AUTOTELEMETRY_PROTOCOL": "json", **FAST}
        # Verification cannot be switched off: not by our knob, not by requests' variables.
        for extra in (
            {},
            {"AUTOTELEMETRY_CA_BUNDLE": "0"},
            {"AUTOTELEMETRY_CA_BUNDLE": "false"},
            {"CURL_CA_BUNDLE": "", "REQUESTS_CA_BUNDLE": ""},
            {"PYTHONHTTPSVERIFY": "0"},
        ):
            out = run("autotelemetry", "flush", env={**base, **extra})
            assert out.returncode == 1, (extra, out.stdout)
            assert b"sent 0" in out.stdout
        assert server.hits == []  # type: ignore[attr-defined]
        out = run("autotelemetry", "flush", env={**base, "AUTOTELEMETRY_CA_BUNDLE": str(cert)})
        assert out.returncode == 0, out.stdout + out.stderr
        assert b"sent 1" in out.stdout
        assert len(server.hits) == 1  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def test_sender_gets_a_scrubbed_environment(run, receiver):
    """Regression: the detached sender used to inherit the host's whole environment."""
    receiver.default = "hang"
    env = {
        "AUTOTELEMETRY_ENDPOINT": receiver.url,
        "AWS_SECRET_ACCESS_KEY": "aws-very-secret",
        "GITHUB_TOKEN": "ghp_secret",
        "HTTPS_PROXY": "",
        **FAST,
    }
    run("exampleclick", "db", "status", env=env)
    assert receiver.hanging.wait(30)
    pids = []
    for pid, environ in sender_environs(run.home).items():
        pids.append(pid)
        names = {e.split(b"=", 1)[0] for e in environ if e}
        assert b"AWS_SECRET_ACCESS_KEY" not in names and b"GITHUB_TOKEN" not in names
        assert {b"AUTOTELEMETRY_ENDPOINT", b"PATH", b"HTTPS_PROXY"} <= names
    receiver.default = 200
    receiver.release.set()
    assert len(pids) == 1


def test_sender_holds_the_claim_when_the_host_closed_its_stdio(run, receiver):
    """Regression: a host started with its stdin closed got the sender lock as fd 0, which
    the launch overwrote with /dev/null before handing fd 3 on: the sender ran without the
    claim (its ``flock`` on /dev/null succeeds), and the next due run could start another."""
    import fcntl

    receiver.default = "hang"
    env = {"AUTOTELEMETRY_ENDPOINT": receiver.url, **FAST}
    out = run("exampleclick", "db", "status", env=env, preexec_fn=lambda: os.close(0))
    assert out.returncode == 0, out.stderr
    try:
        assert receiver.hanging.wait(30)
        (pid,) = sender_environs(run.home)
        assert os.readlink(f"/proc/{pid}/fd/3") == str(run.home / "sender.lock")
        # The claim is held: no second sender can take it.
        with open(run.home / "sender.lock", "rb") as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        receiver.default = 200
        receiver.release.set()
