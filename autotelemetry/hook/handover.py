"""Handing a framework module over to the recording code: decided once, loaded only if used.

The boot's finder calls :func:`find_spec` when a framework module of its
registry is about to load. Who is running decides first, in two steps: the quick
"no" of :func:`identity.unlisted` (no allowlist source mentions the program),
then, only for a program some source mentions, the allowlist reader. A program
that is not allowlisted never loads the recording code, and the finder retires so
later imports stop paying for it; only then is the framework's hot module loaded
(:func:`require`, through :func:`boot.load`) and given the import.

An installed wheel ships the hot path built into a few modules
(tools/amalgamate.py): ``_autotelemetry_handover`` (this module and
:mod:`identity`), ``_autotelemetry_allowlist`` (the reader and the trusted open)
and one per framework (``_autotelemetry_click``, ``_autotelemetry_argparse``),
each registered under its sources' names. An editable install or a source
checkout has only the sources, which are used instead.
"""

import sys

from autotelemetry.hook import boot, identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType


def find_spec(name: str, path: object = None, target: object = None) -> object:
    """The boot finder's work for framework module ``name`` (``None``: load it untouched).

    A framework imported before the boot activated is handed over here too
    (``target`` is then the boot's ``state``), and patched in place.
    """
    instrument = _instrument(name)
    if instrument is None:
        return None
    if target is boot.state:
        instrument.on_import(name, sys.modules[name])
        return None
    return instrument.find_spec(name, path, target)


def _instrument(name: str) -> "ModuleType | None":
    if identity.unlisted() or require("allowlist", "_autotelemetry_allowlist").listing() is None:
        retire()
        return None
    return require("instrument", "_autotelemetry_" + boot.INTEGRATIONS[name])


#: The built module that holds each host-side module loaded only on a rare path
#: (tools/amalgamate.py builds them; a test keeps this table and the build in step).
RARE = {
    "options": "_autotelemetry_options",
    "values": "_autotelemetry_values",
    "configfile": "_autotelemetry_configfile",
    "crash": "_autotelemetry_crash",
    "privacy": "_autotelemetry_crash",
    "notice": "_autotelemetry_endpoint",
    "spawn": "_autotelemetry_endpoint",
    "launch": "_autotelemetry_launch",
    "tracecontext": "_autotelemetry_tracecontext",
    "exits": "_autotelemetry_exits",
    "eviction": "_autotelemetry_eviction",
}


def lazy(name: str) -> "ModuleType":
    """Host-side module ``name`` of a rare path: crash capture, the endpoint (and the
    sender's start), option values (a setting's variable is set), config files, an exit
    status that differs from the first one seen (or that a builtin ``sys.exit`` looked up
    before the framework's import will get), a terminating signal, a writer's turn to
    enforce the spool's caps.

    From the wheel's built module when there is one (no package import), else
    from the sources. Raises ``ImportError`` when neither loads.
    """
    return require(name, RARE[name])


def require(name: str, built: str) -> "ModuleType":
    """``autotelemetry.hook.<name>``: loaded already, else built module ``built``, else sources."""
    source = "autotelemetry.hook." + name
    module = sys.modules.get(source)
    if module is None:
        boot.load(built)  # None: no built modules (an editable install, a checkout)
        module = sys.modules.get(source)
        if module is None:
            module = __import__(source, fromlist=("_",))
    return module


def retire() -> None:
    """Stop looking at imports: a no-op at once, and off ``sys.meta_path`` for later imports.

    An import in progress (this one; another thread's) iterates the list object it
    read from ``sys.meta_path``: removing the boot from that list would make it skip
    the next finder. So the boot's ``find_spec`` becomes a C-level call that returns
    ``None`` (``BaseException.__init__`` accepts any arguments) for those iterations,
    and ``sys.meta_path`` is rebound to a new list without it, which every later
    import reads: importlib's loop costs ~3.3k instructions per finder per import
    (the import lock taken and released around each call), ~0.2M over a Click
    bystander's imports after the decision (docs/performance.md).
    """
    boot.find_spec = Exception().__init__  # type: ignore[misc]
    finders = []
    for finder in sys.meta_path:
        if finder is not boot:
            finders.append(finder)
    sys.meta_path = finders
