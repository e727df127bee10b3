"""Every way a run starts and ends is attributed right (issue 15).

Real CLIs through the real ``.pth``, each compared byte for byte with the same
run in the venv without autotelemetry: program detection for ``python -m``
(the framework imported by the package's ``__init__``), scripts and
``autotelemetry run``; the option each typed string belongs to (shared
parameters, hidden aliases, ``flag_value`` options, on/off switches) in Click,
Typer and argparse; the command a group callback ended early; the real exit
status of programs that catch their framework's exit; SIGTERM and SIGHUP with
and without a handler of the host's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import SCRIPTS, Runner, assert_nowhere, command_event, run_script
from conftest import assert_same_output as _same

# --- program detection -------------------------------------------------------------

CLICK_PACKAGE = '''\
"""A package whose __init__ imports Click and defines the CLI."""
import click


@click.group()
@click.option("--verbose", is_flag=True)
def cli(verbose):
    pass


@cli.command()
@click.option("--loud/--quiet", "-l/-q")
def hello(loud):
    click.echo("hello" + ("!" if loud else "."))
'''

ARGPARSE_PACKAGE = '''\
"""A package whose __init__ imports argparse and defines the CLI."""
import argparse
import sys


def main():
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    hello = commands.add_parser("hello", aliases=["hi"])
    hello.add_argument("--loud", action=argparse.BooleanOptionalAction, default=False)
    args = parser.parse_args()
    print("hello" + ("!" if args.loud else "."))
    return 0
'''

MAIN = {
    "click": "from {package} import cli\n\ncli()\n",
    "argparse": ("import sys\n\nfrom {package} import main\n\nsys.exit(main())\n"),
}


def _make_package(root: Path, framework: str) -> str:
    """``pkg<framework>`` (its ``__init__`` imports the framework) and ``.tool`` inside it."""
    package = f"pkg{framework}"
    source = CLICK_PACKAGE if framework == "click" else ARGPARSE_PACKAGE
    for directory, name in ((root / package, package), (root / package / "tool", package)):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "__init__.py").write_text(source if directory.name == package else "")
        (directory / "__main__.py").write_text(MAIN[framework].format(package=name))
    (root / "scripts").mkdir(exist_ok=True)
    # a script in another directory that imports the package (which imports the framework)
    where = (
        "import os\nimport sys\n\nsys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))\n"
    )
    script = where + MAIN[framework].format(package=package).replace("import sys\n\n", "")
    (root / "scripts" / f"run_{framework}.py").write_text(script)
    return package


FORMS = ["-m pkg", "-m pkg.tool", "script", "autotelemetry run -m pkg"]


@pytest.mark.parametrize("framework", ["click", "argparse"])
@pytest.mark.parametrize("form", FORMS)
def test_program_is_detected_however_the_run_starts(
    run, run_bare, venv, bare_venv, framework, form
):
    package = _make_package(run.cwd, framework)
    argv = ["--verbose", "hello", "--loud"]
    if form == "-m pkg":
        program, command = [venv.python, "-m", package], package
    elif form == "-m pkg.tool":
        program, command = [venv.python, "-m", f"{package}.tool"], f"{package}.tool"
    elif form == "script":
        program, command = [venv.python, f"scripts/run_{framework}.py"], f"run_{framework}.py"
    else:
        program, command = [venv.script("autotelemetry"), "run", "-m", package], package
    if form.startswith("autotelemetry"):
        (run.home / "allowlist").unlink()  # consent comes from `run` alone
    else:
        (run.home / "allowlist").write_text(f"{package}\n{package}.tool\nrun_*\n")

    def go(runner: Runner, cmd: list[str]) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*cmd, *argv], capture_output=True, env=runner.env(), cwd=runner.cwd, timeout=120
        )

    bare_program = [bare_venv.python, *program[1:]]
    if form.startswith("autotelemetry"):
        bare_program = [bare_venv.python, "-m", package]
    hooked, bare = go(run, program), go(run_bare, bare_program)
    _same(hooked, bare, (venv, bare_venv))
    assert hooked.returncode == 0, hooked.stderr
    ev = command_event(run)
    assert ev["cli"]["name"] == command
    assert ev["cli"]["framework"] == framework
    assert ev["command"] == f"{command} hello"
    assert ev["flags"] == ["--loud", "--verbose"]


# --- flags: the option each typed string belongs to ----------------------------------

CLICK_FLAGS = [
    # shared parameter `reload`: the switch's off side, and a hidden alias writing it
    (["serve", "--no-reload"], ["--no-reload"]),
    (["serve", "--autoreload"], ["--autoreload"]),
    (["serve", "-R"], ["--no-reload"]),  # a short alias of the off side
    (["serve", "-r", "--no-reload"], ["--no-reload", "--reload"]),
    (["serve", "--no-color"], ["--no-color"]),
    (["serve", "--color", "--port", "9"], ["--color", "--port"]),
    # flag_value options sharing `case` (--lower is also the default)
    (["serve", "--upper"], ["--upper"]),
    (["serve", "--lower"], ["--lower"]),
    (["serve"], []),
]


@pytest.mark.parametrize("argv,flags", CLICK_FLAGS, ids=[" ".join(c[0]) for c in CLICK_FLAGS])
def test_click_flags_are_the_options_typed(run, run_bare, venv, bare_venv, argv, flags):
    hooked, bare = run("exampleclick", *argv), run_bare("exampleclick", *argv)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert (ev["command"], ev["flags"], ev["status"]) == ("exampleclick serve", flags, "success")


TYPER_FLAGS = [
    (["users", "create", "bob", "--no-notify"], ["--no-notify"]),
    (["users", "create", "bob", "--notify"], ["--notify"]),
    (["users", "create", "bob", "-C"], ["--no-color"]),
    (["users", "create", "bob", "--color", "--no-color"], ["--color", "--no-color"]),
    (["users", "delete", "bob", "-y"], ["--force"]),  # aliases of one option
    (["users", "delete", "bob", "--yes"], ["--force"]),
]


@pytest.mark.parametrize("argv,flags", TYPER_FLAGS, ids=[" ".join(c[0]) for c in TYPER_FLAGS])
def test_typer_flags_are_the_options_typed(run, run_bare, venv, bare_venv, argv, flags):
    hooked, bare = run("exampletyper", *argv), run_bare("exampletyper", *argv)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert ev["flags"] == flags
    assert ev["status"] == "success" and ev["cli"]["framework"] == "typer"


ARGPARSE_FLAGS = [
    (["serve", "--no-reload"], ["--no-reload"]),
    (["serve", "--no-rel"], ["--no-reload"]),  # an abbreviation of the off side
    (["serve", "-r"], ["--reload"]),
    (["serve", "--autoreload"], ["--autoreload"]),  # a hidden option with the same dest
    (["serve", "--reload", "--no-reload"], ["--no-reload", "--reload"]),
    (["serve", "--upper"], ["--upper"]),  # store_const options sharing a dest
    (["serve", "--lower", "--port", "1"], ["--lower", "--port"]),
    (["--no-color", "serve"], ["--no-color"]),
    (["--col", "serve"], ["--color"]),
]


@pytest.mark.parametrize("argv,flags", ARGPARSE_FLAGS, ids=[" ".join(c[0]) for c in ARGPARSE_FLAGS])
def test_argparse_flags_are_the_options_typed(run, run_bare, venv, bare_venv, argv, flags):
    hooked, bare = run("exampleargparse", *argv), run_bare("exampleargparse", *argv)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    assert (ev["command"], ev["flags"]) == ("exampleargparse serve", flags)


# --- the command a group callback ended early -----------------------------------------

EARLY = [
    # argv, command, status, exit code
    (["db", "--offline", "migrate", "prodQ"], "exampleclick db migrate", "failure", 3),
    (["db", "--offline", "m", "prodQ"], "exampleclick db migrate", "failure", 3),  # alias
    (["db", "--offline", "mig", "prodQ"], "exampleclick db migrate", "failure", 3),  # prefix
    (["db", "--offline", "st"], "exampleclick db status", "failure", 3),
    # not a registered name: the group's resolution fails before its callback runs
    (["db", "--offline", "nosuchQ"], "exampleclick db", "usage_error", 2),
]


@pytest.mark.parametrize("argv,command,status,code", EARLY, ids=[" ".join(c[0]) for c in EARLY])
def test_group_callback_exiting_early_records_the_subcommand(
    run, run_bare, venv, bare_venv, argv, command, status, code
):
    hooked, bare = run("exampleclick", *argv), run_bare("exampleclick", *argv)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    got = (ev["command"], ev["flags"], ev["status"], ev["exit_code"])
    assert got == (command, ["--offline"], status, code) and hooked.returncode == code
    assert_nowhere(run.home, "nosuchQ", "prodQ")


# --- the real exit status ------------------------------------------------------------

EXITS = [
    # pattern, argv, command below the program, flags, status, exit code
    ("click-reexit", ["run", "--count", "3"], "run", ["--count"], "success", 0),
    ("click-reexit", ["nosuchQ"], "", [], "usage_error", 1),
    # a rejected value: the option was typed, so it counts
    ("click-reexit", ["run", "--count", "x"], "run", ["--count"], "usage_error", 1),
    ("click-reexit", ["fail"], "fail", [], "failure", 1),
    ("click-reexit", ["--help"], "", ["--help"], "success", 0),
    ("click-returns", ["nosuchQ"], "", [], "usage_error", 1),
    ("click-returns", ["--verbose", "run"], "run", ["--verbose"], "success", 0),
    ("click-returns", ["fail"], "fail", [], "failure", 1),
    # a SystemExit that bypasses sys.exit: the status first recorded (here the same)
    ("click-raise", ["fail"], "fail", [], "failure", 1),
    # the wrapper swallows the exit: the process exits 0, so the run is a success
    ("click-swallow", ["fail"], "fail", [], "success", 0),
    ("click-swallow", ["nosuchQ"], "", [], "success", 0),
    ("argparse-reexit", ["nosuchQ"], "", [], "usage_error", 1),
    ("argparse-reexit", ["run", "--count", "3"], "run", ["--count"], "success", 0),
    ("argparse-reexit", ["--help"], "", ["--help"], "success", 0),
    ("argparse-error1", ["run", "--count", "x"], "run", ["--count"], "usage_error", 1),
    ("argparse-error1", ["run", "--count", "3"], "run", ["--count"], "success", 0),
    # the command's exit is caught, then the program crashes: exit 1, a crash
    ("crash-after-exit", ["run"], "run", [], "crash", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    "pattern,argv,command,flags,status,code",
    EXITS,
    ids=[f"{c[0]}:{' '.join(c[1])}" for c in EXITS],
)
def test_exit_code_is_the_status_the_process_exits_with(
    run, run_bare, venv, bare_venv, pattern, argv, command, flags, status, code
):
    script = str(SCRIPTS / "exit_patterns.py")
    (run.home / "allowlist").write_text("exit_patterns\n")
    hooked = run_script(run, script, *argv, PATTERN=pattern)
    bare = run_script(run_bare, script, *argv, PATTERN=pattern)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    got = (ev["command"], ev["flags"], ev["status"], ev["exit_code"])
    assert got == (f"exit_patterns.py {command}".strip(), flags, status, code)
    assert hooked.returncode == code
    assert "signal" not in ev
    assert_nowhere(run.home, "nosuchQ")


LATE = [
    # argv, command below the program, flags, status, exit code; then what Python
    # before 3.12 records (no sys.monitoring: the builtin sys.exit's code is unseen)
    (["run", "--status", "4"], "run", ["--status"], "failure", 4, ("success", 0)),
    (["run"], "run", [], "success", 0, ("success", 0)),
    (["nosuchQ"], "", [], "usage_error", 1, ("usage_error", 2)),
    # main's value is not the status: not watched (True would say exit 1)
    (["run", "LATE_FORM=bool"], "run", [], "success", 0, ("success", 0)),
]  # fmt: skip


@pytest.mark.parametrize(
    "argv,command,flags,status,code,before_312", LATE, ids=[" ".join(c[0]) for c in LATE]
)
def test_exit_status_main_returns_to_a_sys_exit_looked_up_before_the_framework(
    run, run_bare, venv, bare_venv, python_version, argv, command, flags, status, code, before_312
):
    """``sys.exit(main())`` with argparse imported inside ``main`` (HTTPie): the builtin
    ``sys.exit`` gets the status; from 3.12 what ``main`` returned is watched."""
    script = str(SCRIPTS / "late_argparse.py")
    (run.home / "allowlist").write_text("late_argparse\n")
    env = dict(a.split("=", 1) for a in argv if "=" in a)
    argv = [a for a in argv if "=" not in a]
    hooked = run_script(run, script, *argv, **env)
    bare = run_script(run_bare, script, *argv, **env)
    _same(hooked, bare, (venv, bare_venv))
    assert hooked.returncode == code
    ev = command_event(run)
    got = (ev["command"], ev["flags"], ev["status"], ev["exit_code"])
    expected = (status, code) if python_version >= (3, 12) else before_312
    assert got == (f"late_argparse.py {command}".strip(), flags, *expected)
    assert_nowhere(run.home, "nosuchQ")


def test_a_watched_return_gives_its_tool_id_back(run, python_version, tmp_path):
    """The sys.monitoring tool id is free again when the host's last exit handler runs,
    whether ``main`` returned or raised."""
    if python_version < (3, 12):
        pytest.skip("sys.monitoring is Python 3.12+")
    source = (SCRIPTS / "late_argparse.py").read_text()
    # (and what the check read the byte-code with is not left behind for the host)
    source = source.replace("    print(f", "    print('opcode' in sys.modules)\n    print(f")
    probe = (
        "import atexit\n"
        "atexit.register(lambda: print('tools', [sys.monitoring.get_tool(i) for i in range(6)]))\n"
    )
    raising = source.replace("    print(f", "    raise SystemExit(args.status)\n    print(f")
    # ... and before any parse began an invocation (no exit handler of a run is registered)
    early = source.replace("    parser = ", "    raise SystemExit(3)\n    parser = ")
    assert source != raising != early != source
    variants = (("late_returns.py", source), ("late_raises.py", raising), ("late_early.py", early))
    for name, text in variants:
        script = tmp_path / name
        script.write_text(text.replace("import sys\n", "import sys\n" + probe, 1))
        (run.home / "allowlist").write_text(name.removesuffix(".py") + "\n")
        out = run_script(run, str(script), "run", "--status", "3")
        assert out.returncode == 3, out.stderr
        assert out.stdout.decode().splitlines()[-1] == "tools " + str([None] * 6)
        if name == "late_returns.py":
            assert out.stdout.decode().splitlines()[0] == "False"


# --- signals ------------------------------------------------------------------------


def default_signals() -> None:
    """``preexec_fn``: the child starts with SIGTERM/SIGHUP/SIGINT at their defaults.

    A suite started under ``nohup`` or in the background would hand them down
    ignored, and both runs would sleep through the test's signal.
    """
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)


class Stopped:
    """A run stopped by a signal: its result and the seconds from the signal to its exit."""

    def __init__(self, result: subprocess.CompletedProcess[bytes], seconds: float) -> None:
        self.result = result
        self.seconds = seconds


def _stop(
    runner: Runner, argv: list[str], number: int, env: dict[str, str] | None = None
) -> Stopped:
    """Start ``argv``, wait for its "waiting" line, send ``number``, collect everything."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=runner.env(**(env or {})),
        cwd=runner.cwd,
        preexec_fn=default_signals,
    )
    first = proc.stderr.readline()  # type: ignore[union-attr]
    assert first == b"waiting\n", first
    time.sleep(0.2)
    sent = time.monotonic()
    proc.send_signal(number)
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    return Stopped(subprocess.CompletedProcess(argv, proc.returncode, out, first + err), elapsed)


