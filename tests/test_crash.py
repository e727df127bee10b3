"""Crash capture, run for real: identical host output, the crash event, grouping, rate limit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Runner, assert_same_output

SCRIPTS = Path(__file__).parent / "scripts"
TYPER_ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}


_same = assert_same_output


def _split(run: Runner) -> tuple[list[dict], list[dict]]:
    events = run.events()
    commands = [e for e in events if e["type"] == "command"]
    return commands, [e for e in events if e["type"] == "crash"]


CRASHES = [
    ("exampleclick", ["crash", "x"]),
    ("exampleclick", ["explode", "--kind", "plain", "abc"]),
    ("exampleclick", ["explode", "--kind", "thread", "abc"]),
    ("exampleclick", ["explode", "--kind", "chained", "abc"]),
    ("exampleclick", ["explode", "--kind", "badstr", "abc"]),
    ("exampleclick", ["explode", "--kind", "big", "abc"]),
    ("exampleclick", ["explode", "--kind", "recursion"]),
    ("exampletyper", ["crash", "zzz"]),
    ("exampletyper", ["explode", "abc", "--chained"]),
]


@pytest.mark.parametrize("program,argv", CRASHES, ids=[f"{p} {' '.join(a)}" for p, a in CRASHES])
def test_crash_output_identical_and_event(run, run_bare, venv, bare_venv, program, argv):
    hooked = run(program, *argv, env=TYPER_ENV)
    bare = run_bare(program, *argv, env=TYPER_ENV)
    _same(hooked, bare, (venv, bare_venv))
    (command,), (crash,) = _split(run)
    assert crash["session_id"] == command["session_id"]
    assert crash["cli"] == command["cli"]
    assert crash["command"] == command["command"]
    exc = crash["exception"]
    assert len(exc["fingerprint"]) == 16 and crash["count"] == 1
    assert 0 < len(exc["frames"]) <= 50
    assert len(json.dumps(exc["frames"], separators=(",", ":"))) <= 4096
    for frame in exc["frames"]:
        assert set(frame) == {"module", "function", "line", "file", "in_app"}
        assert not frame["file"].startswith("/"), frame
        assert frame["in_app"] == frame["module"].startswith(program), frame
    if "thread" in argv:
        assert crash["thread"] == "thread" and command["status"] == "success"
        assert b"Exception in thread" in hooked.stderr  # the previous hook still ran
    else:
        assert crash["thread"] == "main"
        assert command["status"] == "crash" and command["exit_code"] == 1
        assert command["error_type"] == exc["type"].rpartition(".")[2]
    # innermost last: the frame that raised is the program's own
    assert exc["frames"][-1]["in_app"]


def test_crash_event_details(run):
    run("exampleclick", "explode", "--kind", "chained", "abc")
    (crash,) = _split(run)[1]
    exc = crash["exception"]
    assert exc["type"] == "RuntimeError"
    # "abc" was typed on the command line: scrubbed from the message (law 3)
    assert exc["message"] == "giving up on ~/.config/exampleclick.toml: <value>"
    assert exc["chain"] == [
        {"type": "KeyError", "relation": "context"},
        {"type": "OSError", "relation": "cause"},
    ]
    assert exc["frames"][-1]["module"] == "exampleclick.cli"
    assert exc["frames"][-1]["function"] == "explode"
    assert exc["frames"][-1]["file"] == "exampleclick/cli.py"
    assert {f["file"] for f in exc["frames"] if f["module"] == "click.core"} == {"click/core.py"}
    assert exc["frames"][0]["file"] == "<prefix>/bin/exampleclick"


def test_recursion_is_bounded(run):
    run("exampleclick", "explode", "--kind", "recursion")
    (crash,) = _split(run)[1]
    exc = crash["exception"]
    assert exc["type"] == "RecursionError"
    assert len(exc["frames"]) <= 50 and exc["frames_omitted"] > 900


def test_fingerprint_groups_by_place_not_message(run):
    run("exampleclick", "explode", "one message")
    (run.home / "crash-state").unlink()  # let the second one through the rate limit
    run("exampleclick", "explode", "--kind", "plain", "another message")
    run("exampleclick", "explode", "--kind", "chained", "x")
    crashes = _split(run)[1]
    a, b, c = (e["exception"]["fingerprint"] for e in crashes)
    assert a == b != c


def test_not_crashes(run):
    for argv in (["fail", "--code", "5"], ["fail"], ["db", "nosuch"], ["db", "status"]):
        run("exampleclick", *argv)
    assert _split(run)[1] == []
    assert not (run.home / "crash-state").exists()


def test_no_crash_no_crash_work(run, venv, tmp_path):
    """A run that does not crash never imports the crash machinery."""
    (run.home / "allowlist").write_text("modules_at_exit.py\n")
    dump = tmp_path / "modules.txt"
    script = str(SCRIPTS / "modules_at_exit.py")
    out = subprocess.run(
        [venv.python, script, "click", str(dump), "--flag"], capture_output=True, env=run.env()
    )
    assert out.returncode == 0, out.stderr
    assert len(run.events()) == 1
    modules = set(dump.read_text().split())
    assert "autotelemetry.hook.recorder" in modules
    assert not {"autotelemetry.hook.crash", "autotelemetry.hook.privacy"} & modules


def test_rate_limit_counts_repeats(run):
    for _ in range(3):
        assert run("exampleclick", "explode", "loop").returncode == 1
    commands, crashes = _split(run)
    assert len(commands) == 3 and len(crashes) == 1
    assert {c["status"] for c in commands} == {"crash"}
    # Age the window: the next occurrence is stored and stands for the 2 suppressed ones too.
    # Each suppressed occurrence is a file of its own in crash-repeats/ (no count lost
    # under concurrency).
    state = run.home / "crash-state"
    fp, start, last, suppressed = state.read_text().split()
    repeats = sorted(p.name for p in (run.home / "crash-repeats").iterdir())
    assert len(repeats) == 2 and all(name.startswith(fp + ".") for name in repeats)
    state.write_text(f"{fp} {float(start) - 3601:.3f} {last} {suppressed}\n")
    run("exampleclick", "explode", "loop")
    crashes = _split(run)[1]
    assert [c["count"] for c in crashes] == [1, 3]
    report = json.loads(run("autotelemetry", "report", "--json").stdout)
    (cli,) = report["clis"]
    (group,) = cli["crash_groups"]
    assert group["count"] == 4 and group["fingerprint"] == fp
    assert group["type"] == "OSError" and group["top_frame"] == "exampleclick.cli:_load"
    assert group["versions"] == ["1.2.0"] and group["first_seen"] <= group["last_seen"]
    assert group["events"] == 2 and group["message"]
    text = run("autotelemetry", "report").stdout.decode()
    assert "crash groups (2 crash events):" in text and fp in text
    assert "exampleclick.cli:_load" in text


def test_broken_crash_state_changes_nothing(run, run_bare, venv, bare_venv):
    (run.home / "crash-state").mkdir()  # every write of the state fails
    argv = ["explode", "--kind", "chained", "x"]
    _same(run("exampleclick", *argv), run_bare("exampleclick", *argv), (venv, bare_venv))
    commands, crashes = _split(run)
    assert [c["status"] for c in commands] == ["crash"] and crashes == []


def test_click_standalone_false_exception_escaping_main(run, run_bare, venv, bare_venv):
    (run.home / "allowlist").write_text("crashy_click.py\n")

    def go(runner: Runner, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [runner.venv.python, str(SCRIPTS / "crashy_click.py"), *args],
            capture_output=True,
            env=runner.env(),
            cwd=runner.cwd,
        )

    _same(go(run, "boom", "q"), go(run_bare, "boom", "q"), (venv, bare_venv))
    (command,), (crash,) = _split(run)
    assert command["command"] == "crashy_click.py boom" and command["status"] == "crash"
    exc = crash["exception"]
    assert exc["type"] == "LookupError" and exc["message"] == "no row in ~/work/data.csv: q"
    # a script: the script itself is the application
    assert exc["frames"][-1] == {
        "module": "__main__",
        "function": "boom",
        "line": exc["frames"][-1]["line"],
        "file": "crashy_click.py",
        "in_app": True,
    }
    assert go(run, "ok").returncode == 0


def test_framework_independent_capture(run, venv):
    """Any integration's open invocation gets crash capture (argparse's is built elsewhere)."""
    (run.home / "allowlist").write_text("generic_crash.py\n")
    script = str(SCRIPTS / "generic_crash.py")
    out = subprocess.run([venv.python, script, "abc"], capture_output=True, env=run.env())
    assert out.returncode == 1 and b"PermissionError" in out.stderr
    (command,), (crash,) = _split(run)
    assert command["status"] == "crash" and command["error_type"] == "PermissionError"
    assert crash["cli"]["framework"] == "argparse"
    assert crash["command"] == "generic_crash.py sub"
    assert crash["exception"]["message"] == "~/notes.txt: <value>"
    out = subprocess.run([venv.python, script, "exit"], capture_output=True, env=run.env())
    assert out.returncode == 3
    assert len(_split(run)[1]) == 1  # SystemExit is not a crash


def test_the_crashing_programs_distribution_is_read_first(run, tmp_path):
    """Which code is the program's own (``in_app``) comes from the distribution whose console
    script it is: the one named like the program is asked first, so a crash reads one
    ``entry_points.txt``, not one per distribution sorted before it (the audit hook sees
    every open under site-packages)."""
    log = tmp_path / "audit.jsonl"
    site = run.venv.site_packages
    audited = [run.venv.python, str(SCRIPTS / "audited.py"), str(log)]
    out = subprocess.run(
        [*audited, run.venv.script("exampleclick"), "crash", "x"],
        capture_output=True,
        env=run.env(AUDITED_ROOT=str(site)),
        cwd=run.cwd,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    (crash,) = _split(run)[1]
    assert crash["exception"]["frames"][-1]["in_app"]
    opened = [json.loads(line)["path"] for line in log.read_text().splitlines()]
    asked = [Path(p).parent.name for p in opened if Path(p).name == "entry_points.txt"]
    assert len(asked) == 1 and asked[0].startswith("exampleclick-"), asked
    assert sorted(p.name for p in site.glob("*.dist-info"))[0] < asked[0]  # others sort first


def test_a_fifo_in_the_programs_distribution_never_blocks_the_crash(run, run_bare, venv, bare_venv):
    """Deciding ``in_app`` reads the owner's ``top_level.txt`` and ``RECORD``: a FIFO
    planted there (an ``open()`` would wait for a writer forever) is refused, the host
    exits as it does without us, and its frames are still its own (from ``RECORD``)."""
    import os

    (dist_info,) = venv.site_packages.glob("exampleclick-*.dist-info")
    planted = dist_info / "top_level.txt"
    assert not planted.exists()
    os.mkfifo(planted)
    try:
        hooked = run("exampleclick", "crash", "x")
    finally:
        planted.unlink()
    _same(hooked, run_bare("exampleclick", "crash", "x"), (venv, bare_venv))
    (crash,) = _split(run)[1]
    assert crash["exception"]["frames"][-1]["in_app"]
