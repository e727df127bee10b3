"""The host side: everything that runs inside users' CLIs.

Boot, allowlist decision, settings, integrations, recorder, event, spool writer,
and the rare paths (crash capture, privacy, the endpoint notice and the sender
spawn). Rules for every module here: standard library only, never raises into
the host, imports nothing outside ``autotelemetry.hook`` (a test enforces it),
and pays for every byte it adds (see docs/design.md). The tool side
(``autotelemetry.cli``, ``store``, ``report``, ``sender``, ``exporters``,
``doctor``) reads what this side writes only through the spool and the store.
"""

import sys as _sys

# Modules registered under our names before this package was imported (the boot
# as ``autotelemetry.hook.boot``) become attributes, as imported submodules are.
for _name in [n for n in _sys.modules if n.startswith(__name__ + ".") and n.count(".") == 2]:
    globals()[_name.rpartition(".")[2]] = _sys.modules[_name]
del _sys