def _stop_both(run, run_bare, program: str, args: list[str], number: int):  # type: ignore[no-untyped-def]
    hooked = _stop(run, [run.venv.script(program), *args], number)
    bare = _stop(run_bare, [run_bare.venv.script(program), *args], number)
    _same(hooked.result, bare.result, (run.venv, run_bare.venv))
    # promptly: within a second of the run without us (both are killed mid-sleep)
    assert hooked.seconds < bare.seconds + 1.0, (hooked.seconds, bare.seconds)
    return hooked, bare


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize(
    "program,args,command",
    [
        ("exampleclick", ["wait"], "exampleclick wait"),
        ("exampleclick", ["wait", "--seconds", "20"], "exampleclick wait"),
        ("exampleargparse", ["wait"], "exampleargparse wait"),
    ],
    ids=["click", "click-flags", "argparse"],
)
def test_default_disposition_signal_is_recorded_and_still_kills(
    run, run_bare, program, args, command, number
):
    hooked, _ = _stop_both(run, run_bare, program, args, number)
    # the same wait status: killed by that very signal
    assert hooked.result.returncode == -number
    ev = command_event(run)
    name = signal.Signals(number).name
    assert (ev["command"], ev["status"], ev["exit_code"], ev["signal"]) == (
        command,
        "terminated",
        128 + number,
        name,
    )
    assert ev["flags"] == (["--seconds"] if "--seconds" in args else [])
    assert ev["error_type"] is None
    # the schema knows the new status and field; the store keeps them
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(run("autotelemetry", "schema").stdout)
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(ev))
    (stored,) = run.stored()
    assert (stored["status"], stored["signal"], stored["exit_code"]) == (
        "terminated",
        name,
        128 + number,
    )


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize(
    "mode,code,status",
    [("exit", 0, "success"), ("chain", 0, "success"), ("ignore", 0, "success")],
)
def test_host_handler_keeps_control(run, run_bare, number, mode, code, status):
    """The host's own handler decides; the run is recorded by how it really ends.

    ``exit``: a server that stops cleanly on SIGTERM. ``chain``: a handler that
    calls the previous handler when it is callable (the default is not, with or
    without us). ``ignore``: SIG_IGN, the signal changes nothing.
    """
    args = ["wait", "--seconds", "2", "--on-term", mode]
    hooked, _ = _stop_both(run, run_bare, "exampleclick", args, number)
    assert hooked.result.returncode == code
    ev = command_event(run)
    assert (ev["status"], ev["exit_code"]) == (status, code)
    assert "signal" not in ev


