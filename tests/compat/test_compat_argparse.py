"""Real-world compatibility: popular argparse CLIs from PyPI, instrumented, unchanged.

Same checks as test_compat.py (pin set ``argparse``, built the same way): stdout,
stderr and exit code byte-identical to the twin venv without the hook (only the
venv path normalised), the recorded command and flags equal what each CLI's
documentation says (written by hand), and no typed value (URL, file name, form
field, unknown word) reaches the home dir. HTTPie talks only to a local server
on 127.0.0.1 started here, or runs ``--offline``.
"""

from __future__ import annotations

import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    assert_nowhere,
    assert_same_output,
    bash_like_completion,
    tested_python_version,
)
from pins import ENV, PinSet, runners

pytestmark = pytest.mark.compat

ALLOWLIST = "http\nyamllint\npre-commit\ntwine\npipx\n"

#: HTTPie's console script binds the builtin ``sys.exit`` before ``main()`` imports
#: argparse (lazily, in ``httpie.core``): before Python 3.12 the exit code ``main``
#: returns is never seen, and the event keeps the last one observed; from 3.12 what
#: ``main`` returns is watched (see docs/compatibility.md).
HTTPIE_EXIT = "httpie: `sys.exit(main())` exit code unseen before 3.12 (argparse imported late)"


