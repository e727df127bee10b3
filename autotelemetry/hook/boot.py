"""Interpreter-start hook: the only code every Python process in the environment runs.

`autotelemetry.pth` (and the PEP 829 `autotelemetry.start`) call :func:`activate`
while ``site`` processes site-packages. Everything here must be cheap and
stdlib-only: this module imports nothing beyond ``os`` and ``sys`` (already
loaded by the interpreter), decides nothing about the allowlist, and reads no
file. It only:

1. returns at once when telemetry is switched off or the process is a
   shell-completion run;
2. notes the start time (the start of every event's ``duration_ms``);
3. puts itself on ``sys.meta_path`` as a finder that hands the framework
   modules of :data:`INTEGRATIONS` (and nothing else) to
   :mod:`autotelemetry.hook.instrument` when, if ever, they are imported.

Every byte of code here is paid by every interpreter start (unmarshalling
costs about 18 instructions per byte of bytecode), so the loader wrapping and
the allowlist decision live in :mod:`autotelemetry.hook.instrument`. A test
pins the exact set of modules this module adds to ``sys.modules``.

The wheel ships this file twice: as ``autotelemetry/hook/boot.py`` and, at the
root of site-packages, as ``_autotelemetry_boot.py``, which the ``.pth`` line
imports (``import _autotelemetry_boot``: no ``exec``, no package import).
Whichever name loads first registers itself under the other, so the process
has ONE boot module and one ``state`` (see the end of this file).
"""

import os
import sys

#: The integration registry: each framework module whose loading triggers
#: instrumentation, and the integration (``autotelemetry.hook.integrations.X``)
#: that patches it. Each integration lists the same names in its ``WATCHES``.
INTEGRATIONS = {"click.core": "click", "typer._click.core": "click", "argparse": "argparse"}

#: Environment variable `autotelemetry run` sets for the one process it starts.
RUN_VARIABLE = "AUTOTELEMETRY_RUN"

#: Filled by activate(): perf_counter and wall-clock time at start, whether the
#: process was started by `autotelemetry run`.
state = {"active": False, "forced": False, "t0": 0.0, "wall0": 0.0}

#: Values of a boolean environment variable that mean "no" (anything else is "yes").
FALSE = ("", "0", "false", "no", "off")


def disabled_reason(environ=os.environ):
    """Why telemetry is off for this process, or ``None`` when it is not.

    Kept here (not in config) because the boot needs it before anything else
    is imported; config and `autotelemetry status` reuse it.
    """
    for name in ("AUTOTELEMETRY_DISABLED", "DO_NOT_TRACK"):
        value = environ.get(name)
        if value is not None and value.strip().lower() not in FALSE:
            return name + " is set"
    if "_ARGCOMPLETE" in environ or ("COMP_LINE" in environ and "COMP_POINT" in environ):
        return "shell completion run (argcomplete)"
    for key in environ:
        # Click and Typer completion: _<PROG>_COMPLETE=bash_complete etc.
        if key[:1] == "_" and key.endswith("_COMPLETE"):
            return "shell completion run (" + key + ")"
    return None


def find_spec(name, path=None, target=None):
    """Meta-path finder protocol: only the :data:`INTEGRATIONS` modules are looked at.

    This module is itself the finder (``sys.meta_path`` holds the module): a
    class and an instance would cost more at every start than all the rest.
    (``invalidate_caches`` is optional in the protocol; there is no cache.)
    """
    if name in INTEGRATIONS:
        try:
            from autotelemetry.hook import instrument
        except Exception:
            return None
        return instrument.find_spec(name, path, target)
    return None


def activate():
    """Install the import hook once per process; cheap and silent (never raises)."""
    if state["active"]:
        return
    try:
        environ = os.environ
        # POSIX keeps the environment as a dict of bytes: looking names up there
        # avoids decoding every variable at every interpreter start.
        raw = getattr(environ, "_data", None) if os.name == "posix" else None
        if raw is None:
            forced = environ.pop(RUN_VARIABLE, None) is not None
            if disabled_reason(environ) is not None:
                return
        else:
            forced = b"AUTOTELEMETRY_RUN" in raw
            if forced:
                del environ[RUN_VARIABLE]  # this process only, not its children
            if (
                b"AUTOTELEMETRY_DISABLED" in raw
                or b"DO_NOT_TRACK" in raw
                or b"_ARGCOMPLETE" in raw
                or b"COMP_LINE" in raw
                or b"_COMPLETE\0" in b"\0".join(raw) + b"\0"
            ) and disabled_reason(environ) is not None:
                return
        from time import perf_counter, time

        state["active"] = True
        state["forced"] = forced
        state["t0"] = perf_counter()
        state["wall0"] = time()
        sys.meta_path.insert(0, sys.modules[__name__])
        for name in INTEGRATIONS:
            if name in sys.modules:  # imported before the hook: patch in place
                from autotelemetry.hook import instrument

                instrument.on_import(name, sys.modules[name])
    except Exception:
        pass


# One module under both names (see the module docstring). When loaded as the
# site-packages root module by the .pth line, activate right away.
if __name__ == "_autotelemetry_boot":
    _first = sys.modules.get("autotelemetry.hook.boot")
    if _first is not None:  # the package copy loaded first: it owns the state
        sys.modules[__name__] = _first
        _first.activate()
    else:
        sys.modules["autotelemetry.hook.boot"] = sys.modules[__name__]
        activate()
elif "_autotelemetry_boot" not in sys.modules:
    sys.modules["_autotelemetry_boot"] = sys.modules[__name__]
