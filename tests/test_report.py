"""`autotelemetry report` over generated event sets, its numbers checked exactly.

A deterministic event set (several versions, one regressing; a sampled CLI;
crashes with messages and frames) is written as spool files the way host CLIs
write them; the real `autotelemetry` command ingests and reports it. Every
expected number is computed here, independently of the report's code, from
the events themselves.
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import SYNTHETIC_ENV, Runner

STATUSES = ("success", "failure", "usage_error", "interrupted", "terminated", "crash")
VERSIONS = ("1.9.0", "1.10.0", "2.0.0")  # PEP 440 order differs from string order


def _event(rng: random.Random, **fields: Any) -> dict[str, Any]:
    ev = {
        "schema_version": 1,
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": "command",
        "session_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "env": dict(SYNTHETIC_ENV),
    }
    ev.update(fields)
    return ev


def generate(seed: int = 19) -> list[dict[str, Any]]:
    """~1,600 events: `acme` on three versions (2.0.0 makes `acme db migrate` crash),
    `tiny` sampled at 0.25 (and a few events at 0.5: mixed weights)."""
    rng = random.Random(seed)
    installs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(12)]
    events: list[dict[str, Any]] = []
    commands = ["acme db migrate", "acme db status", "acme greet"]
    for i in range(1200):
        version = VERSIONS[i % 3]
        command = commands[(i // 3) % 3]
        r = rng.random()
        if version == "2.0.0" and command == "acme db migrate" and r < 0.25:
            status = "crash"
        elif r < 0.04:
            status = "failure"
        elif r < 0.07:
            status = "usage_error"
        elif r < 0.08:
            status = "interrupted"
        elif r < 0.085:
            status = "terminated"
        else:
            status = "success"
        day = 1 + (i * 7) % 20
        ts = f"2026-11-{day:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 13) % 60:02d}.{i % 1000:03d}Z"
        flags = sorted({f for f, p in (("--dry-run", 0.3), ("--verbose", 0.5)) if rng.random() < p})
        ev = _event(
            rng,
            timestamp=ts,
            install_id=installs[rng.randrange(len(installs))],
            cli={"name": "acme", "version": version, "framework": "click"},
            command=command,
            flags=flags,
            duration_ms=round(rng.lognormvariate(4.5, 0.6), 3),
            exit_code=0 if status == "success" else (130 if status == "interrupted" else 1),
            status=status,
            error_type=None,
        )
        events.append(ev)
        if status == "crash":
            kind = "KeyError" if rng.random() < 0.8 else "ValueError"
            events.append(
                _event(
                    rng,
                    type="crash",
                    session_id=ev["session_id"],
                    timestamp=ts,
                    install_id=ev["install_id"],
                    cli=ev["cli"],
                    command=command,
                    count=2 if i % 5 == 0 else 1,
                    exception={
                        "type": kind,
                        "message": "'<arg>'" if kind == "KeyError" else "bad value <arg>",
                        "frames": [
                            {"module": "acme.cli", "function": "main", "line": 3, "in_app": True},
                            {"module": "acme.db", "function": "migrate", "line": 9, "in_app": True},
                            {"module": "click.core", "function": "invoke", "line": 12},
                        ],
                        "fingerprint": "fp-" + kind,
                    },
                )
            )
    for i in range(400):
        rate = 0.5 if i % 10 == 0 else 0.25
        status = "failure" if i % 8 == 0 else "success"
        events.append(
            _event(
                rng,
                timestamp=f"2026-11-{1 + i % 20:02d}T12:00:{i % 60:02d}.000Z",
                install_id=installs[i % 3],
                sample_rate=rate,
                cli={"name": "tiny", "version": "0.1", "framework": "argparse"},
                command="tiny",
                flags=["--fast"] if i % 4 == 0 else [],
                duration_ms=float(5 + (i * 37) % 90),
                exit_code=0 if status == "success" else 2,
                status=status,
                error_type=None,
            )
        )
    return events


def write_spool(home: Path, events: list[dict[str, Any]], per_file: int = 50) -> None:
    """Spool files as host CLIs name them (a current nanosecond time first: the spool's
    age cap reads it)."""
    spool = home / "spool"
    spool.mkdir(mode=0o700, parents=True, exist_ok=True)
    born = time.time_ns()
    for n, start in enumerate(range(0, len(events), per_file)):
        lines = "".join(json.dumps(e) + "\n" for e in events[start : start + per_file])
        (spool / f"{born + n:020d}-1-{n:08x}.jsonl").write_text(lines)


def report(run: Runner, *args: str) -> dict[str, Any]:
    out = run("autotelemetry", "report", "--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# --- the expected numbers, computed independently -------------------------------------


def w(ev: dict[str, Any]) -> float:
    return 1 / ev["sample_rate"] if ev.get("sample_rate") else 1.0


def num(x: float) -> float:
    return round(x) if abs(x - round(x)) < 1e-9 else round(x, 2)


def nearest_rank(events: list[dict[str, Any]], q: int) -> float:
    """Weighted nearest rank, by brute force: smallest d whose cumulative weight >= q% of all."""
    ordered = sorted(events, key=lambda e: e["duration_ms"])
    total = sum(w(e) for e in ordered)
    cum = 0.0
    for e in ordered:
        cum += w(e)
        if cum >= q / 100 * total - 1e-9:
            return round(e["duration_ms"], 1)
    raise AssertionError


def z_score(x1: int, n1: int, x2: int, n2: int) -> float:
    p = (x1 + x2) / (n1 + n2)
    return (x2 / n2 - x1 / n1) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def expected_slice(evs: list[dict[str, Any]]) -> dict[str, Any]:
    runs = sum(w(e) for e in evs)
    by_status = {s: sum(w(e) for e in evs if e["status"] == s) for s in STATUSES}
    return {
        "runs": num(runs),
        "events": len(evs),
        "installs": len({e["install_id"] for e in evs}),
        "status": {s: num(v) for s, v in by_status.items()},
        "rates": {s: round(v / runs, 4) for s, v in by_status.items()},
    }


# --- tests ---------------------------------------------------------------------------


@pytest.fixture
def generated(run: Runner) -> list[dict[str, Any]]:
    events = generate()
    write_spool(run.home, events)
    return events


def test_report_numbers_are_exact(run, generated):
    data = report(run, "--top", "50")
    commands = [e for e in generated if e["type"] == "command"]
    crashes = [e for e in generated if e["type"] == "crash"]
    assert data["stored"] == data["matched"] == len(generated)
    by_cli = {c["cli"]: c for c in data["clis"]}
    assert list(by_cli) == ["tiny", "acme"]  # most runs first: tiny 1,520 (400 events), acme 1,200
    for name, c in by_cli.items():
        evs = [e for e in commands if e["cli"]["name"] == name]
        exp = expected_slice(evs)
        assert {k: c[k] for k in exp} == exp, name
        assert c["duration_ms"] == {f"p{q}": nearest_rank(evs, q) for q in (50, 95, 99)}
        # Every command: the same numbers, its flags with their share, durations.
        assert c["commands_total"] == len({e["command"] for e in evs})
        for cmd in c["commands"]:
            cevs = [e for e in evs if e["command"] == cmd["command"]]
            exp = expected_slice(cevs)
            assert {k: cmd[k] for k in exp} == exp, cmd["command"]
            assert cmd["duration_ms"] == {f"p{q}": nearest_rank(cevs, q) for q in (50, 95, 99)}
            flag_runs: dict[str, float] = defaultdict(float)
            for e in cevs:
                for f in e["flags"]:
                    flag_runs[f] += w(e)
            total = sum(w(e) for e in cevs)
            assert cmd["flags"] == [
                {
                    "flag": f,
                    "runs": num(r),
                    "events": sum(f in e["flags"] for e in cevs),
                    "share": round(r / total, 4),
                }
                for f, r in sorted(flag_runs.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
        # The trend: every day from the first to the last, zeros included.
        per_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in evs:
            per_day[e["timestamp"][:10]].append(e)
        assert c["trend"]["period"] == "day"
        assert [p["start"] for p in c["trend"]["points"]] == sorted(per_day)  # 20 days, no gap
        for p in c["trend"]["points"]:
            day = per_day[p["start"]]
            assert p["runs"] == num(sum(w(e) for e in day))
            assert p["crash"] == num(sum(w(e) for e in day if e["status"] == "crash"))

    tiny = by_cli["tiny"]
    assert tiny["sampled"] is True and tiny["sample_rates"] == [0.25, 0.5]
    assert tiny["runs"] == 40 * 2 + 360 * 4  # 1,520 runs from 400 events
    assert by_cli["acme"]["sampled"] is False

    # Versions in PEP 440 order (1.9.0 < 1.10.0), each with its rates.
    acme = by_cli["acme"]
    assert [v["version"] for v in acme["versions"]] == list(VERSIONS)
    for v in acme["versions"]:
        vevs = [
            e
            for e in commands
            if e["cli"]["name"] == "acme" and e["cli"]["version"] == v["version"]
        ]
        assert v["runs"] == len(vevs)
        assert v["crash_rate"] == round(sum(e["status"] == "crash" for e in vevs) / len(vevs), 4)
        assert v["failure_rate"] == round(
            sum(e["status"] == "failure" for e in vevs) / len(vevs), 4
        )

    # Crash groups: counts include the repeats each crash event stands for.
    groups = {g["fingerprint"]: g for g in acme["crash_groups"]}
    for fp in ("fp-KeyError", "fp-ValueError"):
        evs = [e for e in crashes if e["exception"]["fingerprint"] == fp]
        g = groups[fp]
        assert g["count"] == sum(e.get("count", 1) for e in evs)
        assert g["events"] == len(evs)
        assert g["first_seen"] == min(e["timestamp"] for e in evs)
        assert g["last_seen"] == max(e["timestamp"] for e in evs)
        assert g["top_frame"] == "acme.db:migrate"  # innermost in-app frame
        assert g["versions"] == ["2.0.0"] and g["commands"] == ["acme db migrate"]
        assert g["message"] == Counter(e["exception"]["message"] for e in evs).most_common(1)[0][0]
    assert acme["crash_events"] == len(crashes)


def test_regression_flag_follows_the_documented_rule(run, generated):
    data = report(run, "--top", "50")
    acme = next(c for c in data["clis"] if c["cli"] == "acme")
    commands = [e for e in generated if e["type"] == "command" and e["cli"]["name"] == "acme"]
    expected = set()
    for cmd in {e["command"] for e in commands}:
        for prev, cur in zip(VERSIONS, VERSIONS[1:]):
            a = [e for e in commands if e["command"] == cmd and e["cli"]["version"] == prev]
            b = [e for e in commands if e["command"] == cmd and e["cli"]["version"] == cur]
            for status in ("failure", "crash"):
                x1, x2 = (sum(e["status"] == status for e in s) for s in (a, b))
                enough = len(a) >= 30 and len(b) >= 30 and x2 / len(b) > x1 / len(a)
                if enough and z_score(x1, len(a), x2, len(b)) >= 3.09:
                    expected.add((cmd, cur, status, prev))
    found = {(r["command"], r["version"], r["rate"], r["previous"]) for r in acme["regressions"]}
    assert found == expected == {("acme db migrate", "2.0.0", "crash", "1.10.0")}
    (r,) = acme["regressions"]
    a = [
        e for e in commands if e["command"] == "acme db migrate" and e["cli"]["version"] == "1.10.0"
    ]
    b = [
        e for e in commands if e["command"] == "acme db migrate" and e["cli"]["version"] == "2.0.0"
    ]
    assert r["z"] == round(
        z_score(
            sum(e["status"] == "crash" for e in a),
            len(a),
            sum(e["status"] == "crash" for e in b),
            len(b),
        ),
        2,
    )
    text = run("autotelemetry", "report").stdout.decode()
    assert "REGRESSIONS:" in text and "acme db migrate 2.0.0: crash rate" in text
    assert "sampled (sample_rate 0.25, 0.5): runs are estimated from 400 recorded events" in text


def test_filters_and_what_empty_reports_say(run, generated):
    data = report(run, "--cli", "tiny", "--since", "2026-11-05", "--until", "2026-11-07T00:00:00Z")
    tiny = [
        e
        for e in generated
        if e["cli"]["name"] == "tiny" and "2026-11-05" <= e["timestamp"] < "2026-11-07"
    ]
    (c,) = data["clis"]
    assert c["events"] == len(tiny) and c["runs"] == num(sum(w(e) for e in tiny))
    assert data["stored"] == len(generated)
    for args in (["--cli", "nosuch"], ["--since", "2099-01-01"]):
        out = run("autotelemetry", "report", *args)
        assert out.returncode == 0
        assert out.stdout.decode() == f"no events match these filters ({len(generated):,} stored)\n"


def test_report_with_nothing_recorded(run):
    out = run("autotelemetry", "report")
    assert out.returncode == 0 and out.stdout.startswith(b"no events yet")
    assert json.loads(run("autotelemetry", "report", "--json").stdout)["clis"] == []
    assert not (run.home / "store.sqlite").exists()


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45", "2026-02-30", "7x", "-3d", "10:00"])
def test_bad_times_are_refused(run, bad):
    for command in ("events", "report"):
        for option in ("--since", "--until"):
            out = run("autotelemetry", command, option, bad)
            assert out.returncode == 2, (command, option, bad)
            assert f"Invalid value for '{option}'" in out.stderr.decode()
            assert "RFC 3339" in out.stderr.decode() and b"Traceback" not in out.stderr
            assert out.stdout == b""


#: The store as schema version 1 wrote it (before `install_id`/`sample_rate` columns).
V1_SCHEMA = """
CREATE TABLE events (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, ts TEXT NOT NULL, cli TEXT,
    cli_version TEXT, framework TEXT, command TEXT, status TEXT, exit_code INTEGER,
    duration_ms REAL, error_type TEXT, fingerprint TEXT, body TEXT NOT NULL);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_cli_command ON events (cli, command, duration_ms);
