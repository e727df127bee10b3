"""Real-world compatibility: popular Click/Typer CLIs from PyPI, instrumented, unchanged.

Each *pin set* is a session-cached pair of venvs built from PINNED releases:
``compat-<set>-with-hook`` (autotelemetry installed) and ``compat-<set>-sans-hook``
(the same packages, plus autotelemetry's own dependencies, without autotelemetry).
The two names have the same length, so anything that wraps or pads text around
a path (rich tracebacks) lays out identically; only the venv path is normalised.

For every invocation we check that stdout, stderr and the exit code are
byte-identical to the unhooked run, and that the recorded canonical command and
flags equal what the CLI's documentation says they are (written here by hand,
never captured from our own output). Typed values never reach the home dir.

Wheels are downloaded once into ``build/compat-wheels/`` and installed from
there with ``--no-index``, so a second session needs no network. Pins that do
not install on the running Python are skipped with the reason.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import Runner, assert_nowhere, assert_same_output
from pins import CLICK_SETS, ENV, PIN_SETS, PinSet, runners

pytestmark = pytest.mark.compat

APPS = Path(__file__).parent / "apps"
#: The allowlist used for the framework CLIs (scripts match by file name).
ALLOWLIST = "flask\nblack\nsqlite-utils\ntyapp\nrcapp\ncloupapp\n"


@pytest.fixture(scope="session")
def pin_sets(venv_root: Path) -> dict[str, PinSet]:
    return {name: PinSet(name, venv_root) for name in PIN_SETS}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The current directory of both runs: the app scripts, some files, a database."""
    work = tmp_path / "work"
    work.mkdir()
    for app in APPS.glob("*.py"):
        shutil.copy(app, work / app.name)
    (work / "good.py").write_text('x = {"a": 1}\n\n\ndef f(y):\n    return y\n')
    (work / "bad.py").write_text("x = {  'a':1 }\ndef f(y) :\n  return y\n")
    (work / "broken.py").write_text("def f(:\n    pass\n")
    with sqlite3.connect(work / "pets-Q7.db") as db:
        db.execute("create table dogs (id integer primary key, name text)")
        db.executemany("insert into dogs (name) values (?)", [("Rex-Secret",), ("Fido",)])
    db.close()
    return work


@dataclass(frozen=True)
class Case:
    """One invocation and the event the CLI's documentation says it should produce."""

    cli: str  # the pin's cli
    argv: tuple[str, ...]
    command: str
    flags: tuple[str, ...]
    status: str
    code: int
    secrets: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes | None = None


def C(cli, argv, command, flags, status, code, secrets=(), **kw) -> Case:  # type: ignore[no-untyped-def]
    return Case(cli, tuple(argv.split()), command, tuple(flags), status, code, tuple(secrets), **kw)


#: Programs as run: console scripts by name, our scripts through the venv's python.
SCRIPT = {"typer": "tyapp.py", "rich-click": "rcapp.py", "cloup": "cloupapp.py"}

