"""Framework integrations, one module per framework (as sentry-python keeps them).

The boot's finder hands every import of a watched framework module to
:func:`find_spec`. That decides, once per process, whether this program is
instrumented at all (allowlist, or `autotelemetry run`); only then does it
arrange for :func:`on_import` to give the module to its integration right
after the module has executed. A program that is not allowlisted pays one
small file read and nothing else: its framework is never touched.
"""

import sys

from autotelemetry import config
from autotelemetry._boot import find_spec as boot_find_spec
from autotelemetry._boot import state as boot_state

_decision: "dict[str, object]" = {}


def _runpy_module_name() -> "str | None":
    """The module of ``python -m MOD`` while runpy is still importing its package.

    Before runpy has set up ``__main__`` (while ``pkg/__init__.py`` runs),
    ``sys.argv[0]`` is just ``-m``; runpy's frame holds the module name.
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_run_module_as_main" and code.co_filename.endswith("runpy.py"):
            name = frame.f_locals.get("mod_name")
            if isinstance(name, str):
                return name[: -len(".__main__")] if name.endswith(".__main__") else name
        frame = frame.f_back
    return None


def program() -> "str | None":
    """The name this process is recorded under (see :func:`config.program_name`)."""
    if "program" not in _decision:
        name = config.program_name()
        if name is None and sys.argv[:1] == ["-m"]:
            name = _runpy_module_name()
        _decision["program"] = name
    return _decision["program"]  # type: ignore[return-value]


def should_instrument() -> bool:
    """Whether this process records events; decided once, on first need.

    In order: the program must be allowlisted (or started by `autotelemetry
    run`); then the settings may still say no: disabled (globally or for this
    CLI), the per-CLI opt-out variable, the CI policy, sampling
    (:func:`config.skip_reason`). A "no" patches nothing, so it costs nothing.
    """
    if "on" in _decision:
        return _decision["on"]  # type: ignore[return-value]
    name = program()
    reason = None
    if name is None or name in config.NEVER:
        on = False
    elif boot_state["forced"]:
        on, reason = True, "autotelemetry run"
    else:
        entry = config.is_allowlisted(name, config.current_allowlist())
        on = entry is not None
        if entry is not None:
            reason = f"{entry.pattern!r} in {entry.source}"
    skipped = None
    if on:
        # Only allowlisted programs pay for reading settings (a stat per missing file).
        try:
            skipped = config.skip_reason(
                name,  # type: ignore[arg-type]
                config.current_settings(),
                forced=bool(boot_state["forced"]),
            )
        except Exception as exc:
            skipped = f"settings could not be read ({type(exc).__name__})"
        on = skipped is None
    _decision["on"] = on
    if config.debug_enabled():
        if on:
            verdict = f"instrumenting ({reason})"
        elif skipped:
            verdict = f"not instrumenting: {skipped}"
        else:
            verdict = "not allowlisted, not instrumenting"
        sys.stderr.write(f"autotelemetry: program {name!r}: {verdict}\n")
    return on


def on_import(name: str, module: object) -> None:
    """Patch ``module`` (a watched framework module) if this program is instrumented."""
    if not should_instrument():
        return
    if name in ("click.core", "typer._click.core"):
        from autotelemetry.instrument import click

        click.patch(module)
    elif name == "argparse":
        try:
            from autotelemetry.instrument import argparse
        except ImportError:
            return
        argparse.patch(module)


def find_spec(name: str, path: object = None, target: object = None) -> object:
    """The boot finder's work for a watched module: its real spec, loader wrapped.

    The spec comes from the finders after ours, so import semantics stay the
    interpreter's own; we never create modules. Never raises: any problem means
    the module loads untouched.
    """
    try:
        if not should_instrument():
            return None
        for finder in sys.meta_path:
            finder_find_spec = getattr(finder, "find_spec", None)
            if finder_find_spec is None or finder_find_spec is boot_find_spec:
                continue  # ourselves
            spec = finder_find_spec(name, path, target)
            if spec is not None:
                _wrap_loader(spec)
                return spec
    except Exception as exc:
        debug(f"cannot instrument {name} ({type(exc).__name__}: {exc})")
    return None


def _wrap_loader(spec: object) -> None:
    loader = spec.loader  # type: ignore[attr-defined]
    original = getattr(loader, "exec_module", None)
    if original is None:
        return

    def exec_module(module: object) -> None:
        # Remove ourselves first: a loader instance may be shared (zipimport), and
        # modules the framework imports while executing must load untouched.
        try:
            del loader.exec_module
        except AttributeError:
            pass
        original(module)
        if getattr(module, "__name__", None) == spec.name:  # type: ignore[attr-defined]
            try:
                on_import(spec.name, module)  # type: ignore[attr-defined]
            except Exception as exc:  # never break the host
                if config.debug_enabled():
                    import traceback

                    sys.stderr.write(f"autotelemetry: failed to instrument {module!r} ({exc})\n")
                    traceback.print_exc()

    try:
        loader.exec_module = exec_module
    except (AttributeError, TypeError):
        pass


def debug(message: str) -> None:
    if config.debug_enabled():
        sys.stderr.write("autotelemetry: " + message + "\n")


__all__ = ["debug", "find_spec", "on_import", "program", "should_instrument"]
