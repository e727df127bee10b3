"""Where an instrumented run's extra instructions go, per function of ours.

``run.py`` measures whole processes; this says which of our functions the
difference is spent in. Python 3.12+ can give every Python function its own
machine-code trampoline (``PYTHONPERFSUPPORT=1``, the perf profiler's support)
and writes their addresses to ``/tmp/perf-<pid>.map``; under callgrind each
trampoline is a function whose inclusive cost is that Python function's. This
script runs a row once under callgrind that way, names the trampolines from the
map, and reports for each function of ours entered from outside our code the
instructions spent inside it (what it calls included), less what our wrappers
hand on to the host (the framework module's own loading, the framework function
a wrapper calls). The sum of those entries, against the whole difference from
the bare run, leaves what happens outside our functions: ``site`` reading the
``.pth`` line, the import system loading the boot, interpreter teardown.

Trampolines add a few instructions per Python call, and 3.12 is not the 3.11 of
``run.py``'s table: the figures here attribute, they are not the budget measure.

    python benchmarks/attribute.py                       # the instrumented rows
    python benchmarks/attribute.py --python python3.13 --rows argparse-crash --top 60
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # the benchmark's environments and rows

#: Row name -> (program, arguments); ``python`` runs ``-c pass``.
ROWS = {
    "pass": ("python", ["-c", "pass"]),
    "click": (run.CLIS["Click"][0], run.CLIS["Click"][1]["success"]),
    "click-crash": (run.CLIS["Click"][0], run.CLIS["Click"][1]["crash"]),
    "argparse": (run.CLIS["argparse"][0], run.CLIS["argparse"][1]["success"]),
    "argparse-crash": (run.CLIS["argparse"][0], run.CLIS["argparse"][1]["crash"]),
    "typer": (run.CLIS["Typer"][0], run.CLIS["Typer"][1]["success"]),
}
ALLOW = "exampleclick,exampletyper,exampleargparse"

#: Our code: the package and the built modules (``_autotelemetry_*``).
OURS = re.compile(r"[/\\](autotelemetry[/\\]|_autotelemetry_)")
#: The host's code that a wrapper of ours hands on to: the framework's own functions,
#: and the body of the framework module whose loading ours wraps.
FRAMEWORK = re.compile(r"[/\\](argparse\.py|click[/\\]|typer[/\\])")


def find_python(wanted: str | None) -> tuple[str, str]:
    """A Python 3.12+ (perf trampolines) and its ``X.Y``: ``--python``, else pyenv's newest,
    else PATH."""
    candidates = [wanted] if wanted else []
    if not wanted:
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        for version in ("3.13", "3.12"):
            candidates += sorted(glob.glob(f"{root}/versions/{version}*/bin/python3"), reverse=True)
            candidates.append(shutil.which(f"python{version}") or "")
    for python in candidates:
        if not python:
            continue
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info >= (3, 12), *sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if out[:1] == ["True"]:
            return python, "%s.%s" % (out[1], out[2])
    raise SystemExit("attribute.py: needs a Python 3.12 or newer (--python PATH)")


def inclusive(path: str, names: dict[str, str]) -> tuple[int, dict[str, int]]:
    """(total instructions, inclusive cost per Python function) of a callgrind file.

    A recursive function's figure is its outermost level's (callgrind names the
    inner levels ``'2``, ``'3``…); a function's figure includes what it calls.
    """
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0
    costs: dict[str, int] = {}
    for line in out.splitlines():
        match = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
        if not match:
            continue
        cost, where = int(match.group(1).replace(",", "")), match.group(2)
        if where.startswith("PROGRAM TOTALS"):
            total = cost
        address = re.match(r"\?\?\?:(0x[0-9a-f]+)( \[|$)", where)
        if address and address.group(1) in names:
            name = names[address.group(1)]
            costs[name] = max(costs.get(name, 0), cost)
    return total, costs


def perf_names(map_file: str) -> dict[str, str]:
    """Trampoline address (callgrind's ``0x…`` spelling) -> ``function:file``."""
    out = {}
    with open(map_file, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            address, _size, name = line.rstrip("\n").split(" ", 2)
            out["0x%016x" % int(address, 16)] = name.removeprefix("py::")
    return out


def ours_only(costs: dict[str, int]) -> dict[str, int]:
    """Our functions' figures, each wrapper's less the host code it hands on to.

    A wrapper (``patch.<locals>.__init__``) calls the framework function it replaced
    (``Context.__init__`` in click/core.py), which nothing else calls once it is
    replaced. The loader wrapper (``_wrap_loader.<locals>.exec_module``) is left out:
    it runs the framework module's loading, and its own work shows as the functions it
    calls (``_stand_back``, ``on_import``). Our finder's figure includes the framework
    module's spec search, which it asks the other finders for and a bare run pays too.
    """
    host = {name: cost for name, cost in costs.items() if FRAMEWORK.search(name)}
    out = {}
    for name, cost in costs.items():
        if not OURS.search(name):
            continue
        function = name.partition(":")[0]
        if function == "_wrap_loader.<locals>.exec_module":
            continue
        if "<locals>." in function:
            handed = "." + function.rsplit(".", 1)[1]
            cost -= sum(c for n, c in host.items() if n.partition(":")[0].endswith(handed))
        out[name] = cost
    return out


def count(env_dir: Path, program: str, argv: list[str], home: str) -> tuple[str, str]:
    """Run once to warm the home, then under callgrind with trampolines: the paths of the
    callgrind file and of the run's perf map (valgrind runs the program in its own pid)."""
    env = run.clean_env(AUTOTELEMETRY_HOME=home, AUTOTELEMETRY_ALLOW=ALLOW, PYTHONHASHSEED="0")
    cmd = [str(env_dir / "bin" / program), *argv]
    subprocess.run(cmd, env=env, capture_output=True, check=False)
    out = tempfile.mktemp(prefix="attribute-", suffix=".callgrind")
    valgrind = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        env={**env, "PYTHONPERFSUPPORT": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    valgrind.wait()
    return out, f"/tmp/perf-{valgrind.pid}.map"


def short(name: str) -> str:
    """``function:file`` with the file relative to site-packages (or its base name)."""
    function, _, path = name.partition(":")
    for marker in ("site-packages/", "site-packages\\"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{function} ({path})" if path else function


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="a Python 3.12+ (default: pyenv's 3.13 or 3.12)")
    parser.add_argument(
        "--rows", default="click,argparse,argparse-crash", help=f"of {', '.join(ROWS)}"
    )
    parser.add_argument("--top", type=int, default=25, help="functions listed per row")
    args = parser.parse_args()
    python, version = find_python(args.python)
    examples = [str(run.ROOT / "examples" / n) for n in ("exampleclick", "exampletyper")]
    examples.append(str(run.ROOT / "examples" / "exampleargparse"))
    ours = run.venv(f"attribute-hooked-{version}", [str(run.ROOT), *examples], True, python)
    bare = run.venv(f"attribute-bare-{version}", examples, False, python)
    for row in args.rows.split(","):
        program, argv = ROWS[row]
        home = tempfile.mkdtemp(prefix="attribute-home-")
        files: list[str] = []
        try:
            bare_file, bare_map = count(bare, program, argv, home)
            ours_file, ours_map = count(ours, program, argv, home)
            files += [bare_file, bare_map, ours_file, ours_map]
            total, costs = inclusive(ours_file, perf_names(ours_map))
            bare_total, _ = inclusive(bare_file, {})
            listed = sorted(ours_only(costs).items(), key=lambda item: -item[1])
        finally:
            shutil.rmtree(home, ignore_errors=True)
            for leftover in files:
                if os.path.exists(leftover):
                    os.unlink(leftover)
        print(f"\n{row} on Python {version}: {' '.join([program, *argv])}")
        print(
            f"  bare {bare_total:,}, ours {total:,}: +{total - bare_total:,} "
            "(both with trampolines); inclusive figures, so they nest:"
        )
        for name, cost in listed[: args.top]:
            print(f"  {cost:>12,}  {short(name)}")


if __name__ == "__main__":
    main()
