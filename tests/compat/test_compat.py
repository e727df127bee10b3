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

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import conftest
import pytest
from conftest import ROOT, Runner, Venv, assert_nowhere, build_wheel, make_venv

pytestmark = pytest.mark.compat

APPS = Path(__file__).parent / "apps"
WHEEL_CACHE = ROOT / "build" / "compat-wheels"

#: The packages autotelemetry itself pulls in; the twin venv gets them too so
#: that `pip list` in both differs only by autotelemetry.
OWN_DEPENDENCIES = ["requests>=2.25"]


@dataclass(frozen=True)
class Pin:
    """One pinned release, the CLI it provides, and the Pythons it installs on."""

    requirement: str
    cli: str
    python: tuple[tuple[int, int], tuple[int, int]] = ((3, 9), (3, 13))

    @property
    def version(self) -> str:
        return self.requirement.split("==")[1]


#: click81: the Click 8.1 line, with a Typer that depends on Click (Python 3.9+).
#: current: the newest releases, Click 8.5 and a Typer that vendors Click (3.11+).
PIN_SETS: dict[str, list[Pin]] = {
    "click81": [
        Pin("click==8.1.8", "click"),
        Pin("flask==3.1.3", "flask"),
        Pin("black==25.1.0", "black"),
        Pin("sqlite-utils==3.38", "sqlite-utils"),
        Pin("typer==0.15.4", "typer"),
        Pin("rich-click==1.8.9", "rich-click"),
        Pin("cloup==3.0.7", "cloup"),
        # the last coverage 6 (wheels up to CPython 3.11)
        Pin("coverage==6.5.0", "coverage", ((3, 9), (3, 11))),
    ],
    "current": [
        Pin("click==8.5.1", "click", ((3, 10), (3, 13))),
        Pin("flask==3.1.3", "flask", ((3, 10), (3, 13))),
        Pin("black==26.10.1", "black", ((3, 10), (3, 13))),
        Pin("sqlite-utils==4.2.1", "sqlite-utils", ((3, 10), (3, 13))),
        Pin("typer==0.29.2", "typer", ((3, 11), (3, 13))),  # vendors Click as typer._click
        Pin("rich-click==1.9.9", "rich-click", ((3, 10), (3, 13))),
        Pin("cloup==4.0.0", "cloup", ((3, 10), (3, 13))),
        Pin("coverage==7.17.3", "coverage", ((3, 11), (3, 13))),
    ],
    # argparse CLIs (tests/compat/test_compat_argparse.py); ranges from Requires-Python
    "argparse": [
        Pin("httpie==3.2.4", "http"),
        Pin("yamllint==1.38.0", "yamllint", ((3, 10), (3, 13))),
        Pin("pre-commit==4.7.0", "pre-commit", ((3, 11), (3, 13))),
        Pin("twine==7.0.0", "twine", ((3, 10), (3, 13))),
        Pin("pipx==1.18.4", "pipx", ((3, 11), (3, 13))),  # argcomplete 3.x comes with it
    ],
}
#: The pin sets of Click and Typer CLIs (test_cli and the non-framework checks run on these).
CLICK_SETS = ["click81", "current"]

#: The allowlist used for the framework CLIs (scripts match by file name).
ALLOWLIST = "flask\nblack\nsqlite-utils\ntyapp\nrcapp\ncloupapp\n"
#: Output-shaping variables, identical for both runs (rich wraps to COLUMNS).
#: Every warning is shown, so one triggered by our hook would show up as a diff.
ENV = {
    "COLUMNS": "100",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "always",
}


def _python_version() -> tuple[int, int]:
    out = subprocess.run(
        [conftest.test_python(), "-c", "import sys; print(*sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


PY = _python_version()


def _installable(pins: list[Pin]) -> list[Pin]:
    return [p for p in pins if p.python[0] <= PY <= p.python[1]]


def _download(set_name: str, requirements: list[str]) -> Path:
    """Fetch the wheels of ``requirements`` (and their dependencies) once, into build/."""
    key = hashlib.sha1(json.dumps([PY, requirements]).encode()).hexdigest()[:10]
    directory = WHEEL_CACHE / f"py{PY[0]}.{PY[1]}-{set_name}-{key}"
    if not (directory / "ready").exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                *(
                    conftest.test_python(),
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--disable-pip-version-check",
                ),
                *("--only-binary=:all:", "-d", str(directory), *requirements),
            ],
            check=True,
        )
        (directory / "ready").touch()
    return directory


class PinSet:
    """The hooked/unhooked venv pair of one pin set, built on first use."""

    def __init__(self, name: str, base: Path) -> None:
        self.name = name
        self.base = base
        self.pins = {p.cli: p for p in _installable(PIN_SETS[name])}
        self._venvs: tuple[Venv, Venv] | None = None

    def pin(self, cli: str) -> Pin:
        if cli not in self.pins:
            wanted = next(p for p in PIN_SETS[self.name] if p.cli == cli)
            pytest.skip(f"{wanted.requirement} supports Python {wanted.python}, running {PY}")
        return self.pins[cli]

    def venvs(self) -> tuple[Venv, Venv]:
        if self._venvs is None:
            wheel = str(build_wheel(ROOT))
            reqs = [p.requirement for p in self.pins.values()]
            if not self.pins or (self.name in CLICK_SETS and "click" not in self.pins):
                pytest.skip(f"pin set {self.name!r} needs Python ≥ 3.10")
            cache = _download(self.name, [wheel, *reqs])
            # --no-compile: byte-compiling ~30 wheels per venv dominated set-up time
            local = ["--no-compile", "--no-index", "--find-links", str(cache)]
            hooked = make_venv(self.base, f"compat-{self.name}-with-hook", [*local, wheel, *reqs])
            bare = make_venv(
                self.base, f"compat-{self.name}-sans-hook", [*local, *reqs, *OWN_DEPENDENCIES]
            )
            self._venvs = (hooked, bare)
        return self._venvs


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
    hooked, bare = pin_set.venvs()
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "allowlist").write_text(ALLOWLIST)
    return Runner(hooked, home, cwd), Runner(bare, cwd.parent / "bare-home", cwd)


def _invoke(runner: Runner, case: Case, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    if case.cli in SCRIPT:
        return runner("python", SCRIPT[case.cli], *case.argv, env=env, input=case.stdin)
    return runner(case.cli, *case.argv, env=env, input=case.stdin)


def assert_same(
    a: subprocess.CompletedProcess[bytes], b: subprocess.CompletedProcess[bytes], venvs: list[Venv]
) -> None:
    """Exit code, stdout and stderr byte-identical, the venv path normalised."""

    def norm(data: bytes) -> bytes:
        for v in venvs:
            data = data.replace(str(v.path).encode(), b"<venv>")
        return data

    assert (a.returncode, norm(a.stdout), norm(a.stderr)) == (
        b.returncode,
        norm(b.stdout),
        norm(b.stderr),
    )


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
    assert_same(hooked, bare, [run.venv, run_bare.venv])
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
    assert_same(hooked, bare, [run.venv, run_bare.venv])
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
