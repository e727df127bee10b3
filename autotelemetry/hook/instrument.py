"""The once-per-process decision, and handing each framework to its integration.

The boot's finder hands every import of a module in its registry
(:data:`autotelemetry.hook.boot.INTEGRATIONS`) to :func:`find_spec`. That
decides, once per process, whether this program is instrumented at all
(:func:`should_instrument`: allowlisted or started by `autotelemetry run`, then
the settings); only then does it arrange for :func:`on_import` to give the
module to its integration right after the module has executed. A program that
is not allowlisted pays one small file read and nothing else: its framework is
never touched.
"""

import sys

from autotelemetry.hook import allowlist, boot, config, identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    #: What :func:`_stand_aside` hands :func:`_stand_back`: the finder that followed the
    #: boot, and the boot's index.
    Aside = tuple[Any, int]

_decision: "list[bool]" = []


def should_instrument() -> bool:
    """Whether this process records events; decided once, on first need.

    In order: the program must be allowlisted (or started by `autotelemetry
    run`); then the settings may still say no: disabled (globally or for this
    CLI), the per-CLI opt-out variable, the CI policy, sampling
    (:func:`config.skip_reason`). A "no" patches nothing, so it costs nothing.
    """
    if _decision:
        return _decision[0]
    name = identity.program()
    entry = allowlist.listing()
    on = entry is not None
    reason = entry if isinstance(entry, str) else None
    if entry is not None and not isinstance(entry, str):
        reason = f"{entry.pattern!r} in {entry.source}"
    skipped = None
    if on:
        # Only allowlisted programs pay for reading settings (a stat per missing file).
        try:
            skipped = config.skip_reason(
                name,  # type: ignore[arg-type]
                config.current_settings(),
                forced=bool(boot.state["forced"]),
            )
        except Exception as exc:
            skipped = f"settings could not be read ({type(exc).__name__})"
        on = skipped is None
    _decision.append(on)
    if config.debug_enabled():
        if on:
            verdict = f"instrumenting ({reason})"
        elif skipped:
            verdict = f"not instrumenting: {skipped}"
        else:
            verdict = "not allowlisted, not instrumenting"
        sys.stderr.write(f"autotelemetry: program {name!r}: {verdict}\n")
    return on


def integration(module_name: str) -> "ModuleType | None":
    """The integration module (``patch``/``describe``) registered for a framework module."""
    name = boot.INTEGRATIONS.get(module_name)
    if name is None:
        return None
    # Built into the hot module already (it registers its sources' names), or from
    # the package: a second framework in one process binds to this module's state.
    found = sys.modules.get("autotelemetry.hook.integrations." + name)
    if found is None:
        found = __import__("autotelemetry.hook.integrations." + name, fromlist=("_",))
    return found


def on_import(name: str, module: "ModuleType") -> None:
    """Patch ``module`` (a framework module of the registry) if this program is instrumented."""
    if not should_instrument():
        return
    found = integration(name)
    if found is not None:
        found.patch(module)


def find_spec(name: str, path: object = None, target: object = None) -> object:
    """The boot finder's work for a framework module: its real spec, loader wrapped.

    The spec comes from the finders after ours, so import semantics stay the
    interpreter's own; we never create modules. Never raises: any problem means
    the module loads untouched.
    """
    try:
        if not should_instrument():
            return None
        for finder in sys.meta_path:
            finder_find_spec = getattr(finder, "find_spec", None)
            if finder_find_spec is None or finder_find_spec is boot.find_spec:
                continue  # ourselves
            spec = finder_find_spec(name, path, target)
            if spec is not None:
                _wrap_loader(spec)
                return spec
    except Exception as exc:
        config.debug(f"cannot instrument {name} ({type(exc).__name__}: {exc})")
    return None


def _wrap_loader(spec: object) -> None:
    loader = spec.loader  # type: ignore[attr-defined]
    original = getattr(loader, "exec_module", None)
    if original is None:
        return

    def exec_module(module: "ModuleType") -> None:
        # Remove ourselves first: a loader instance may be shared (zipimport), and
        # modules the framework imports while executing must load untouched.
        try:
            del loader.exec_module
        except AttributeError:
            pass
        aside = _stand_aside()
        try:
            original(module)
        finally:
            _stand_back(aside, spec.name)  # type: ignore[attr-defined]
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


def _stand_aside() -> "Aside | None":
    """Take the boot's finder off ``sys.meta_path`` while a framework module's body runs.

    Its own imports (Click's core imports ~50 modules, argparse's ~20) are none of ours
    to watch, and the finder costs each ~2k instructions (importlib takes the import
    lock around every finder). ``sys.meta_path`` is rebound, never mutated: an import
    in progress iterates the list it read (see :func:`handover.retire`). Returns the
    finder that followed the boot and the boot's index (``None``: it was not there).
    """
    meta = sys.meta_path
    for index, finder in enumerate(meta):
        if finder is boot:
            follower = meta[index + 1] if index + 1 < len(meta) else None
            sys.meta_path = meta[:index] + meta[index + 1 :]  # no call: one consistent copy
            return follower, index
    return None


def _stand_back(aside: "Aside | None", loading: str) -> None:
    """The finder back in front of the finder that followed it (gone: at its old index),
    so the host's order stays the host's, whatever the body did to the list; a watched
    module loaded meanwhile (by the framework's body, or another thread) is patched in
    place (patching is idempotent). A watched module whose body is still running in
    another thread is not patched half-built: it runs uninstrumented. Never raises.
    """
    if aside is None:
        return
    try:
        follower, at = aside
        meta = sys.meta_path
        # Found in C and rebuilt with no call or loop in between (under the GIL a thread
        # switch happens only there): what another thread adds meanwhile is kept.
        ids = list(map(id, meta))
        if id(boot) not in ids:  # (the body may have put it back itself)
            if follower is not None and id(follower) in ids:
                at = ids.index(id(follower))
            sys.meta_path = [*meta[:at], boot, *meta[at:]]
    except Exception:
        pass
    for name in boot.INTEGRATIONS:
        try:
            module = sys.modules.get(name)
            if name == loading or module is None:
                continue
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                continue
            on_import(name, module)
        except Exception:
            pass
