"""Interpreter-start hook: the only code every Python process in the environment runs.

`autotelemetry.pth` (and the PEP 829 `autotelemetry.start`) call :func:`activate`
while ``site`` processes site-packages. Every byte here is paid by every
interpreter start, so this module imports nothing (``os`` and ``sys`` are
loaded already), reads no file and decides nothing about the allowlist. It:

1. returns at once when telemetry is switched off or the process is a
   shell-completion run (the fast form of :func:`values.disabled_reason`,
   on the environment's raw bytes; a test checks they agree);
2. notes the start time (the start of every event's ``duration_ms``);
3. puts itself on ``sys.meta_path`` as a finder that hands the framework
   modules of :data:`INTEGRATIONS` (and nothing else) to
   :func:`autotelemetry.hook.handover.find_spec` when, if ever, they load.

The wheel ships this file twice: as ``autotelemetry/hook/boot.py`` and, at the
root of site-packages, as ``_autotelemetry_boot.py`` (built without its
docstrings by tools/amalgamate.py), which the ``.pth`` line imports. Whichever
name loads first registers itself under the other, so the process has ONE boot
module and one ``state`` (see the end of this file).
"""

import os
import sys

#: The integration registry: each framework module whose loading triggers
#: instrumentation, and the integration (``autotelemetry.hook.integrations.X``)
#: that patches it. Each integration lists the same names in its ``WATCHES``.
INTEGRATIONS = {"click.core": "click", "typer._click.core": "click", "argparse": "argparse"}

#: Environment variable `autotelemetry run` sets for the one process it starts.
RUN_VARIABLE = "AUTOTELEMETRY_RUN"

#: Filled by activate(): the perf_counter at start, whether the process was
#: started by `autotelemetry run`.
state = {"active": False, "forced": False, "t0": 0.0}


def find_spec(name, path=None, target=None):
    """Meta-path finder protocol: only the :data:`INTEGRATIONS` modules are looked at.

    This module is itself the finder (``sys.meta_path`` holds the module): a
    class and an instance would cost more at every start than all the rest.
    """
    if name in INTEGRATIONS:
        try:
            handover = sys.modules.get("autotelemetry.hook.handover") or load(
                "_autotelemetry_handover"
            )
            if handover is None:  # an editable install or a source checkout
                from autotelemetry.hook import handover
            return handover.find_spec(name, path, target)
        except Exception:
            pass
    return None


#: Where the wheel puts the built modules but the boot, under site-packages: a directory
#: of the package, not on ``sys.path`` (an entry at the root of site-packages costs every
#: Python process ~5.3k instructions, listed by ``site`` and by the import system).
BUILT = "autotelemetry" + os.sep + "built"


def load(name):
    """Built module ``name`` of ours, executed (``None``: there is none; use the sources).

    The import machinery costs a host about 0.35M instructions per module before
    the module's own code runs (finders, path caches, specs, loaders). For our
    built modules, whose byte-code pip wrote at install time, reading and
    executing that file is all it takes. Anything unusual (no, or a stale,
    byte-code file; a hash-based one; ``-O``) goes through importlib's own source
    loader (``importlib.machinery``'s, loaded by every CPython as
    ``_frozen_importlib_external``), which checks, compiles and writes the
    byte-code as an import would.
    """
    try:
        # From the site-packages root (this file as ``_autotelemetry_boot``; as the
        # package's ``autotelemetry/hook/boot.py``, loaded first only where ``site`` did
        # not run our .pth line, nothing is found: the sources are used).
        built = os.path.dirname(__file__) + os.sep + BUILT + os.sep
        source = built + name + ".py"
        st = os.stat(source)
        cached = built + "__pycache__" + os.sep + name + "." + sys.implementation.cache_tag
        try:
            fd = os.open(cached + ".pyc", os.O_RDONLY)
            try:
                data = os.read(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
        except OSError:
            data = b""
        module = type(sys)(name)
        if (
            sys.flags.optimize
            or data[:4] != sys.modules["_frozen_importlib_external"].MAGIC_NUMBER
            or data[4:8] != b"\0\0\0\0"  # timestamp-based (not hash-based, PEP 552)
            or data[8:12] != (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
            or data[12:16] != (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        ):
            loader = sys.modules["_frozen_importlib_external"].SourceFileLoader(name, source)
            module.__spec__ = sys.modules["_frozen_importlib"].spec_from_loader(name, loader)
            module.__loader__ = loader
            data = b""
        module.__file__ = source
        sys.modules[name] = module
        try:
            if data:
                from marshal import loads  # built in, loaded by the import system itself

                exec(loads(memoryview(data)[16:]), module.__dict__)
            else:
                loader.exec_module(module)
        except BaseException as exc:
            del sys.modules[name]
            if isinstance(exc, Exception):
                return None
            raise  # KeyboardInterrupt, SystemExit: the host's, not ours to swallow
        return module
    except Exception:
        return None


def activate():
    """Install the import hook once per process; cheap and silent (never raises)."""
    if state["active"]:
        return
    try:
        if os.name != "posix":
            # No bytes dictionary to look names up in: the parser's check, from its built
            # module (no package import; it brings the hand-over module, which a framework's
            # import needs anyway), else from the sources.
            values = load("_autotelemetry_values")
            if values is None:  # an editable install or a source checkout
                from autotelemetry.hook import values
            forced = os.environ.pop(RUN_VARIABLE, None) is not None
            if values.disabled_reason() is not None:
                return
        else:
            # POSIX keeps the environment as a dict of bytes: looking names up there
            # avoids decoding every variable at every interpreter start.
            raw = os.environ._data  # type: ignore[attr-defined]
            forced = b"AUTOTELEMETRY_RUN" in raw
            if forced:
                del os.environ[RUN_VARIABLE]  # this process only, not its children
            for value in (raw.get(b"AUTOTELEMETRY_DISABLED"), raw.get(b"DO_NOT_TRACK")):
                if value and value.strip().lower() not in (b"0", b"false", b"no", b"off"):
                    return
            if b"_ARGCOMPLETE" in raw or (b"COMP_LINE" in raw and b"COMP_POINT" in raw):
                return  # argcomplete
            if b"_COMPLETE\0" in b"\0".join(raw) + b"\0":
                for key in raw:  # Click and Typer: _<PROG>_COMPLETE=bash_complete etc.
                    if key[:1] == b"_" and key[-9:] == b"_COMPLETE":
                        return
        from time import perf_counter  # a built-in module, loaded before site runs

        state["active"] = True
        state["forced"] = forced
        state["t0"] = perf_counter()
        sys.meta_path.insert(0, sys.modules[__name__])
        for name in INTEGRATIONS:
            if name in sys.modules:  # imported before the hook: patch it in place
                find_spec(name, None, state)
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
