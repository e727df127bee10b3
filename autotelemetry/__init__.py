"""autotelemetry: usage and crash telemetry for Click, Typer and argparse CLIs.

Two layers: :mod:`autotelemetry.hook` runs inside users' CLIs (standard library
only); everything else is the tool side (the `autotelemetry` command, the store,
the report, the sender). Importing this package must stay free: the start-up
hook never imports it unless a program is instrumented.
"""

import sys as _sys

# The boot registers itself as ``autotelemetry.hook.boot`` before this package is
# imported; bind the host-side package so that name works as an attribute path too
# (``import autotelemetry.hook.boot as b``).
if "autotelemetry.hook.boot" in _sys.modules:
    from autotelemetry import hook as hook
del _sys

__version__ = "0.1.0"