def _signal_script(run: Runner, run_bare: Runner, *args: str):  # type: ignore[no-untyped-def]
    """``tests/scripts/signal_patterns.py ARGS`` through the hook and without it."""
    (run.home / "allowlist").write_text("signal_patterns\n")
    script = str(SCRIPTS / "signal_patterns.py")
    hooked, bare = run_script(run, script, *args), run_script(run_bare, script, *args)
    _same(hooked, bare, (run.venv, run_bare.venv))
    return hooked


def test_the_host_sees_the_default_disposition(run, run_bare):
    """`signal.getsignal` and the previous handler `signal.signal` returns are SIG_DFL."""
    hooked = _signal_script(run, run_bare, "probe")
    assert b"SIGTERM default=True callable=False" in hooked.stdout
    assert b"SIGHUP default=True callable=False" in hooked.stdout
    assert b"previous default=True <Handlers.SIG_DFL: 0>" in hooked.stdout
    assert command_event(run)["status"] == "success"


def test_a_handler_installed_only_where_the_default_is_found(run, run_bare):
    """Code that installs its SIGTERM handler only when it finds SIG_DFL still does."""
    (run.home / "allowlist").write_text("signal_patterns\n")
    script = str(SCRIPTS / "signal_patterns.py")
    hooked = _stop(run, [run.venv.python, script, "if-default"], signal.SIGTERM)
    bare = _stop(run_bare, [run_bare.venv.python, script, "if-default"], signal.SIGTERM)
    _same(hooked.result, bare.result, (run.venv, run_bare.venv))
    assert hooked.result.returncode == 0 and b"graceful stop" in hooked.result.stderr
    ev = command_event(run)
    assert (ev["command"], ev["status"], ev["exit_code"]) == (
        "signal_patterns.py if-default",
        "success",
        0,
    )


