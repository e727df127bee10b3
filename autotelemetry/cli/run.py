"""`autotelemetry run`: instrument one invocation of a program, then get out of the way.

The program replaces this process (``exec``), so stdin/stdout/stderr, the
terminal, signals and the exit status are the program's own, exactly. The
one-shot consent travels in ``AUTOTELEMETRY_RUN``, which the boot removes from
the environment as it starts: only that process is instrumented, never the
Python processes it starts in turn. Stdlib only, and run before Click is
imported, so `autotelemetry run` adds no start-up cost of its own.
"""

from __future__ import annotations

import os
import shutil
import sys

from autotelemetry.hook.boot import RUN_VARIABLE

USAGE = (
    "usage: autotelemetry run [--] PROGRAM [ARGS...]  (PROGRAM: a command, -m MODULE, or a script)"
)


def resolve(argv: list[str]) -> list[str] | None:
    """The command line to exec for ``run``'s arguments, or ``None`` if not found."""
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        return None
    program, rest = argv[0], argv[1:]
    if program == "-m":
        return [sys.executable, "-m", *rest] if rest else None
    if program.endswith((".py", ".pyw")) and os.path.isfile(program):
        return [sys.executable, program, *rest]
    if os.sep in program or (os.altsep and os.altsep in program):
        return [program, *rest] if os.path.isfile(program) else None
    # Console scripts of this environment first, then PATH.
    here = os.path.dirname(sys.executable)
    found = shutil.which(program, path=here) or shutil.which(program)
    return [found, *rest] if found else None


def main(argv: list[str]) -> None:
    command = resolve(argv)
    if command is None:
        target = next((a for a in argv if a != "--"), None)
        if target is None:
            sys.stderr.write(USAGE + "\n")
            raise SystemExit(2)
        sys.stderr.write(f"autotelemetry run: {target}: command not found\n")
        raise SystemExit(127)
    env = dict(os.environ)
    env[RUN_VARIABLE] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":  # no exec semantics on Windows: wait and mirror the status
        import subprocess

        raise SystemExit(subprocess.call(command, env=env))
    try:
        os.execve(command[0], command, env)
    except OSError as exc:
        sys.stderr.write(f"autotelemetry run: {command[0]}: {exc.strerror}\n")
        raise SystemExit(126) from None