class _Handler(http.server.BaseHTTPRequestHandler):
    """200 for one path, 404 otherwise; fixed Date and Server so both runs match."""

    def do_GET(self) -> None:
        body = b"hello\n"
        self.send_response(200 if self.path == "/secret-path-xyz" else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def version_string(self) -> str:
        return "compat-test"

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 (an ephemeral port), for HTTPie."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _tiny_wheel(path: Path) -> None:
    """A minimal valid wheel for `twine check` (made here: no build backend, no network)."""
    dist = "tinypkgq-0.1.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("tinypkgq/__init__.py", "")
        z.writestr(
            f"{dist}/METADATA",
            "Metadata-Version: 2.1\nName: tinypkgq\nVersion: 0.1\nSummary: tiny\n"
            "Description-Content-Type: text/markdown\n\nA tiny package.\n",
        )
        z.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: handmade\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(f"{dist}/RECORD", "")


@pytest.fixture
def argwork(tmp_path: Path) -> Path:
    """The current directory of both runs: YAML files, a pre-commit config, a wheel."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "lintokQ.yaml").write_text("---\na: 1\n")
    (work / "lintbadQ.yaml").write_text("key: value\nkey: dup\n  bad indent: [\n")
    (work / "cfgQ.yaml").write_text("repos: []\n")
    (work / "badcfgQ.yaml").write_text("repos: nope\n")
    (work / "dist").mkdir()
    _tiny_wheel(work / "dist" / "tinypkgq-0.1-py3-none-any.whl")
    return work


def A(cli, argv, command, flags, status, code, secrets=(), xfail=None):  # type: ignore[no-untyped-def]
    """One invocation and its hand-written event; ``{srv}`` is the local server."""
    case = (cli, tuple(argv.split()), command, tuple(flags), status, code, tuple(secrets))
    late = tested_python_version() < (3, 12)
    marks = [pytest.mark.xfail(late, strict=True, reason=xfail)] if xfail else []
    return pytest.param(*case, marks=marks, id=f"{cli}:{argv}")


CASES = [
    # HTTPie (https://httpie.io/docs/cli): `--ignore-stdin` because stdin is no terminal
    A(
        "http",
        "--ignore-stdin --print=h GET http://{srv}/secret-path-xyz",
        "http",
        ["--ignore-stdin", "--print"],
        "success",
        0,
        ["secret-path-xyz"],
    ),
    A(
        "http",
        "--ignore-stdin --offline POST example.org/apiQ name=fieldvalQ X-Hdr:hdrvalQ",
        "http",
        ["--ignore-stdin", "--offline"],
        "success",
        0,
        ["apiQ", "fieldvalQ", "hdrvalQ", "example.org"],
    ),
    A(
        "http",
        "--ignore-stdin --offline --form -v pie.dev/post a=formvalQ",
        "http",
        ["--form", "--ignore-stdin", "--offline", "--verbose"],
        "success",
        0,
        ["formvalQ", "pie.dev"],
    ),
    A("http", "--version", "http", ["--version"], "success", 0),
    # --check-status: a 404 exits 4 (docs: "Scripting")
    A(
        "http",
        "--ignore-stdin --check-status --print=h GET http://{srv}/missing-secretQ",
        "http",
        ["--check-status", "--ignore-stdin", "--print"],
        "failure",
        4,
        ["missing-secretQ"],
        xfail=HTTPIE_EXIT,
    ),
    # a usage error: HTTPie catches argparse's SystemExit(2) and exits 1
    A(
        "http",
        "--ignore-stdin --bogusQ http://{srv}/x",
        "http",
        ["--ignore-stdin"],
        "usage_error",
        1,
        ["bogusQ"],
        xfail=HTTPIE_EXIT,
    ),
    # yamllint (https://yamllint.readthedocs.io/en/stable/quickstart.html)
    A(
        "yamllint",
        "-f parsable lintbadQ.yaml",
        "yamllint",
        ["--format"],
        "failure",
        1,
        ["lintbadQ"],
    ),
    A("yamllint", "-f parsable lintokQ.yaml", "yamllint", ["--format"], "success", 0),
    A(
        "yamllint",
        "-d relaxed --strict lintokQ.yaml",
        "yamllint",
        ["--config-data", "--strict"],
        "success",
        0,
        ["relaxed"],
    ),
    A("yamllint", "-f nosuchfmtQ lintokQ.yaml", "yamllint", ["--format"], "usage_error", 2),
    A("yamllint", "missingQ.yaml", "yamllint", [], "failure", 255, ["missingQ"]),  # exit(-1)
    A("yamllint", "--version", "yamllint", ["--version"], "success", 0),
    # pre-commit (https://pre-commit.com/#command-line-interface)
    A("pre-commit", "--version", "pre-commit", ["--version"], "success", 0),
    A("pre-commit", "sample-config", "pre-commit sample-config", [], "success", 0),
    A("pre-commit", "validate-config cfgQ.yaml", "pre-commit validate-config", [], "success", 0),
    A(
        "pre-commit",
        "validate-config badcfgQ.yaml",
        "pre-commit validate-config",
        [],
        "failure",
        1,
        ["badcfgQ"],
    ),
    A("pre-commit", "nosuchcmdQ", "pre-commit", [], "usage_error", 2, ["nosuchcmdQ"]),
    A("pre-commit", "run --bogusQ", "pre-commit run", [], "usage_error", 2, ["bogusQ"]),
    A(
        "pre-commit",
        "validate-config --help",
        "pre-commit validate-config",
        ["--help"],
        "success",
        0,
    ),
    # `help CMD` re-parses a list pre-commit makes up ([CMD, "--help"]): not the command line
    A("pre-commit", "help validate-config", "pre-commit help", [], "success", 0),
    # twine (https://twine.readthedocs.io/en/stable/#using-twine); it expands `dist/*` itself
    A("twine", "--version", "twine", ["--version"], "success", 0),
    A("twine", "check dist/*", "twine check", [], "success", 0),
    A("twine", "check --strict dist/*", "twine check", ["--strict"], "success", 0),
    A("twine", "check missingQ.whl", "twine check", [], "failure", 1, ["missingQ"]),
    A("twine", "nosuchQ", "twine", [], "usage_error", 2, ["nosuchQ"]),
    A("twine", "--no-color check", "twine check", ["--no-color"], "usage_error", 2),
    # pipx (https://pipx.pypa.io/stable/docs/), PIPX_HOME in the test's tmp dir
    A("pipx", "--version", "pipx", ["--version"], "success", 0),
    A("pipx", "list", "pipx list", [], "success", 0),
    A("pipx", "list --short", "pipx list", ["--short"], "success", 0),
    A("pipx", "environment --value PIPX_HOME", "pipx environment", ["--value"], "success", 0),
    A("pipx", "nosuchQ", "pipx", [], "usage_error", 2, ["nosuchQ"]),
    A("pipx", "install", "pipx install", [], "usage_error", 2),
]


@pytest.fixture(scope="module")
def argparse_set(venv_root: Path) -> PinSet:
    """The ``argparse`` pin set's venv pair (built on first use, reused from disk)."""
    return PinSet("argparse", venv_root)


def _env(work: Path) -> dict[str, str]:
    pipx = work.parent / "pipx"
    return {
        **ENV,
        "PIPX_HOME": str(pipx / "home"),
        "PIPX_BIN_DIR": str(pipx / "bin"),
        "PIPX_MAN_DIR": str(pipx / "man"),
    }


@pytest.mark.parametrize("cli,argv,command,flags,status,code,secrets", CASES)
def test_argparse_cli(
    argparse_set, server, home, argwork, cli, argv, command, flags, status, code, secrets
):
    pin = argparse_set.pin(cli)
    run, run_bare = runners(argparse_set, home, argwork, ALLOWLIST)
    (home / "allowlist").write_text(ALLOWLIST)
    argv = [a.replace("{srv}", server) for a in argv]
    env = _env(argwork)
    hooked = run(cli, *argv, env=env)
    bare = run_bare(cli, *argv, env=env)
    assert_same_output(hooked, bare, [run.venv, run_bare.venv])
    events = run.events()
    assert len(events) == 1, events
    (ev,) = events
    got = (ev["command"], tuple(ev["flags"]), ev["status"], ev["exit_code"])
    assert got == (command, flags, status, code)
    assert hooked.returncode == code, hooked.stderr
    assert ev["cli"]["framework"] == "argparse"
    assert ev["cli"]["version"] == pin.version
    assert_nowhere(home, *secrets)


@pytest.mark.parametrize(
    "line,expected",
    [("pipx li", b"list"), ("pipx list --s", b"--short"), ("pipx ", b"install")],
)
def test_pipx_argcomplete_silent_and_identical(argparse_set, home, argwork, line, expected):
    """pipx completes through argcomplete as bash drives it: same bytes on fd 8, nothing
    recorded, nothing written under the home dir."""
    argparse_set.pin("pipx")
    run, run_bare = runners(argparse_set, home, argwork, ALLOWLIST)
    (home / "allowlist").write_text(ALLOWLIST)
    env = _env(argwork)
    outs = []
    for runner, name in ((run, "h"), (run_bare, "b")):
        fds = argwork.parent / f"fds-{name}"
        fds.mkdir()
        outs.append(bash_like_completion(runner, [runner.venv.script("pipx")], line, fds, **env))
    (hooked, h8, h9), (bare, b8, b9) = outs
    assert_same_output(hooked, bare, [run.venv, run_bare.venv])
    assert (h8, h9) == (b8, b9)
    assert expected in h8
    assert hooked.returncode == 0
    assert sorted(p.name for p in home.iterdir()) == ["allowlist"]
