"""argparse CLIs, run for real through the .pth hook, compared with an unhooked venv."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Runner, assert_nowhere, command_event, default_sigint, run_script
from conftest import assert_same_output as _same

SCRIPTS = Path(__file__).parent / "scripts"
PATTERNS = str(SCRIPTS / "argparse_patterns.py")

CASES = [
    # argv, command, flags, status, exit code
    (
        ["-vv", "--no-color", "db", "m", "--dry-run", "prod"],
        "db migrate",
        ["--dry-run", "--no-color", "--verbose"],
        "success",
        0,
    ),
    (["--verb", "database", "st"], "db status", ["--verbose"], "success", 0),
    (
        ["-vq", "--col", "db", "mig", "--to=7", "prod"],
        "db migrate",
        ["--color", "--quiet", "--to", "--verbose"],
        "success",
        0,
    ),
    (
        ["-oout.txt", "--output=x", "greet", "--token", "t", "bob"],
        "greet",
        ["--output", "--token"],
        "success",
        0,
    ),
    (["greet", "--", "--not-a-flag"], "greet", [], "success", 0),
    (["toggle", "+x", "-n"], "toggle", ["++xray", "-n"], "success", 0),
    (["toggle", "++xr"], "toggle", ["++xray"], "success", 0),
    (["bare", "--plain"], "bare", ["--plain"], "success", 0),
    ([], "", [], "success", 0),
    (["db"], "db", [], "usage_error", 2),
    (["db", "nosuchthing"], "db", [], "usage_error", 2),
    (["--bogus"], "", [], "usage_error", 2),
    (["--co", "x"], "", [], "usage_error", 2),  # ambiguous abbreviation
    (["-v", "greet", "--to", "x", "bob"], "greet", ["--verbose"], "usage_error", 2),
    (["db", "migrate"], "db migrate", [], "usage_error", 2),
    (["fail", "--code", "x"], "fail", ["--code"], "usage_error", 2),
    (["bare", "--help"], "bare", [], "usage_error", 2),  # add_help=False
    (["--help"], "", ["--help"], "success", 0),
    (["db", "migrate", "--help"], "db migrate", ["--help"], "success", 0),
    (["--version"], "", ["--version"], "success", 0),
    (["fail"], "fail", [], "failure", 1),
    (["fail", "--code", "5"], "fail", ["--code"], "failure", 5),
    (["fail", "--code", "0"], "fail", ["--code"], "success", 0),
    (["crash", "x"], "crash", [], "crash", 1),
    (["tune", "--level", "boom"], "tune", ["--level"], "crash", 1),  # type= raises KeyError
    (["tune", "--level", "high"], "tune", ["--level"], "success", 0),
]


@pytest.mark.parametrize(
    "argv,command,flags,status,code", CASES, ids=[" ".join(c[0]) or "(none)" for c in CASES]
)
def test_argparse_event_and_identical_output(
    run, run_bare, venv, bare_venv, argv, command, flags, status, code
):
    hooked = run("exampleargparse", *argv)
    bare = run_bare("exampleargparse", *argv)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert ev["type"] == "command"
    assert ev["command"] == ("exampleargparse " + command).strip()
    assert ev["flags"] == flags
    assert (ev["status"], ev["exit_code"]) == (status, code)
    assert code == hooked.returncode
    assert ev["cli"] == {"name": "exampleargparse", "version": "2.0.0", "framework": "argparse"}
    assert ev["duration_ms"] > 0


def test_crash_tracebacks_are_identical(run, run_bare, venv, bare_venv):
    """Exceptions from a ``type=`` callable and the program pass no frame of ours."""
    for argv in (["tune", "--level", "boom"], ["crash", "x"]):
        hooked, bare = run("exampleargparse", *argv), run_bare("exampleargparse", *argv)
        _same(hooked, bare, (venv, bare_venv))
        assert b"Traceback" in hooked.stderr and b"autotelemetry" not in hooked.stderr
    commands = [e for e in run.events() if e["type"] == "command"]
    assert [e["error_type"] for e in commands] == ["KeyError", "RuntimeError"]


def test_flags_of_other_prefix_characters_are_stored(run):
    """``prefix_chars="-+"``: ``++xray`` is a flag like ``--xray``; the store's schema check
    took only ``-`` and set the whole event aside as invalid."""
    run("exampleargparse", "toggle", "+x", "-n")
    (stored,) = run.stored()
    assert stored["flags"] == ["++xray", "-n"]
    assert not (run.home / "quarantine").exists() or not list((run.home / "quarantine").iterdir())


def test_fromfile_flags_count_and_content_never_leaks(run, run_bare, venv, bare_venv, tmp_path):
    secret, path = "hunter2-FROMFILE-SECRET", "/home/alice/fromfile/secret.db"
    (tmp_path / "args.txt").write_text(f"--config\n{path}\n-v\ngreet\n--token={secret}\nbob\n")
    hooked, bare = run("exampleargparse", "@args.txt"), run_bare("exampleargparse", "@args.txt")
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert ev["command"] == "exampleargparse greet"
    assert ev["flags"] == ["--config", "--token", "--verbose"]
    run.stored()
    assert_nowhere(run.home, secret, path, "args.txt", "alice", "bob")


def test_values_positionals_and_unknown_tokens_never_stored(run):
    secret, user_path = "sk_live_4242ARGPARSE", "/home/alice/private/notes.txt"
    run(
        "exampleargparse",
        "--config",
        user_path,
        "-o" + user_path,
        "greet",
        "--token",
        secret,
        "Mallory-Q",
    )
    run("exampleargparse", "--Typed-By-User-42", "db", "Typed-Subcommand-43")
    run("exampleargparse", "db", "m", "--to=" + secret, "prod-db-77", "--", "--after-sep-88")
    events = run.events()
    assert [e["command"] for e in events] == [
        "exampleargparse greet",
        "exampleargparse db",
        "exampleargparse db migrate",
    ]
    run.stored()
    assert_nowhere(
        run.home,
        secret,
        user_path,
        "Mallory-Q",
        "alice",
        "Typed-By-User-42",
        "Typed-Subcommand-43",
        "prod-db-77",
        "after-sep-88",
        "notes",
    )


def test_python_dash_m(run):
    out = run("python", "-m", "exampleargparse", "-v", "db", "st")
    assert out.returncode == 0, out.stderr
    ev = command_event(run)
    assert (ev["cli"]["name"], ev["command"]) == ("exampleargparse", "exampleargparse db status")


def test_sigint_is_interrupted(run, run_bare):
    def interrupt(runner: Runner) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.Popen(
            [runner.venv.script("exampleargparse"), "wait"],
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
    _same(hooked, bare, (run.venv, run_bare.venv))
    ev = command_event(run)
    assert (ev["command"], ev["status"], ev["error_type"]) == (
        "exampleargparse wait",
        "interrupted",
        "KeyboardInterrupt",
    )


PATTERN_CASES = [
    # pattern, argv, command below the program, flags, status, exit code
    (
        "preparse",
        ["-c", "/x/cfg.toml", "r", "--fast", "t"],
        "run",
        ["--config", "--fast"],
        "success",
        0,
    ),
    ("preparse", ["-c", "/x/cfg.toml", "r", "--nope"], "run", ["--config"], "usage_error", 2),
    (
        "known-then-args",
        ["--plugin-opt=z", "-v", "run"],
        "run",
        ["--plugin-opt", "--verbose"],
        "success",
        0,
    ),
    ("defaults-after", ["-v", "run"], "run", ["--verbose"], "success", 0),
    (
        "delegate",
        ["run", "--fast", "--plugin-flag"],
        "run",
        ["--fast", "--plugin-flag"],
        "success",
        0,
    ),
    ("synthetic", ["-v"], "", [], "success", 0),
    ("intermixed", ["a", "--loud", "b", "-n", "3", "c"], "", ["--loud", "-n"], "success", 0),
    ("no-exit-on-error", ["--count", "x"], "", ["--count"], "usage_error", 2),
    ("no-exit-on-error", ["--count", "4"], "", ["--count"], "success", 0),
    (
        "no-exit-on-error-fallback",
        ["--count", "x", "--strict-only"],
        "",
        ["--count", "--strict-only"],
        "success",
        0,
    ),
    ("uncaught-argument-error", ["--count", "x"], "", ["--count"], "crash", 1),
    ("action-raises", ["--boom"], "", ["--boom"], "crash", 1),
    ("action-exits", ["-x", "--list-plugins"], "", ["--list-plugins", "-x"], "success", 0),
    ("post-parse-error", ["--a", "--b"], "", ["--a", "--b"], "usage_error", 2),
    ("interrupt", ["--slow"], "", ["--slow"], "interrupted", None),
]


@pytest.mark.parametrize(
    "pattern,argv,command,flags,status,code",
    PATTERN_CASES,
    ids=[f"{c[0]}:{' '.join(c[1])}" for c in PATTERN_CASES],
)
def test_which_parse_counts(
    run, run_bare, venv, bare_venv, pattern, argv, command, flags, status, code
):
    (run.home / "allowlist").write_text("argparse_patterns\n")
    hooked = run_script(run, PATTERNS, *argv, PATTERN=pattern)
    bare = run_script(run_bare, PATTERNS, *argv, PATTERN=pattern)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert ev["command"] == ("argparse_patterns.py " + command).strip()
    assert ev["flags"] == flags
    assert ev["status"] == status
    if code is not None:
        assert ev["exit_code"] == code == hooked.returncode
    assert ev["cli"]["framework"] == "argparse"


def test_custom_error_raising_keeps_traceback(run, run_bare, venv, bare_venv):
    """A parser whose error() raises during the scan: identical traceback, nothing recorded."""
    (run.home / "allowlist").write_text("argparse_patterns\n")
    hooked = run_script(run, PATTERNS, "--verb", PATTERN="custom-error")
    bare = run_script(run_bare, PATTERNS, "--verb", PATTERN="custom-error")
    _same(hooked, bare, (venv, bare_venv))
    assert b"usage problem: ambiguous option" in hooked.stderr
    assert run.events() == []  # known gap: see docs/frameworks.md


def _stdlib_argparse() -> str:
    out = subprocess.run(
        [
            os.environ.get("AUTOTELEMETRY_TEST_PYTHON") or sys.executable,
            "-c",
            "import argparse; print(argparse.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).read_text(encoding="utf-8")


@pytest.mark.parametrize("variant", ["no-seen-actions", "no-leaf"])
def test_unknown_argparse_falls_back(run, run_bare, venv, bare_venv, tmp_path, variant):
    """A future argparse (simulated: a patched copy shadowing the stdlib) degrades, never breaks."""
    source = _stdlib_argparse()
    if variant == "no-seen-actions":
        source = source.replace("seen_actions", "actions_seen")
    else:
        source = source.replace("_get_positional_actions", "_positional_actions_list")
    app = tmp_path / "app"
    app.mkdir()
    (app / "argparse.py").write_text(source, encoding="utf-8")
    (app / "futurecli.py").write_text(
        "import argparse, sys\n"
        "p = argparse.ArgumentParser(prog='futurecli')\n"
        "p.add_argument('-v', '--verbose', action='store_true')\n"
        "s = p.add_subparsers(dest='cmd')\n"
        "s.add_parser('go').add_argument('n', type=int)\n"
        "a = p.parse_args()\n"
        "sys.exit(3 if a.verbose else 0)\n"
    )
    (run.home / "allowlist").write_text("futurecli\n")
    script = str(app / "futurecli.py")
    for argv in (["-v", "go", "1"], ["go", "x"]):
        _same(
            run_script(run, script, *argv), run_script(run_bare, script, *argv), (venv, bare_venv)
        )
    events = run.events()
    if variant == "no-leaf":
        assert events == []
    else:
        assert [(e["command"], e["flags"], e["status"], e["exit_code"]) for e in events] == [
            ("futurecli.py go", [], "failure", 3),
            ("futurecli.py go", [], "usage_error", 2),
        ]


def test_optparse_and_getopt_untouched(run, run_bare, venv, bare_venv, tmp_path):
    script = tmp_path / "oldstyle.py"
    script.write_text(
        "import getopt, optparse, sys\n"
        "p = optparse.OptionParser(prog='oldstyle')\n"
        "p.add_option('-n', '--name')\n"
        "opts, rest = p.parse_args()\n"
        "print(opts.name, getopt.getopt(rest, 'ab:', ['long='])[0])\n"
        "if opts.name == 'bad': p.error('bad name')\n"
    )
    (run.home / "allowlist").write_text("oldstyle\n")
    for argv in (["--name", "x", "--", "-a", "-b", "1", "--long=2"], ["--name", "bad"], ["--zz"]):
        _same(
            run_script(run, str(script), *argv),
            run_script(run_bare, str(script), *argv),
            (venv, bare_venv),
        )
    assert run.events() == []
    out = run_script(run, str(script), "--name", "x")
    assert out.returncode == 0 and out.stdout == b"x []\n"


def test_not_allowlisted_argparse_untouched(run):
    (run.home / "allowlist").write_text("someothercli\n")
    assert run("exampleargparse", "db", "st").returncode == 0
    assert not (run.home / "spool").exists()
