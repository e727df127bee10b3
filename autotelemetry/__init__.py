"""autotelemetry: usage and crash telemetry for Click, Typer and argparse CLIs.

Importing this package must stay free. The start-up hook does not import it:
the ``.pth`` line imports the boot as the root module ``_autotelemetry_boot``,
which also registers itself as ``autotelemetry._boot``; bind it here so that
``autotelemetry._boot`` works as an attribute too.
"""

import sys as _sys

if "autotelemetry._boot" in _sys.modules:
    _boot = _sys.modules["autotelemetry._boot"]
del _sys

__version__ = "0.1.0"
