"""Interpreter-start hook: the only code every Python process in the environment runs.

`autotelemetry.pth` (and the PEP 829 `autotelemetry.start`) call :func:`activate`
while ``site`` processes site-packages. Everything here must be cheap and
stdlib-only: this module imports nothing beyond ``os`` and ``sys`` (already
loaded by the interpreter), decides nothing about the allowlist, and reads no
file. It only:

1. returns at once when telemetry is switched off or the process is a
   shell-completion run;
2. notes the start time (the start of every event's ``duration_ms``);
3. puts a tiny finder on ``sys.meta_path`` that reacts to the framework modules
   (and nothing else) by patching them right after they load.

The allowlist decision happens later, in :mod:`autotelemetry.instrument`, when (if
ever) a framework is imported. A test pins the exact set of modules this
module adds to ``sys.modules``.

The wheel ships this file twice: as ``autotelemetry/_boot.py`` and, at the root
of site-packages, as ``_autotelemetry_boot.py``, which the ``.pth`` line imports
(``import _autotelemetry_boot``: no ``exec``, no package import, about 0.8M fewer
instructions per interpreter start). Whichever name loads first registers
itself under the other, so the process has ONE boot module and one ``state``
(see the end of this file).
"""

import os
import sys

#: Modules whose loading triggers instrumentation.
WATCHED = ("click.core", "typer._click.core", "argparse")

#: Environment variable `autotelemetry run` sets for the one process it starts.
RUN_VARIABLE = "AUTOTELEMETRY_RUN"

_FALSE = ("", "0", "false", "no", "off")

#: Filled by activate(): perf_counter and wall-clock time at start, whether the
#: process was started by `autotelemetry run`.
state = {"active": False, "forced": False, "t0": 0.0, "wall0": 0.0}


def is_true(value):
    """Shared reading of boolean environment variables (``1``, ``true``, ``yes``, ``on``)."""
    return value is not None and value.strip().lower() not in _FALSE


def disabled_reason(environ=os.environ):
    """Why telemetry is off for this process, or ``None`` when it is not.

    Kept here (not in config) because the boot needs it before anything else
    is imported; config and `autotelemetry status` reuse it.
    """
    if is_true(environ.get("AUTOTELEMETRY_DISABLED")):
        return "AUTOTELEMETRY_DISABLED is set"
    if is_true(environ.get("DO_NOT_TRACK")):
        return "DO_NOT_TRACK is set"
    if "_ARGCOMPLETE" in environ or ("COMP_LINE" in environ and "COMP_POINT" in environ):
        return "shell completion run (argcomplete)"
    for key in environ:
        # Click and Typer completion: _<PROG>_COMPLETE=bash_complete etc.
        if key[:1] == "_" and key.endswith("_COMPLETE"):
            return "shell completion run (" + key + ")"
    return None


class _Finder:
    """Meta-path finder that only ever answers for :data:`WATCHED` modules.

    It asks the remaining finders for the real spec and wraps that spec's
    loader so the module is patched as soon as it has executed. It never
    creates modules itself, so import semantics stay the interpreter's own.
    """

    def find_spec(self, name, path=None, target=None):
        if name not in WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        _wrap_loader(spec)
        return spec

    def invalidate_caches(self):
        pass


def _wrap_loader(spec):
    loader = spec.loader
    original = getattr(loader, "exec_module", None)
    if original is None:
        return

    def exec_module(module):
        # Remove ourselves first: a loader instance may be shared (zipimport), and
        # modules the framework imports while executing must load untouched.
        try:
            del loader.exec_module
        except AttributeError:
            pass
        original(module)
        if getattr(module, "__name__", None) == spec.name:
            _patch(spec.name, module)

    try:
        loader.exec_module = exec_module
    except (AttributeError, TypeError):
        pass


def _patch(name, module):
    try:
        from autotelemetry import instrument

        instrument.on_import(name, module)
    except Exception:
        # Never break the host. Debug mode explains what went wrong.
        if is_true(os.environ.get("AUTOTELEMETRY_DEBUG")):
            import traceback

            sys.stderr.write("autotelemetry: failed to instrument %s\n" % name)
            traceback.print_exc()


def activate():
    """Install the import hook once per process; cheap and silent (never raises)."""
    if state["active"]:
        return
    try:
        _activate()
    except Exception:
        pass


def _activate():
    environ = os.environ
    forced = environ.pop(RUN_VARIABLE, None) is not None
    if disabled_reason(environ) is not None:
        return
    from time import perf_counter, time

    state["active"] = True
    state["forced"] = forced
    state["t0"] = perf_counter()
    state["wall0"] = time()
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module)


# One module under both names (see the module docstring). When loaded as the
# site-packages root module by the .pth line, activate right away.
if __name__ == "_autotelemetry_boot":
    _first = sys.modules.get("autotelemetry._boot")
    if _first is not None:  # the package copy loaded first: it owns the state
        sys.modules[__name__] = _first
        _first.activate()
    else:
        sys.modules["autotelemetry._boot"] = sys.modules[__name__]
        activate()
elif "_autotelemetry_boot" not in sys.modules:
    sys.modules["_autotelemetry_boot"] = sys.modules[__name__]
