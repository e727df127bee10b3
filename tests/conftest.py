"""Shared fixtures: real virtual environments, real CLIs, real subprocesses.

Nothing of ours is mocked. Each session builds the wheels once
(``build/test-wheels``) and a small set of venvs once (in the session's temp
dir), then every test runs real console scripts through the real ``.pth``
hook with a private ``AUTOTELEMETRY_HOME`` and reads what landed on disk.

``AUTOTELEMETRY_TEST_PYTHON`` picks the interpreter the venvs are built from
(default: the one running pytest); ``make test-all`` loops over 3.9–3.13.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = ROOT / "tests" / "scripts"
WHEELS = ROOT / "build" / "test-wheels"

#: Variables that would change what the hook does; stripped from every child env.
_CONTROL_PREFIXES = ("AUTOTELEMETRY_", "OTEL_")
_CONTROL_NAMES = {"DO_NOT_TRACK", "CI", "_ARGCOMPLETE", "COMP_LINE", "COMP_POINT", "PYTHONPATH"}


def test_python() -> str:
    return os.environ.get("AUTOTELEMETRY_TEST_PYTHON") or sys.executable


def _python_version(python: str) -> tuple[int, int]:
    out = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def _newer_than(path: Path, sources: list[Path]) -> bool:
    if not path.exists():
        return False
    mtime = path.stat().st_mtime
    for src in sources:
        for f in src.rglob("*") if src.is_dir() else [src]:
            if f.is_file() and "__pycache__" not in f.parts and f.stat().st_mtime > mtime:
                return False
    return True


def build_wheel(project: Path) -> Path:
    """Build (or reuse) the wheel of a local project; rebuilt when its sources change."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    stamp = WHEELS / f"{project.name}.stamp"
    sources = [project / "pyproject.toml"]
    sources += [
        p for p in project.iterdir() if p.is_dir() and not p.name.startswith((".", "build"))
    ]
    if project == ROOT:
        sources = [ROOT / "pyproject.toml", ROOT / "hatch_build.py", ROOT / "autotelemetry"]
        sources.append(ROOT / "tools")  # the build of the hot modules
        sources.append(ROOT / "sitecustomize_template")
    name = "autotelemetry" if project == ROOT else project.name
    existing = sorted(WHEELS.glob(f"{name}-*.whl"))
    if existing and _newer_than(stamp, sources):
        return existing[-1]
    for old in existing:
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(WHEELS), str(project)],
        check=True,
        cwd=ROOT,
    )
    stamp.touch()
    return sorted(WHEELS.glob(f"{name}-*.whl"))[-1]


