"""Hostile input (issue 9, item 4): fuzzed argv, corrupt spool files, huge and non-UTF-8 argv.

Each fuzzed argv runs twice for real, through the hooked and the bare venv: the
exit code and both output streams must be identical, and the store may hold
nothing but names the CLI registered.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import assert_same_output as _same
from conftest import read_spool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Everything exampleclick registered (commands, aliases resolved, options).
COMMANDS = {"exampleclick", "db", "migrate", "status", "greet", "fail", "crash", "pipeline"}
COMMANDS |= {"resize", "save"}
OPTIONS = {"--verbose", "--config", "--version", "--help", "--dry-run", "--to", "--token"}
OPTIONS |= {"--code", "--width", "--secret"}
WORDS = sorted(COMMANDS - {"exampleclick"} | OPTIONS | {"m", "st", "mig", "-v", "--", "-"})

token = st.one_of(
    st.sampled_from(WORDS),
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(WORDS).map(lambda w: w + "=" + "v4lue"),
    st.binary(min_size=1, max_size=6).filter(lambda b: b"\x00" not in b),  # non-UTF-8 bytes
)
fuzz_argv = st.lists(token, max_size=8).filter(lambda a: "wait" not in a)


def _check_names(events: list[dict]) -> None:
    for ev in events:
        words = ev["command"].split(" ")
        assert set(words) <= COMMANDS, ev["command"]
        assert set(ev.get("flags", [])) <= OPTIONS, ev.get("flags")


@pytest.mark.slow
def test_fuzzed_argv_same_behaviour_and_only_registered_names(run, run_bare, venv, bare_venv):
    seen = []

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(fuzz_argv)
    def check(argv: list) -> None:
        hooked = run("exampleclick", *argv)
        bare = run_bare("exampleclick", *argv)
        _same(hooked, bare, (venv, bare_venv))
        everything = read_spool(run.home)
        for path in (run.home / "spool").glob("*.jsonl"):
            path.unlink()
        _check_names(everything)
        # a crash adds a (rate-limited) crash event; exactly one command event per run
        events = [e for e in everything if e["type"] == "command"]
        assert len(events) == 1
        assert events[0]["exit_code"] == hooked.returncode
        _check_names(events)
        seen.append(argv)

    check()
    assert len(seen) >= 50


def test_huge_argv(run, run_bare, venv, bare_venv):
    """100 000 arguments: the same usage error, one small event."""
    extra = ["x"] * 100_000
    for argv in (["db", "migrate", "--dry-run", *extra], ["--verbose", *extra[:50_000], "--to"]):
        _same(run("exampleclick", *argv), run_bare("exampleclick", *argv), (venv, bare_venv))
    events = run.events()
    assert len(events) == 2
    _check_names(events)
    assert all(len(str(e)) < 4096 for e in events)


def test_non_utf8_argv_and_environment(run, run_bare, venv, bare_venv):
    """Raw bytes in argv and env (surrogate escapes in Python) never break the CLI or the store."""
    env = {"LANG": "C.UTF-8", "JUNK": os.fsdecode(b"\xff\xfe\x80")}
    cases = [
        [b"greet", b"--token", b"\xff\xfesecret", b"\xc3(name"],
        [b"db", b"m", b"--dry-run", b"\xed\xa0\x80"],  # an encoded lone surrogate
        [b"--\xff", b"db"],
        [b"db", b"\xe9t\xe9"],
    ]
    for argv in cases:
        args = [os.fsdecode(a) for a in argv]
        hooked = run("exampleclick", *args, env=env)
        bare = run_bare("exampleclick", *args, env=env)
        _same(hooked, bare, (venv, bare_venv))
    events = run.events()
    assert len(events) == len(cases)
    _check_names(events)
    stored = run("autotelemetry", "events", "--json", env=env)
    assert stored.returncode == 0, stored.stderr
    assert len(stored.stdout.splitlines()) == len(cases)
    for path in run.home.rglob("*"):
        if path.is_file() and path.name != "allowlist":
            data = path.read_bytes()
            assert b"secret" not in data and b"\xff\xfe" not in data, path


READER_FUZZ = r"""
import json, os, random, sys, time, uuid
from autotelemetry.store import Store
from autotelemetry.store.ingest import CorruptSpoolFile, ingest, read

home = sys.argv[1]
rng = random.Random(int(sys.argv[2]))
n = int(sys.argv[3])
good = {"schema_version": 1, "event_id": "e", "type": "command",
        "timestamp": "2026-11-01T10:00:00.000Z", "session_id": str(uuid.UUID(int=1, version=4)),
        "install_id": str(uuid.UUID(int=2, version=4)),
        "cli": {"name": "c", "version": "1", "framework": "click"},
        "env": {"os": "Linux", "os_version": "6", "arch": "x86_64", "python": "3.11.7",
                "ci": False, "ci_provider": None, "shell": None, "tty": False},
        "command": "c x", "flags": ["--a"], "duration_ms": 1.5, "exit_code": 0,
        "status": "success", "error_type": None}
weird = [None, True, 2**70, -1, 1.5e308, "", "\ud800", [], {}, [1, [2]], {"a": {"b": []}},
         "x" * 1000]

def case(i):
    ev = json.loads(json.dumps(good))
    ev["event_id"] = str(uuid.UUID(int=i + 10, version=4))
    kind = rng.randrange(7)
    if kind == 0:  # a field of the wrong type
        ev[rng.choice(list(ev))] = rng.choice(weird)
    elif kind == 1:  # a nested field of the wrong type
        ev[rng.choice(["cli", "flags", "exception"])] = rng.choice(weird)
    data = json.dumps(ev).encode("utf-8", "surrogatepass") + b"\n"
    if kind == 2:  # truncated
        data = data[: rng.randrange(len(data))]
    elif kind == 3:  # bit flips
        b = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        data = bytes(b)
    elif kind == 4:  # deep nesting, binary garbage, not objects
        data = rng.choice([b"[" * 100000, os.urandom(200), b"[1,2]\n", b"\"s\"\n", b"\xff\xfe\n"])
    elif kind == 5:  # many lines, one bad
        data = data * 3 + b"{\n"
    return data

d = os.path.join(home, "spool")
os.makedirs(d, mode=0o700, exist_ok=True)
t0 = time.time_ns()
for i in range(n):
    path = os.path.join(d, "%020d-1-%08x.jsonl" % (t0 + i, i))
    with open(path, "wb") as f:
        f.write(case(i))
    try:
        read(path)
    except CorruptSpoolFile:
        pass  # the only exception the spool reader may raise for bad content
with Store(home) as s:
    result = ingest(s)
assert os.listdir(d) == [], os.listdir(d)
print(result.files, len(result.quarantined))
"""


def test_corrupt_spool_files_are_quarantined_never_raised(run, tmp_path):
    """Regression: valid JSON of the wrong shape (or very deep) used to crash every ingest."""
    script = tmp_path / "fuzz_readers.py"
    script.write_text(READER_FUZZ)
    out = subprocess.run(
        [run.venv.python, str(script), str(run.home), "9", "400"],
        capture_output=True,
        env=run.env(),
    )
    assert out.returncode == 0, out.stderr
    files, quarantined = map(int, out.stdout.split())
    assert files + quarantined == 400 and quarantined > 50 and files > 50
    assert run("autotelemetry", "report").returncode == 0
    assert b"corrupt spool file" in run("autotelemetry", "status").stdout
