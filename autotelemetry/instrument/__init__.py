"""Framework integrations, one module per framework (as sentry-python keeps them).

:func:`on_import` is called by the boot's finder right after a watched module
has executed. It decides, once per process, whether this program is
instrumented at all (allowlist, or `autotelemetry run`), and only then hands
the module to its integration. A program that is not allowlisted pays one
small file read and nothing else: its framework is never touched.
"""

import sys

from autotelemetry import config
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


def debug(message: str) -> None:
    if config.debug_enabled():
        sys.stderr.write("autotelemetry: " + message + "\n")


__all__ = ["debug", "on_import", "program", "should_instrument"]
