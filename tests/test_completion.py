"""Shell completion runs are silent: nothing recorded, written, or imported beyond the boot.

Completion is driven the way the shells drive it: argcomplete through
``_ARGCOMPLETE``/``COMP_LINE``/``COMP_POINT`` with its output on fd 8 (and
debug on fd 9), exactly as argcomplete's bash hook redirects them; Click and
Typer through ``_<PROG>_COMPLETE`` with ``COMP_WORDS``/``COMP_CWORD``.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import Runner, bash_like_completion
from conftest import assert_same_output as _same

#: A CLI of each kind that dumps the autotelemetry modules loaded, then exits as its
#: framework does (argcomplete: through its exit_method; Click: sys.exit, then atexit).
MODULE_PROBE = """\
import os, sys
OUT = os.environ["PROBE_OUT"]

def dump():
    with open(OUT, "w") as f:
        f.write("\\n".join(sorted(m for m in sys.modules if "autotelemetry" in m)))

if os.environ["PROBE"] == "argcomplete":
    import argparse, argcomplete
    parser = argparse.ArgumentParser(prog="probe")
    parser.add_argument("--verbose", action="store_true")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("deploy")
    sub.add_parser("destroy")
    def leave(code=0):
        dump()
        os._exit(code)
    argcomplete.autocomplete(parser, exit_method=leave)
    parser.parse_args()
    dump()
else:
    import atexit, click
    atexit.register(dump)
    @click.group()
    def cli():
        pass
    @cli.command()
    def deploy():
        pass
    cli(prog_name="probe")
"""


def _home_untouched(run: Runner) -> None:
    assert sorted(p.name for p in run.home.iterdir()) == ["allowlist"]


@pytest.mark.parametrize(
    "line,expected",
    [
        ("exampleargparse-complete d", b"db"),
        ("exampleargparse-complete db m", b"migrate"),
        ("exampleargparse-complete --co", b"--color"),
        ("exampleargparse-complete db migrate --dry-run ", b""),
    ],
)
def test_argcomplete_is_silent_and_identical(run, run_bare, tmp_path, line, expected):
    (run.home / "allowlist").write_text("exampleargparse*\n")
    (tmp_path / "h").mkdir()
    (tmp_path / "b").mkdir()
    hooked, h8, h9 = bash_like_completion(
        run, [run.venv.script("exampleargparse-complete")], line, tmp_path / "h"
    )
    bare, b8, b9 = bash_like_completion(
        run_bare, [run_bare.venv.script("exampleargparse-complete")], line, tmp_path / "b"
    )
    _same(hooked, bare)
    assert (h8, h9) == (b8, b9)
    assert expected in h8
    assert hooked.stdout == b"" and hooked.stderr == b"" and h9 == b""
    _home_untouched(run)


def test_argcomplete_imports_nothing_beyond_the_boot(run, tmp_path):
    (run.home / "allowlist").write_text("probe\n")
    probe = tmp_path / "probe.py"
    probe.write_text(MODULE_PROBE)
    out = tmp_path / "modules"
    env = {"PROBE": "argcomplete", "PROBE_OUT": str(out)}
    (tmp_path / "c").mkdir()
    result, fd8, _ = bash_like_completion(
        run, [run.venv.python, str(probe)], "probe de", tmp_path / "c", **env
    )
    assert result.returncode == 0, result.stderr
    assert b"deploy" in fd8 and b"destroy" in fd8
    assert out.read_text().split() == ["_autotelemetry_boot", "autotelemetry.hook.boot"]
    _home_untouched(run)
    # Control: the same program run normally is instrumented (the probe can see it).
    normal = subprocess.run(
        [run.venv.python, str(probe), "deploy"], env=run.env(**env), capture_output=True
    )
    assert normal.returncode == 0, normal.stderr
    assert "autotelemetry.hook.integrations.argparse" in out.read_text().split()
    assert len(run.events()) == 1


def test_click_completion_imports_nothing_beyond_the_boot(run, tmp_path):
    (run.home / "allowlist").write_text("probe\n")
    probe = tmp_path / "probe.py"
    probe.write_text(MODULE_PROBE)
    out = tmp_path / "modules"
    env = {"PROBE": "click", "PROBE_OUT": str(out)}
    completing = run(
        "python",
        str(probe),
        env={
            **env,
            "_PROBE_COMPLETE": "bash_complete",
            "COMP_WORDS": "probe de",
            "COMP_CWORD": "1",
        },
    )
    assert completing.returncode == 0, completing.stderr
    assert b"deploy" in completing.stdout
    assert out.read_text().split() == ["_autotelemetry_boot", "autotelemetry.hook.boot"]
    _home_untouched(run)
    normal = run("python", str(probe), "deploy", env=env)
    assert normal.returncode == 0, normal.stderr
    assert "autotelemetry.hook.integrations.click" in out.read_text().split()


@pytest.mark.parametrize(
    "program,var,words,expected",
    [
        ("exampleclick", "_EXAMPLECLICK_COMPLETE", "exampleclick db m", b"migrate"),
        ("exampleclick", "_EXAMPLECLICK_COMPLETE", "exampleclick --", b"--verbose"),
        ("exampletyper", "_EXAMPLETYPER_COMPLETE", "exampletyper us", b"users"),
    ],
)
def test_click_and_typer_completion_silent_and_identical(
    run, run_bare, program, var, words, expected
):
    cword = str(len(words.split()) - 1)
    env = {
        var: "complete_bash" if program == "exampletyper" else "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": cword,
    }
    hooked, bare = run(program, env=env), run_bare(program, env=env)
    _same(hooked, bare)
    assert expected in hooked.stdout
    _home_untouched(run)
