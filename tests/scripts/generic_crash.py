"""A program driving the recorder the way any framework integration does.

The argparse integration is being built in parallel; this stands in for it
(a describe() that knows nothing about crashes) to show crash capture is
framework-independent: whatever the integration reports, an uncaught
exception becomes a crash event.
"""

import os
import sys

from autotelemetry import recorder


def describe(invocation, code, cause, frame):
    return {
        "program": "generic_crash.py",
        "command": ["sub"],
        "flags": [],
        "exit_code": code,
        "status": "success" if code == 0 else "failure",
        "error_type": None,
        "version": None,
        "framework": "argparse",
    }


def work(text):
    where = os.path.join(os.path.expanduser("~"), "notes.txt")
    raise PermissionError(f"{where}: {text}")


recorder.begin("argparse", describe)
if sys.argv[1:2] == ["exit"]:
    sys.exit(3)
work(" ".join(sys.argv[1:]))
