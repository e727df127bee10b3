"""Patterns from real argparse CLIs (tests/compat) kept fixed without the network.

Each case reproduces what a PyPI CLI does (tests/scripts/argparse_compat_patterns.py),
runs it through the .pth hook and in the unhooked venv, and checks the event.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_nowhere, command_event, run_script
from conftest import assert_same_output as _same

SCRIPT = str(Path(__file__).parent / "scripts" / "argparse_compat_patterns.py")
PROG = "argparse_compat_patterns.py"

CASES = [
    # pattern, argv, command below the program, flags, status, framework, exit code
    # twine: `check` is a choice of the top parser, then `prog="twine check"` parses the rest
    ("dispatch", ["check", "distQ.whl"], "check", [], "success", "argparse", 0),
    ("dispatch", ["--no-color", "check", "--strict", "distQ.whl"], "check",
     ["--no-color", "--strict"], "success", "argparse", 0),
    # main returns True: sys.exit(True) exits 1 (and sys.exit(False) above exits 0)
    ("dispatch", ["check", "--strict", "badQ.whl"], "check", ["--strict"], "failure",
     "argparse", 1),
    # an empty remainder parsed by the per-command parser, which reports the usage error
    ("dispatch", ["--no-color", "check"], "check", ["--no-color"], "usage_error", "argparse", 2),
    ("dispatch", ["nosuchQ"], "", [], "usage_error", "argparse", 2),
    # any registered choice names the command (the prog words are checked against them)
    ("dispatch", ["upload", "--strict", "x"], "upload", ["--strict"], "success", "argparse", 0),
    # Click takes over from an argparse pre-parse of sys.argv done by a library
    ("click-after-argparse", ["--log-level", "debugQ", "build", "--fast"], "build",
     ["--fast", "--log-level"], "success", "click", 0),
    ("click-after-argparse", ["build"], "build", [], "failure", "click", 1),
    ("click-after-argparse", ["nosuchQ"], "", [], "usage_error", "click", 2),
]  # fmt: skip


@pytest.mark.parametrize(
    "pattern,argv,command,flags,status,framework,code",
    CASES,
    ids=[f"{c[0]}:{' '.join(c[1])}" for c in CASES],
)
def test_real_cli_pattern(
    run, run_bare, venv, bare_venv, pattern, argv, command, flags, status, framework, code
):
    (run.home / "allowlist").write_text(PROG.removesuffix(".py") + "\n")
    hooked = run_script(run, SCRIPT, *argv, PATTERN=pattern)
    bare = run_script(run_bare, SCRIPT, *argv, PATTERN=pattern)
    _same(hooked, bare, (venv, bare_venv))
    ev = command_event(run)
    got = (ev["command"], ev["flags"], ev["status"], ev["exit_code"], ev["cli"]["framework"])
    assert got == (f"{PROG} {command}".strip(), flags, status, code, framework)
    assert hooked.returncode == code
    assert_nowhere(run.home, "Q.whl", "debugQ", "nosuchQ")
