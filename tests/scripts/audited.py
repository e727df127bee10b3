"""Run a console script with an audit hook that logs every file operation under the home.

usage: python audited.py LOG SCRIPT [ARGS...]

Each ``open`` (path and flags, whether from ``os.open`` or ``open()``), ``os.rename``
(``os.replace`` too), ``os.mkdir``, ``os.symlink``, ``os.chmod`` and ``os.utime`` whose
path lies under ``$AUTOTELEMETRY_HOME`` (or ``$AUDITED_ROOT``, when set) is appended to LOG
as one JSON line. Operations
in C (SQLite's own files) are not audited by Python and do not appear.
"""

import json
import os
import runpy
import sys

log_path, script, *args = sys.argv[1:]
home = os.path.realpath(os.environ.get("AUDITED_ROOT") or os.environ["AUTOTELEMETRY_HOME"]) + os.sep
log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # before the hook
WATCHED = {"open", "os.rename", "os.mkdir", "os.symlink", "os.chmod", "os.utime"}


def _ours(path: object) -> bool:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return isinstance(path, str) and os.path.abspath(path).startswith(home)


def hook(event: str, a: tuple) -> None:
    if event not in WATCHED or not a or not _ours(a[0]):
        return
    if event == "open":
        record = {"op": "open", "path": a[0], "flags": a[2] if len(a) > 2 else 0}
    elif event == "os.rename":
        record = {"op": "rename", "path": a[0], "to": a[1]}
    elif event == "os.mkdir":
        record = {"op": "mkdir", "path": a[0], "mode": a[1]}
    else:
        record = {"op": event[3:], "path": a[0]}
    os.write(log, (json.dumps(record) + "\n").encode())


sys.addaudithook(hook)
sys.argv = [script, *args]
runpy.run_path(script, run_name="__main__")