def test_forked_child_gets_the_default_disposition(run, run_bare):
    hooked = _signal_script(run, run_bare, "fork")
    assert hooked.stdout == b"child default=True ended by signal 15\n"
    ev = command_event(run)  # one event: the parent's
    assert (ev["command"], ev["status"]) == ("signal_patterns.py fork", "success")


def _marked(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_children_outlive_a_terminated_parent_as_without_us(run, run_bare):
    """SIGTERM to the parent alone: it dies by it, its child keeps running, in both runs."""
    (run.home / "allowlist").write_text("signal_patterns\n")
    script = str(SCRIPTS / "signal_patterns.py")
    survivors = {}
    for label, runner in (("hooked", run), ("bare", run_bare)):
        marker = f"I15_MARK={uuid.uuid4().hex}"
        env = {marker.split("=")[0]: marker.split("=")[1]}
        argv = [runner.venv.python, script, "children", "--seconds", "17.0312"]
        stopped = _stop(runner, argv, signal.SIGTERM, env)
        assert stopped.result.returncode == -signal.SIGTERM
        survivors[label] = _marked(marker)
        for pid in survivors[label]:
            os.kill(pid, signal.SIGKILL)
    assert len(survivors["hooked"]) == len(survivors["bare"]) == 1
    ev = command_event(run)
    assert (ev["command"], ev["status"], ev["signal"]) == (
        "signal_patterns.py children",
        "terminated",
        "SIGTERM",
    )
    assert_nowhere(run.home, "17.0312")  # the option's value never


def test_signals_setting_off_leaves_them_alone(run, run_bare):
    hooked = _stop(
        run,
        [run.venv.script("exampleclick"), "wait"],
        signal.SIGTERM,
        {"AUTOTELEMETRY_RECORD_SIGNALS": "0"},
    )
    assert hooked.result.returncode == -signal.SIGTERM
    assert [e for e in run.events() if e["type"] == "command"] == []