CASES = [
    # flask: FlaskGroup, eager --app, built-in and lazily loaded app commands.
    C("flask", "--app tinyapp routes", "flask routes", ["--app"], "success", 0),
    C(
        "flask",
        "--app tinyapp routes --sort rule --all-methods",
        "flask routes",
        ["--all-methods", "--app", "--sort"],
        "success",
        0,
    ),
    C("flask", "--app tinyapp seed --count 7", "flask seed", ["--app", "--count"], "success", 0),
    C("flask", "--app tinyapp nosuchcmdQ", "flask", ["--app"], "usage_error", 2, ["nosuchcmdQ"]),
    C("flask", "--help", "flask", ["--help"], "success", 0),
    C("flask", "--app tinyapp boom", "flask boom", ["--app"], "crash", 1),
    C(
        "flask",
        "--app missingmodQ routes",
        "flask routes",
        ["--app"],
        "usage_error",
        2,
        ["missingmodQ"],
    ),
    # black: one command, many flags, exit 123 for an internal error.
    C("black", "--check --diff good.py", "black", ["--check", "--diff"], "success", 0),
    C("black", "--check bad.py", "black", ["--check"], "failure", 1),
    C(
        "black",
        "-l 120 -S --check good.py",
        "black",
        ["--check", "--line-length", "--skip-string-normalization"],
        "success",
        0,
    ),
    C("black", "--check good.py bad.py", "black", ["--check"], "failure", 1),
    C(
        "black",
        "--line-length abcQ9 good.py",
        "black",
        ["--line-length"],
        "usage_error",
        2,
        ["abcQ9"],
    ),
    C("black", "--check broken.py", "black", ["--check"], "failure", 123),
    C("black", "--help", "black", ["--help"], "success", 0),
    C("black", "--version", "black", ["--version"], "success", 0),
    # sqlite-utils: a large Click group with a default command (click-default-group).
    C(
        "sqlite-utils",
        "tables pets-Q7.db --counts",
        "sqlite-utils tables",
        ["--counts"],
        "success",
        0,
    ),
    Case(
        "sqlite-utils",
        ("pets-Q7.db", "select name from dogs where name = 'Rex-Secret'"),
        "sqlite-utils query",
        (),
        "success",
        0,
        ("Rex-Secret", "pets-Q7"),
    ),
    Case(
        "sqlite-utils",
        ("query", "pets-Q7.db", "select * from nosuchtableQ", "--csv"),
        "sqlite-utils query",
        ("--csv",),
        "failure",
        1,
        ("nosuchtableQ",),
    ),
    C("sqlite-utils", "tables --help", "sqlite-utils tables", ["--help"], "success", 0),
    C("sqlite-utils", "--version", "sqlite-utils", ["--version"], "success", 0),
    Case(
        "sqlite-utils",
        ("insert", "pets-Q7.db", "cats", "-", "--pk", "id", "--replace"),
        "sqlite-utils insert",
        ("--pk", "--replace"),
        "success",
        0,
        ("Tiddles-Q",),
        stdin=b'[{"id": 1, "name": "Tiddles-Q"}]',
    ),
    # a word that is no command falls through to the default command `query`
    C("sqlite-utils", "nosuchcmdQ", "sqlite-utils query", [], "usage_error", 2, ["nosuchcmdQ"]),
    # Typer: small app, on Click (click81) and with vendored Click (current).
    C(
        "typer",
        "items add widgetQ1 --qty 3 --tag tagvalQ",
        "tyapp.py items add",
        ["--qty", "--tag"],
        "success",
        0,
        ["widgetQ1", "tagvalQ"],
    ),
    C("typer", "-v items remove x", "tyapp.py items remove", ["--verbose"], "failure", 3),
    C("typer", "items nosuchQ", "tyapp.py items", [], "usage_error", 2, ["nosuchQ"]),
    C("typer", "items add w --qty many", "tyapp.py items add", ["--qty"], "usage_error", 2),
    C("typer", "--help", "tyapp.py", ["--help"], "success", 0),
    C("typer", "crash zzsecretQ", "tyapp.py crash", [], "crash", 1, ["zzsecretQ"]),
    # rich-click: `import rich_click as click`
    C(
        "rich-click",
        "deploy --env prod --dry-run svcQ",
        "rcapp.py deploy",
        ["--dry-run", "--env"],
        "success",
        0,
        ["svcQ"],
    ),
    C("rich-click", "--debug deploy svc", "rcapp.py deploy", ["--debug"], "success", 0),
    C(
        "rich-click",
        "deploy --env stagingQ svc",
        "rcapp.py deploy",
        ["--env"],
        "usage_error",
        2,
        ["stagingQ"],
    ),
    C("rich-click", "rollback svcQ", "rcapp.py rollback", [], "failure", 1, ["svcQ"]),
    C("rich-click", "--help", "rcapp.py", ["--help"], "success", 0),
    C("rich-click", "deploy --help", "rcapp.py deploy", ["--help"], "success", 0),
    C("rich-click", "--version", "rcapp.py", ["--version"], "success", 0),
    # cloup: option groups, constraints, aliases (resolved to the canonical name).
    C("cloup", "copy --fast a b", "cloupapp.py copy", ["--fast"], "success", 0),
    C("cloup", "cp --retries 2 a b", "cloupapp.py copy", ["--retries"], "success", 0),
    C("cloup", "c a b", "cloupapp.py copy", [], "success", 0),
    C(
        "cloup",
        "copy --fast --safe a b",
        "cloupapp.py copy",
        ["--fast", "--safe"],
        "usage_error",
        2,
    ),
    C("cloup", "nosuchQ", "cloupapp.py", [], "usage_error", 2, ["nosuchQ"]),
    C("cloup", "--help", "cloupapp.py", ["--help"], "success", 0),
]

