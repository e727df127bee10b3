"""Click and Typer CLIs, run for real through the .pth hook, compared with an unhooked venv."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
from conftest import (
    SCRIPTS,
    Runner,
    assert_nowhere,
    assert_same_output,
    command_event,
    default_sigint,
)

_same = assert_same_output


CASES = [
    # argv, command, flags, status, exit code
    (
        ["--verbose", "db", "migrate", "--dry-run", "prod"],
        "exampleclick db migrate",
        ["--dry-run", "--verbose"],
        "success",
        0,
    ),
    (["db", "m", "--dry-run", "prod"], "exampleclick db migrate", ["--dry-run"], "success", 0),
    (["db", "mig", "prod", "--to", "7"], "exampleclick db migrate", ["--to"], "success", 0),
    (["db", "st"], "exampleclick db status", [], "success", 0),
    (["db", "nosuchthing"], "exampleclick db", [], "usage_error", 2),
    (["db", "migrate"], "exampleclick db migrate", [], "usage_error", 2),
    (["--bogus"], "exampleclick", [], "usage_error", 2),
    (["--help"], "exampleclick", ["--help"], "success", 0),
    (["db", "migrate", "--help"], "exampleclick db migrate", ["--help"], "success", 0),
    (["--version"], "exampleclick", ["--version"], "success", 0),
    (["fail"], "exampleclick fail", [], "failure", 1),
    (["fail", "--code", "5"], "exampleclick fail", ["--code"], "failure", 5),
    (["fail", "--code", "0"], "exampleclick fail", ["--code"], "success", 0),
    (["crash", "x"], "exampleclick crash", [], "crash", 1),
    (
        ["pipeline", "resize", "--width", "3", "save"],
        "exampleclick pipeline resize save",
        ["--width"],
        "success",
        0,
    ),
]


@pytest.mark.parametrize(
    "argv,command,flags,status,code", CASES, ids=[" ".join(c[0]) for c in CASES]
)
def test_click_event_and_identical_output(
    run, run_bare, venv, bare_venv, argv, command, flags, status, code
):
    hooked = run("exampleclick", *argv)
    bare = run_bare("exampleclick", *argv)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert ev["type"] == "command"
    assert ev["command"] == command
    assert ev["flags"] == flags
    assert ev["status"] == status
    assert ev["exit_code"] == code == hooked.returncode
    assert ev["cli"] == {"name": "exampleclick", "version": "1.2.0", "framework": "click"}
    assert ev["schema_version"] == 1
    assert ev["duration_ms"] > 0


def test_event_shape(run):
    run("exampleclick", "db", "status")
    ev = command_event(run)
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert uuid.match(ev["event_id"]) and uuid.match(ev["session_id"])
    assert uuid.match(ev["install_id"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", ev["timestamp"])
    assert set(ev["env"]) == {
        "os",
        "os_version",
        "arch",
        "python",
        "ci",
        "ci_provider",
        "shell",
        "tty",
    }
    assert ev["env"]["ci"] is False and ev["env"]["tty"] is False
    assert ev["error_type"] is None
    # The install id is stable across runs; event and session ids are not.
    run("exampleclick", "db", "status")
    a, b = run.events()
    assert a["install_id"] == b["install_id"]
    assert a["event_id"] != b["event_id"] and a["session_id"] != b["session_id"]


def test_ci_is_detected(run):
    run("exampleclick", "db", "status", env={"GITHUB_ACTIONS": "true"})
    env = command_event(run)["env"]
    assert env["ci"] is True and env["ci_provider"] == "github_actions"


def test_values_and_positionals_never_stored(run):
    secret, user_path = "sk_live_4242SECRETVALUE", "/home/alice/private/notes.txt"
    out = run("exampleclick", "--config", user_path, "greet", "--token", secret, "Mallory-Q")
    assert out.returncode == 0
    ev = command_event(run)
    assert ev["command"] == "exampleclick greet"
    assert ev["flags"] == ["--config", "--token"]
    run.stored()  # ingest into the store too
    assert_nowhere(run.home, secret, user_path, "Mallory-Q", "alice")


def test_unknown_command_name_not_stored(run):
    run("exampleclick", "db", "Typed-By-User-42")
    assert command_event(run)["command"] == "exampleclick db"
    assert_nowhere(run.home, "Typed-By-User-42")


def test_not_allowlisted_records_nothing(run):
    (run.home / "allowlist").write_text("someothercli\n")
    out = run("exampleclick", "db", "status")
    assert out.returncode == 0
    assert run.events() == []
    assert not (run.home / "spool").exists()


def test_allow_env_variable_and_globs(run):
    (run.home / "allowlist").unlink()
    run("exampleclick", "db", "status", env={"AUTOTELEMETRY_ALLOW": "other, example*"})
    assert command_event(run)["command"] == "exampleclick db status"


@pytest.mark.parametrize("var", ["DO_NOT_TRACK", "AUTOTELEMETRY_DISABLED"])
def test_kill_switches(run, var):
    run("exampleclick", "db", "status", env={var: "1"})
    assert run.events() == []


def test_completion_run_records_nothing(run, run_bare):
    env = {
        "_EXAMPLECLICK_COMPLETE": "bash_complete",
        "COMP_WORDS": "exampleclick d",
        "COMP_CWORD": "1",
    }
    hooked = run("exampleclick", env=env)
    bare = run_bare("exampleclick", env=env)
    _same(hooked, bare)
    assert b"db" in hooked.stdout
    assert run.events() == []
    assert not run.home.joinpath("spool").exists()


def test_autotelemetry_run_instruments_one_invocation(run):
    (run.home / "allowlist").unlink()
    out = run("autotelemetry", "run", "exampleclick", "db", "m", "--dry-run", "prod")
    assert out.returncode == 0 and out.stdout == b"would migrate prod\n"
    assert command_event(run)["command"] == "exampleclick db migrate"
    # exit codes pass through exactly
    assert run("autotelemetry", "run", "--", "exampleclick", "fail", "--code", "7").returncode == 7
    # the one-shot consent is not inherited by children
    child = run(
        "autotelemetry",
        "run",
        "python",
        "-c",
        "import os; print(os.environ.get('AUTOTELEMETRY_RUN'))",
    )
    assert child.stdout == b"None\n"
    missing = run("autotelemetry", "run", "no-such-program-xyz")
    assert missing.returncode == 127 and b"not found" in missing.stderr


def test_run_module_and_script(run, tmp_path):
    (run.home / "allowlist").unlink()
    out = run("autotelemetry", "run", "-m", "exampleclick", "db", "status")
    assert out.returncode == 0, out.stderr
    ev = command_event(run)
    assert ev["command"] == "exampleclick db status"
    assert ev["cli"]["name"] == "exampleclick"


def test_python_dash_m_allowlisted(run):
    out = run("python", "-m", "exampleclick", "--verbose", "db", "status")
    assert out.returncode == 0, out.stderr
    ev = command_event(run)
    assert ev["cli"]["name"] == "exampleclick"
    assert ev["command"] == "exampleclick db status" and ev["flags"] == ["--verbose"]


def test_sigint_is_interrupted(run, run_bare):
    def interrupt(runner: Runner) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.Popen(
            [runner.venv.script("exampleclick"), "wait"],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=runner.env(),
            preexec_fn=default_sigint,
        )
        assert proc.stderr.readline() == b"waiting\n"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    hooked, bare = interrupt(run), interrupt(run_bare)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (
        bare.returncode,
        bare.stdout,
        bare.stderr,
    )
    ev = command_event(run)
    assert ev["status"] == "interrupted" and ev["exit_code"] == hooked.returncode
    assert ev["error_type"] in {"KeyboardInterrupt", "Abort"}


def test_standalone_mode_false(run, venv, tmp_path):
    (run.home / "allowlist").write_text("nonstandalone\n")
    script = str(SCRIPTS / "nonstandalone.py")

    def go(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([venv.python, script, *args], capture_output=True, env=run.env())

    assert go("ok").stdout == b"returned value\n"
    assert go("exit-with", "--n", "3").returncode == 3
    assert go("nope").returncode == 2
    events = run.events()
    assert [(e["command"], e["status"], e["exit_code"]) for e in events] == [
        ("nonstandalone.py ok", "success", 0),
        ("nonstandalone.py exit-with", "failure", 3),
        ("nonstandalone.py", "usage_error", 2),
    ]


TYPER_CASES = [
    (
        ["users", "create", "bob", "--admin", "--password", "s3cr3t-pw"],
        "exampletyper users create",
        ["--admin", "--password"],
        "success",
        0,
    ),
    (["-v", "users", "delete", "bob"], "exampletyper users delete", ["--verbose"], "failure", 4),
    (["users", "delete", "bob", "--force"], "exampletyper users delete", ["--force"], "success", 0),
    (["users", "frobnicate"], "exampletyper users", [], "usage_error", 2),
    (["--help"], "exampletyper", ["--help"], "success", 0),
    (["crash", "zzz"], "exampletyper crash", [], "crash", 1),
]


@pytest.mark.parametrize(
    "argv,command,flags,status,code", TYPER_CASES, ids=[" ".join(c[0]) for c in TYPER_CASES]
)
def test_typer_event_and_identical_output(
    run, run_bare, venv, bare_venv, argv, command, flags, status, code
):
    env = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    hooked = run("exampletyper", *argv, env=env)
    bare = run_bare("exampletyper", *argv, env=env)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert (ev["command"], ev["flags"], ev["status"], ev["exit_code"]) == (
        command,
        flags,
        status,
        code,
    )
    assert ev["cli"]["framework"] == "typer"
    assert ev["cli"]["version"] == "0.3.0"
    # Even a crash message ("bad value zzz") has the typed value scrubbed out.
    assert_nowhere(run.home, "s3cr3t-pw", "zzz")


def test_typer_no_args_is_help(run, run_bare):
    hooked, bare = run("exampletyper"), run_bare("exampletyper")
    _same(hooked, bare)
    ev = command_event(run)
    assert ev["command"] == "exampletyper"
    assert ev["exit_code"] == hooked.returncode
    assert ev["status"] == ("success" if hooked.returncode == 0 else "usage_error")


def test_fork_does_not_duplicate(run, venv, tmp_path):
    script = tmp_path / "forker.py"
    script.write_text(
        "import os, sys, click\n"
        "@click.command()\n"
        "def main():\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        sys.exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "main()\n"
    )
    (run.home / "allowlist").write_text("forker\n")
    out = subprocess.run([venv.python, str(script)], capture_output=True, env=run.env())
    assert out.returncode == 0, out.stderr
    assert len(run.events()) == 1


def test_spool_files_are_private(run):
    run("exampleclick", "db", "status")
    assert (run.home / "spool").stat().st_mode & 0o777 == 0o700
    for f in (run.home / "spool").iterdir():
        assert f.stat().st_mode & 0o777 == 0o600
    assert run.home.stat().st_mode & 0o077 == 0


def test_unwritable_home_never_breaks_the_cli(run, run_bare, venv, bare_venv, tmp_path):
    if os.geteuid() == 0:
        # root ignores permissions: make the home a file instead (same failure class)
        blocker = tmp_path / "blocked"
        blocker.write_text("")
        home = blocker / "home"
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        home = ro / "home"
    env = {"AUTOTELEMETRY_HOME": str(home), "AUTOTELEMETRY_ALLOW": "exampleclick"}
    for argv in (["db", "status"], ["crash"], ["db", "nosuch"]):
        _same(
            run("exampleclick", *argv, env=env), run_bare("exampleclick", *argv), (venv, bare_venv)
        )


def test_broken_allowlist_is_skipped_and_reported(run, run_bare):
    (run.home / "allowlist").write_bytes(
        b"\xff\xfe garbage \x00\n/usr/bin/exampleclick\nexampleclick # ok\nbad name with spaces!\n"
    )
    _same(run("exampleclick", "db", "status"), run_bare("exampleclick", "db", "status"))
    assert command_event(run)["command"] == "exampleclick db status"
    status = run("autotelemetry", "status")
    assert status.returncode == 0
    assert b"looks like a path" in status.stdout


def test_corrupt_spool_file_is_quarantined(run):
    run("exampleclick", "db", "status")
    name = "%020d-1-deadbeef.jsonl" % time.time_ns()
    (run.home / "spool" / name).write_bytes(b'{"half": ')
    events = run.stored()
    assert [e["command"] for e in events] == ["exampleclick db status"]
    assert len(list((run.home / "quarantine").iterdir())) == 1
    status = json.loads(run("autotelemetry", "status", "--json").stdout)
    assert status["delivery"]["dropped"] == {"invalid": 1}  # counted, exactly once
    assert b"corrupt" in run("autotelemetry", "status").stdout


def test_store_ingest_is_idempotent_and_report(run):
    for argv in (["db", "m", "--dry-run", "p"], ["db", "status"], ["fail"], ["db", "nosuch"]):
        run("exampleclick", *argv)
    spool_copy = {p.name: p.read_bytes() for p in (run.home / "spool").glob("*.jsonl")}
    assert len(run.stored()) == 4
    assert list((run.home / "spool").glob("*.jsonl")) == []
    for name, data in spool_copy.items():  # the same events again: no duplicates
        (run.home / "spool" / name).write_bytes(data)
    assert len(run.stored()) == 4
    out = run("autotelemetry", "report", "--json")
    import json

    report = json.loads(out.stdout)
    (cli,) = report["clis"]
    assert cli["cli"] == "exampleclick" and cli["runs"] == cli["events"] == 4
    assert cli["status"]["failure"] == 1 and cli["status"]["usage_error"] == 1
    assert cli["installs"] == 1 and cli["sampled"] is False
    assert {c["command"] for c in cli["commands"]} == {
        "exampleclick db migrate",
        "exampleclick db status",
        "exampleclick fail",
        "exampleclick db",
    }
    assert cli["flags"] == [{"flag": "--dry-run", "runs": 1, "events": 1, "share": 0.25}]
    migrate = next(c for c in cli["commands"] if c["command"] == "exampleclick db migrate")
    assert migrate["flags"] == [{"flag": "--dry-run", "runs": 1, "events": 1, "share": 1.0}]
    text = run("autotelemetry", "report").stdout.decode()
    assert "exampleclick db migrate" in text and "p95" in text
    assert run("autotelemetry", "events", "--cli", "nope").stdout == b""
    assert len(run.stored("--limit", "2")) == 2
