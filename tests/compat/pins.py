"""The pin sets of the compatibility suites: pinned releases and their twin venvs.

Shared by ``test_compat.py`` (Click and Typer CLIs) and ``test_compat_argparse.py``.
Each *pin set* is a session-cached pair of venvs built from pinned releases:
``compat-<set>-with-hook`` (autotelemetry installed) and ``compat-<set>-sans-hook``
(the same packages, plus autotelemetry's own dependencies, without it).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import conftest
import pytest
import tomllib
from conftest import ROOT, Runner, Venv, build_wheel, make_venv

WHEEL_CACHE = ROOT / "build" / "compat-wheels"

#: The packages autotelemetry itself pulls in; the twin venv gets them too so
#: that `pip list` in both differs only by autotelemetry.
OWN_DEPENDENCIES = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


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
    # The wheel's file name does not change with its dependencies: key on those too.
    key = hashlib.sha1(json.dumps([PY, requirements, OWN_DEPENDENCIES]).encode()).hexdigest()[:10]
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


def runners(pin_set: PinSet, home: Path, cwd: Path, allowlist: str) -> tuple[Runner, Runner]:
    """A runner of the hooked venv (``allowlist`` in its home) and one of its bare twin."""
    hooked, bare = pin_set.venvs()
    home.mkdir(mode=0o700, exist_ok=True)
    (home / "allowlist").write_text(allowlist)
    return Runner(hooked, home, cwd), Runner(bare, cwd.parent / "bare-home", cwd)