class Venv:
    """A real virtual environment and helpers to run its console scripts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bin = path / ("Scripts" if os.name == "nt" else "bin")
        self.python = str(self.bin / "python")

    def script(self, name: str) -> str:
        return str(self.bin / name)

    @property
    def site_packages(self) -> Path:
        out = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            env={**clean_env(), "AUTOTELEMETRY_DISABLED": "1"},
        )
        return Path(out.stdout.strip())

    def pip(self, *args: str) -> None:
        subprocess.run(
            [self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
            check=True,
            env={**clean_env(), "AUTOTELEMETRY_DISABLED": "1"},
        )


def make_venv(base: Path, key: str, requirements: list[str]) -> Venv:
    """Create (once per session) a venv with ``requirements`` installed."""
    digest = hashlib.sha1(json.dumps([test_python(), requirements]).encode()).hexdigest()[:10]
    path = base / f"{key}-{digest}"
    venv = Venv(path)
    if not (path / "ready").exists():
        subprocess.run([test_python(), "-m", "venv", str(path)], check=True)
        if requirements:
            venv.pip(*requirements)
        (path / "ready").touch()
    return venv


#: Where a run without AUTOTELEMETRY_HOME would put its state (``$XDG_STATE_HOME``):
#: never the real ``~/.local/state``. Set per session by the ``_never_the_real_home`` fixture.
SANDBOX_STATE: dict[str, str] = {}


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment minus anything that steers autotelemetry, plus ``extra``.

    ``XDG_STATE_HOME`` points into the session's temporary directory, so a CLI
    run without ``AUTOTELEMETRY_HOME`` can never write under the real home.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CONTROL_PREFIXES)
        and k not in _CONTROL_NAMES
        and not (k.startswith("_") and k.endswith("_COMPLETE"))
        and k not in {"GITHUB_ACTIONS", "GITLAB_CI", "BUILD_ID", "JENKINS_URL"}
    }
    env.update(SANDBOX_STATE)
    env.update(extra)
    return env


REAL_STATE = Path(os.path.expanduser("~/.local/state/autotelemetry"))


def _snapshot(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    return sorted((str(p), p.stat().st_mtime) for p in [path, *path.rglob("*")])


@pytest.fixture(scope="session", autouse=True)
def _never_the_real_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch the real home: nothing appears or changes in its state dir."""
    SANDBOX_STATE["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    before = _snapshot(REAL_STATE)
    yield
    assert _snapshot(REAL_STATE) == before, f"the test session wrote to {REAL_STATE}"


@functools.cache
def tested_python_version() -> tuple[int, int]:
    """(major, minor) of the Python under test (:func:`test_python`)."""
    return _python_version(test_python())


@pytest.fixture(scope="session")
def python_version() -> tuple[int, int]:
    return tested_python_version()


@pytest.fixture(scope="session")
def venv_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("venvs")


def _example_requirements(version: tuple[int, int]) -> list[str]:
    reqs = [str(build_wheel(EXAMPLES / "exampleclick"))]
    reqs.append(str(build_wheel(EXAMPLES / "exampletyper")))
    if (EXAMPLES / "exampleargparse").exists():
        reqs.append(str(build_wheel(EXAMPLES / "exampleargparse")))
    return reqs


@pytest.fixture(scope="session")
def venv(venv_root: Path, python_version: tuple[int, int]) -> Venv:
    """autotelemetry + the example CLIs (Typer: the newest release for this Python)."""
    return make_venv(
        venv_root, "with-hook", [str(build_wheel(ROOT)), *_example_requirements(python_version)]
    )


@pytest.fixture(scope="session")
def bare_venv(venv_root: Path, python_version: tuple[int, int]) -> Venv:
    """The same example CLIs without autotelemetry: the reference for byte-identical output."""
    return make_venv(venv_root, "sans-hook", _example_requirements(python_version))


#: The ``env`` of a synthetic event valid against the schema (tests that write spool files).
SYNTHETIC_ENV = {
    "os": "Linux",
    "os_version": "6.1",
    "arch": "x86_64",
    "python": "3.11.7",
    "ci": False,
    "ci_provider": None,
    "shell": None,
    "tty": False,
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private, empty AUTOTELEMETRY_HOME."""
    path = tmp_path / "home"
    return path


class Runner:
    """Runs console scripts of a venv with a controlled environment."""

    def __init__(self, venv: Venv, home: Path, cwd: Path) -> None:
        self.venv = venv
        self.home = home
        self.cwd = cwd

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(**{"AUTOTELEMETRY_HOME": str(self.home), **extra})

    def __call__(
        self, program: str, *args: str, env: dict[str, str] | None = None, **kwargs: object
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self.venv.script(program), *args],
            capture_output=True,
            env=self.env(**(env or {})),
            cwd=self.cwd,
            timeout=120,
            **kwargs,  # type: ignore[arg-type]
        )

    def events(self) -> list[dict]:
        """Events pending in the spool, as written by the hook (oldest first)."""
        return read_spool(self.home)

    def stored(self, *args: str) -> list[dict]:
        """Events through `autotelemetry events --json` (ingests the spool first)."""
        out = self("autotelemetry", "events", "--json", *args)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]


def command_event(run: Runner) -> dict:
    """The run's one command event (a crash also writes a crash event: tests/test_crash.py)."""
    events = [e for e in run.events() if e["type"] == "command"]
    assert len(events) == 1, events
    return events[0]


def run_script(runner: Runner, script: str, *argv: str, **env: str):  # type: ignore[no-untyped-def]
    """Run a Python script with the venv's interpreter, as ``runner`` runs console scripts."""
    return subprocess.run(
        [runner.venv.python, script, *argv],
        capture_output=True,
        env=runner.env(**env),
        cwd=runner.cwd,
        timeout=120,
    )


def bash_like_completion(runner: Runner, argv: list[str], line: str, tmp: Path, **env: str):
    """Run ``argv`` as argcomplete's bash hook does; return (result, fd 8 bytes, fd 9 bytes)."""
    fd8, fd9 = tmp / "fd8", tmp / "fd9"
    script = 'exec "$@" 8>"$FD8" 9>"$FD9"'
    result = subprocess.run(
        ["bash", "-c", script, "bash", *argv],
        capture_output=True,
        cwd=runner.cwd,
        timeout=120,
        env=runner.env(
            _ARGCOMPLETE="1",
            _ARGCOMPLETE_SHELL="bash",
            _ARGCOMPLETE_SUPPRESS_SPACE="1",
            COMP_LINE=line,
            COMP_POINT=str(len(line)),
            COMP_TYPE="9",
            FD8=str(fd8),
            FD9=str(fd9),
            **env,
        ),
    )
    return result, fd8.read_bytes(), fd9.read_bytes()


def assert_same_output(
    a: subprocess.CompletedProcess[bytes],
    b: subprocess.CompletedProcess[bytes],
    venvs: tuple[Venv, ...] = (),
) -> None:
    """Exit code, stdout and stderr identical (venv paths in tracebacks normalised)."""

    def norm(data: bytes) -> bytes:
        for v in venvs:
            data = data.replace(str(v.path).encode(), b"<venv>")
        return data

    assert a.returncode == b.returncode
    assert norm(a.stdout) == norm(b.stdout)
    assert norm(a.stderr) == norm(b.stderr)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1 (tests/receiver.py), closed after the test."""
    r = Receiver()
    yield r
    r.close()


def rotel_agent() -> Path:
    """The collector binary shipped in the ``rotel`` wheel (a test dependency)."""
    spec = importlib.util.find_spec("rotel")
    assert spec is not None and spec.origin, "rotel is not installed: pip install -e '.[test]'"
    agent = Path(spec.origin).parent / "rotel-agent"
    assert agent.is_file(), agent
    return agent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    """A real OpenTelemetry collector (rotel) on 127.0.0.1: an OTLP/HTTP receiver whose
    pipelines export OTLP/HTTP (protobuf) to ``receiver``, which validates every payload
    with opentelemetry-proto and, with ``otlp_file``, writes each as one OTLP/JSON line
    (the format of the OpenTelemetry Collector's file exporter)."""

    def __init__(self, workdir: Path, receiver: Receiver, args: tuple[str, ...] = ()) -> None:
        self.receiver = receiver
        self.otlp_file = receiver.otlp_file
        port, grpc = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.output = workdir / "rotel.out"
        command = [
            str(rotel_agent()),
            "start",
            *("--otlp-http-endpoint", f"127.0.0.1:{port}"),
            *("--otlp-grpc-endpoint", f"127.0.0.1:{grpc}"),
            *("--exporter", "otlp"),
            *("--otlp-exporter-endpoint", receiver.url),
            *("--otlp-exporter-protocol", "http"),
            *("--batch-timeout", "100ms"),
            *("--pid-file", str(workdir / "rotel.pid")),
            *("--log-file", str(workdir / "rotel.log")),
            *args,
        ]
        env = {k: v for k, v in clean_env().items() if not k.startswith("ROTEL_")}
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    self.close()
                    raise RuntimeError("rotel did not start: " + self.output.read_text()) from None
                time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def make_collector(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    """``make_collector(*rotel_args, otlp_file=PATH)``: start a collector (stopped after
    the test) in front of a fresh receiver."""
    made: list[Collector] = []

    def make(*args: str, otlp_file: Path | None = None) -> Collector:
        downstream = Receiver(otlp_file=otlp_file or tmp_path / "collector-otlp.jsonl")
        collector = Collector(tmp_path / f"rotel-{len(made)}", downstream, args)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        collector.close()
        collector.receiver.close()


@pytest.fixture
def collector(make_collector: Callable[..., Collector]) -> Collector:
    """rotel receiving OTLP/HTTP, exporting to a receiver that also writes the OTLP/JSON
    lines file ``collector.otlp_file`` (for readers of collector output files)."""
    return make_collector()


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test interrupts with SIGINT.

    A job started in the background by a non-interactive shell inherits SIGINT
    *ignored*, and Python then leaves it ignored: the CLI would sleep through
    the test's Ctrl-C and exit 0. Restore the default so the child behaves as
    at a terminal, wherever the suite itself was started from.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sender_environs(home: Path) -> dict[int, list[bytes]]:
    """The detached senders of ``home`` alive now: pid -> its environment's entries."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"autotelemetry.sender" in cmd and f"AUTOTELEMETRY_HOME={home}".encode() in environ:
            found[int(pid)] = environ
    return found


@contextlib.contextmanager
def counted_as_program(path: str) -> Iterator[None]:
    """In-process privacy tests: the test module plays the application, whose code is
    the program's text wherever it lies (``privacy.program_file``)."""
    from autotelemetry.hook import privacy

    privacy.note_program_code([path])
    try:
        yield
    finally:
        privacy.note_program_code([])


def read_spool(home: Path) -> list[dict]:
    spool = home / "spool"
    events: list[dict] = []
    if not spool.exists():
        return events
    for path in sorted(spool.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                events.append(json.loads(line))
    return events


def all_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file under ``root`` with its content (for privacy greps)."""
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def assert_nowhere(root: Path, *needles: str) -> None:
    """No byte sequence of any needle (UTF-8) appears in any file under ``root``."""
    for path, data in all_bytes(root):
        for needle in needles:
            assert needle.encode() not in data, f"{needle!r} leaked into {path}"


@pytest.fixture
def run(venv: Venv, home: Path, tmp_path: Path) -> Runner:
    """Run a console script of the hooked venv, with the example CLIs allowlisted."""
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "allowlist").write_text("exampleclick\nexampletyper\nexampleargparse\n")
    return Runner(venv, home, tmp_path)


@pytest.fixture
def run_bare(bare_venv: Venv, tmp_path: Path) -> Runner:
    """Run a console script of the venv without autotelemetry."""
    return Runner(bare_venv, tmp_path / "bare-home", tmp_path)