FRAMEWORK = {"typer": "typer"}


def _runners(pin_set: PinSet, home: Path, cwd: Path) -> tuple[Runner, Runner]:
    return runners(pin_set, home, cwd, ALLOWLIST)


def _invoke(runner: Runner, case: Case, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    if case.cli in SCRIPT:
        return runner("python", SCRIPT[case.cli], *case.argv, env=env, input=case.stdin)
    return runner(case.cli, *case.argv, env=env, input=case.stdin)


@pytest.mark.parametrize("set_name", CLICK_SETS)
@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.cli}:{' '.join(c.argv)}{'+env' if c.env else ''}" for c in CASES]
)
def test_cli(pin_sets, set_name, case, home, workdir):
    pin_set = pin_sets[set_name]
    pin = pin_set.pin(case.cli)
    run, run_bare = _runners(pin_set, home, workdir)
    env = {**ENV, **case.env}
    hooked = _invoke(run, case, env)
    bare = _invoke(run_bare, case, env)
    assert_same_output(hooked, bare, [run.venv, run_bare.venv])
    assert hooked.returncode == case.code, hooked.stderr
    # a crash also writes a crash event (tests/test_crash.py): count command events
    events = [e for e in run.events() if e["type"] == "command"]
    assert len(events) == 1, events
    (ev,) = events
    got = (ev["command"], tuple(ev["flags"]), ev["status"], ev["exit_code"])
    assert got == (case.command, case.flags, case.status, case.code)
    assert ev["cli"]["framework"] == FRAMEWORK.get(case.cli, "click")
    if case.cli not in SCRIPT:
        assert ev["cli"]["version"] == pin.version
    assert_nowhere(home, *case.secrets)


def test_values_never_stored_after_ingest(pin_sets, home, workdir):
    """The store (after `autotelemetry events`) holds no typed value either."""
    pin_set = pin_sets["click81"]
    run, _ = _runners(pin_set, home, workdir)
    with_secrets = [c for c in CASES if c.secrets and c.cli in pin_set.pins]
    for case in with_secrets:
        _invoke(run, case, ENV)
    stored = [e for e in run.stored() if e["type"] == "command"]
    assert len(stored) == len(with_secrets)
    assert_nowhere(home, *{s for c in with_secrets for s in c.secrets})


# --- CLIs built on no framework we instrument ---------------------------------

NON_FRAMEWORK = [
    ("pip", ("--version",), None),
    ("pip", ("list", "--exclude", "autotelemetry"), None),
    ("coverage", ("--version",), "coverage"),
    ("coverage", ("report",), "coverage"),  # no data: exit 1 with a message
    ("coverage", ("help", "run"), "coverage"),
]


@pytest.mark.parametrize("set_name", CLICK_SETS)
@pytest.mark.parametrize(
    "program,argv,pin_cli", NON_FRAMEWORK, ids=[f"{p} {' '.join(a)}" for p, a, _ in NON_FRAMEWORK]
)
def test_non_framework_cli_unchanged_and_unrecorded(
    pin_sets, set_name, program, argv, pin_cli, home, workdir
):
    """pip and coverage (optparse) keep working even with everything allowlisted, and record
    nothing: no framework we instrument ever parses their command line."""
    pin_set = pin_sets[set_name]
    if pin_cli:
        pin_set.pin(pin_cli)
    run, run_bare = _runners(pin_set, home, workdir)
    env = {**ENV, "AUTOTELEMETRY_ALLOW": "*", "PIP_NO_INPUT": "1"}
    hooked, bare = run(program, *argv, env=env), run_bare(program, *argv, env=env)
    assert_same_output(hooked, bare, [run.venv, run_bare.venv])
    assert run.events() == []


def test_frameworks_under_allow_everything(pin_sets, home, workdir):
    """`AUTOTELEMETRY_ALLOW=*` records one event per framework CLI run, no more."""
    pin_set = pin_sets["click81"]
    run, _ = _runners(pin_set, home, workdir)
    (home / "allowlist").unlink()
    env = {**ENV, "AUTOTELEMETRY_ALLOW": "*"}
    run("black", "--check", "good.py", "bad.py", env=env)
    run("python", "tyapp.py", "items", "add", "w", env=env)
    assert [e["command"] for e in run.events()] == ["black", "tyapp.py items add"]
