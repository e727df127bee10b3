"""Patterns found in real CLIs (tests/compat) that broke us once, reproduced without the network.

Each test names the CLI it came from. They run in the session's example venv
(Click from the local index), against the same venv without the hook.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import Runner, Venv

#: Flask 3.1 (and Click 8.2+) deprecate ``__version__`` through a module
#: ``__getattr__`` that warns; reading it for the event's version printed a
#: DeprecationWarning on the host's stderr under ``-W always``.
DEPRECATED_VERSION_MODULE = """\
import warnings


def __getattr__(name):
    if name == "__version__":
        warnings.warn("__version__ is deprecated", DeprecationWarning, stacklevel=2)
        return "9.9"
    raise AttributeError(name)
"""

DEPRECATED_VERSION_CLI = """\
import click

import depver  # noqa: F401  (loaded, as a CLI's own package is)


@click.command()
@click.option("--loud", is_flag=True)
def main(loud):
    click.echo("ok")


main.callback.__module__ = "depver"  # as if defined in the package itself
main()
"""


def _python(runner: Runner, venv: Venv, *args: str, env: dict[str, str]):
    return subprocess.run(
        [venv.python, *args], capture_output=True, cwd=runner.cwd, env=runner.env(**env)
    )


def test_module_getattr_version_is_not_triggered(run, run_bare, venv, bare_venv, tmp_path: Path):
    """Flask 3.1: no warning of ours on the host's stderr, even with ``-W always``."""
    (tmp_path / "depver.py").write_text(DEPRECATED_VERSION_MODULE)
    (tmp_path / "depcli.py").write_text(DEPRECATED_VERSION_CLI)
    (run.home / "allowlist").write_text("depcli\n")
    env = {"PYTHONWARNINGS": "always"}
    hooked = _python(run, venv, "depcli.py", "--loud", env=env)
    bare = _python(run_bare, bare_venv, "depcli.py", "--loud", env=env)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (0, b"ok\n", b"")
    assert (bare.returncode, bare.stdout, bare.stderr) == (0, b"ok\n", b"")
    (event,) = run.events()
    assert event["command"] == "depcli.py" and event["flags"] == ["--loud"]