CREATE INDEX events_report_command ON events (type, cli, command, duration_ms, status);
CREATE INDEX events_report_cli ON events (type, cli, duration_ms, cli_version);
CREATE TABLE flags (event_id TEXT NOT NULL, cli TEXT, command TEXT, flag TEXT NOT NULL);
CREATE INDEX flags_cli ON flags (cli, flag);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
PRAGMA user_version = 1;
"""


def test_a_version_1_store_is_migrated_in_place(run, tmp_path):
    import sqlite3

    events = generate()
    write_spool(run.home, events)
    fresh = report(run, "--top", "50")
    old = tmp_path / "old-home"
    old.mkdir(mode=0o700)
    db = sqlite3.connect(old / "store.sqlite")
    db.executescript(V1_SCHEMA)
    for e in events:
        exc = e.get("exception") or {}
        db.execute(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (e["event_id"], e["type"], e["timestamp"], e["cli"]["name"], e["cli"]["version"],
             e["cli"]["framework"], e.get("command"), e.get("status"), e.get("exit_code"),
             e.get("duration_ms"), e.get("error_type") or exc.get("type"),
             exc.get("fingerprint"), json.dumps(e)),
        )  # fmt: skip
        for flag in e.get("flags") or []:
            db.execute(
                "INSERT INTO flags VALUES (?,?,?,?)",
                (e["event_id"], e["cli"]["name"], e["command"], flag),
            )
    db.commit()
    db.close()
    migrated = report(Runner(run.venv, old, run.cwd), "--top", "50")
    for data in (fresh, migrated):
        data.pop("source"), data.pop("generated_at")
    # Crash rows of a version-1 store lack their run's exit code: not shown by the report.
    assert migrated == fresh
    with sqlite3.connect(old / "store.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "events_report_command" not in names and "report_runs" in names
