"""How long a CLI takes to die after SIGTERM, with autotelemetry's handler and without.

A measurement, not a test (docs/reliability.md, "Signals", quotes its output). A small
Click CLI blocks in one of several ways; 0.5 s in, it gets SIGTERM; the time from the
signal to the process's exit and its wait status are printed for the bare venv and
the hooked one. Python-level signal handlers run between bytecodes, so a main thread
inside a long C call that does not check for signals dies when that call returns.

    python benchmarks/signal_latency.py --bare VENV --hooked VENV [KIND ...]

Default venvs: ``benchmarks/.envs/bare`` and ``benchmarks/.envs/hooked`` (built by
``benchmarks/run.py``). Both need Click installed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / "benchmarks" / ".envs"

CLI = """\
import hashlib, re, socket, sqlite3, subprocess, sys, threading, time
import click

@click.command()
@click.argument("kind")
@click.option("--size", type=int, default=1)
def main(kind, size):
    sys.stderr.write("ready\\n"); sys.stderr.flush()
    if kind == "sleep":
        time.sleep(30)
    elif kind == "subprocess":
        subprocess.run(["sleep", "30"])
    elif kind == "join":
        worker = threading.Thread(target=time.sleep, args=(30,)); worker.start(); worker.join()
    elif kind == "recv":
        a, b = socket.socketpair(); a.recv(1)
    elif kind == "python":
        n = 0
        while n < size:
            n += 1
    elif kind == "regex":
        re.match(r"(a+)+$", "a" * size + "b")
    elif kind == "pbkdf2":
        hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", size)
    elif kind == "sum":
        sum(range(size))
    elif kind == "sqlite":
        sqlite3.connect(":memory:").execute(
            "with recursive c(x) as (select 1 union all select x + 1 from c where x < ?)"
            " select count(*) from c", (size,)).fetchall()

main()
"""

#: kind -> (argument, what it is)
KINDS = {
    "sleep": (1, "`time.sleep(30)`"),
    "subprocess": (1, "`subprocess.run(['sleep', '30'])`"),
    "join": (1, "`Thread.join()` of a sleeping thread"),
    "recv": (1, "`socket.recv` on an idle socket"),
    "python": (10**9, "a pure-Python loop"),
    "regex": (25, "a catastrophic regex (`re` checks for signals)"),
    "pbkdf2": (5_000_000, "`hashlib.pbkdf2_hmac`, 5M iterations (C, GIL released)"),
    "sum": (100_000_000, "`sum(range(10**8))` (one C call)"),
    "sqlite": (10_000_000, "a 10M-row recursive SQLite query"),
}


def once(python: str, script: str, kind: str, home: str) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTELEMETRY_")}
    env.update(AUTOTELEMETRY_HOME=home, AUTOTELEMETRY_ALLOW="latency_cli")
    proc = subprocess.Popen(
        [python, script, kind, "--size", str(KINDS[kind][0])],
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    assert proc.stderr is not None and proc.stderr.readline() == b"ready\n"
    time.sleep(0.5)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    return time.perf_counter() - sent, proc.returncode


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare", type=Path, default=ENVS / "bare")
    parser.add_argument("--hooked", type=Path, default=ENVS / "hooked")
    parser.add_argument("kinds", nargs="*", default=list(KINDS))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "latency_cli.py")
        Path(script).write_text(CLI)
        print("| blocked in | without us | with autotelemetry |")
        print("|---|---:|---:|")
        for kind in args.kinds:
            cells = []
            for venv in (args.bare, args.hooked):
                home = tempfile.mkdtemp(dir=tmp)
                seconds, status = once(str(venv / "bin" / "python"), script, kind, home)
                cells.append(f"{seconds * 1000:,.0f} ms ({status})")
            print(f"| {KINDS[kind][1]} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
