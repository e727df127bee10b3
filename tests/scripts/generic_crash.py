"""A program driving the recorder the way any framework integration does.

This module is its own integration (a ``describe`` that knows nothing about
crashes), to show crash capture is framework-independent: whatever the
integration reports, an uncaught exception becomes a crash event.
"""

import os
import sys

from autotelemetry.hook import recorder


def describe(invocation, ending):
    return recorder.outcome(["sub"], [], "argparse", None)


def work(text):
    where = os.path.join(os.path.expanduser("~"), "notes.txt")
    raise PermissionError(f"{where}: {text}")


recorder.begin(sys.modules[__name__], "argparse")
if sys.argv[1:2] == ["exit"]:
    sys.exit(3)
work(" ".join(sys.argv[1:]))
