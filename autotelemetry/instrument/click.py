"""Click and Typer instrumentation.

Patched once per Click ``core`` module: ``click.core`` and, for Typer ≥ 0.26,
its vendored copy ``typer._click.core`` (Typer built on Click needs nothing
more: its classes are Click's).

Exactly one thing is patched: ``Context.__init__``. Every context Click
creates while parsing (in ``make_context``) is remembered; contexts carry the
command tree the CLI registered and the source of every parameter, which is
all the event needs. The outcome is observed by :mod:`autotelemetry.recorder`
at ``sys.exit`` or at interpreter exit, never by wrapping ``main``: a wrapper
would sit on the path of every propagating exception and change the traceback
the user sees.

Names come only from the command tree the CLI registered; values never.
"""

import sys

from autotelemetry import instrument, recorder

_WRAPPED = "__autotelemetry_wrapped__"


def patch(core: object) -> None:
    """Instrument one Click ``core`` module, idempotently."""
    context = core.Context  # type: ignore[attr-defined]
    original = context.__dict__["__init__"]
    if getattr(original, _WRAPPED, False):
        return
    framework = _Framework(core)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        try:
            _note(self, framework)
        except Exception:
            pass

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    __init__.__doc__ = original.__doc__
    __init__.__qualname__ = original.__qualname__
    setattr(__init__, _WRAPPED, True)
    context.__init__ = __init__
    instrument.debug(f"patched {core.__name__}")  # type: ignore[attr-defined]


class _Framework:
    """The exception and enum classes of one Click copy (click or typer._click)."""

    def __init__(self, core: object) -> None:
        package = core.__name__.rpartition(".")[0]  # type: ignore[attr-defined]
        places = [vars(core), vars(sys.modules.get(package + ".exceptions", core))]

        def find(name: str) -> type:
            for namespace in places:
                value = namespace.get(name)
                if isinstance(value, type):
                    return value
            return type("_Missing" + name, (Exception,), {})  # matches nothing

        self.Abort = find("Abort")
        self.ClickException = find("ClickException")
        self.UsageError = find("UsageError")
        self.Exit = find("Exit")
        self.COMMANDLINE = core.ParameterSource.COMMANDLINE  # type: ignore[attr-defined]


def _made_by_make_context() -> bool:
    """Whether the context being initialised comes from ``Command.make_context``.

    Contexts made elsewhere (``ctx.invoke(other)``, help rendering, completion
    helpers) are not part of what the user typed.
    """
    frame = sys._getframe(3)  # _note <- __init__ wrapper <- caller (maybe a subclass)
    for _ in range(3):
        if frame is None:
            return False
        if frame.f_code.co_name == "make_context":
            return True
        frame = frame.f_back
    return False


def _note(ctx, framework: _Framework) -> None:  # type: ignore[no-untyped-def]
    if getattr(ctx, "resilient_parsing", False) or not _made_by_make_context():
        return
    invocation = recorder.current()
    if ctx.parent is None:
        # An open argparse invocation means a library parsed sys.argv with argparse
        # before Click's main ran: the Click command is what the user ran, so it
        # takes over (begin replaces the open invocation).
        if invocation is None or invocation.framework == "argparse":
            invocation = recorder.begin("click", _describe)
            invocation.data["framework"] = framework
            invocation.contexts.append(ctx)
        return
    if invocation is not None and any(c is ctx.parent for c in invocation.contexts):
        invocation.contexts.append(ctx)


def _click_cause(frame):  # type: ignore[no-untyped-def]
    """What Click ≥ 8.2's ``main`` was about to report when it called ``sys.exit``.

    That ``main`` leaves its ``except`` blocks before exiting, so the handled
    exception is gone; the pending ``report`` callable still names it.
    """
    if frame is None or frame.f_code.co_name not in ("main", "_main"):
        return None
    report = frame.f_locals.get("report")
    target = getattr(report, "__self__", None)
    if isinstance(target, BaseException):
        return target
    if getattr(report, "__name__", "") == "_echo_aborted":
        return KeyboardInterrupt()
    return None


def _classify(frame: _Framework, cause: "object", code: int):  # type: ignore[no-untyped-def]
    """(status, error_type) for the exception that ended the command, given the exit code."""
    if isinstance(cause, frame.Exit) and isinstance(cause.__cause__, KeyboardInterrupt):
        cause = cause.__cause__  # Typer turns Ctrl-C into Exit(130)
    if isinstance(cause, (KeyboardInterrupt, EOFError, frame.Abort)):
        return "interrupted", type(cause).__name__
    if code == 0:
        return "success", None
    if isinstance(cause, frame.UsageError):
        return "usage_error", type(cause).__name__
    if isinstance(cause, frame.ClickException):
        return "failure", type(cause).__name__
    if isinstance(cause, (frame.Exit, SystemExit)) or cause is None:
        return "failure", None
    return (
        "crash" if code == 1 and cause is getattr(sys, "last_value", None) else "failure",
        type(cause).__qualname__,
    )


def _describe(invocation, code, cause, caller):  # type: ignore[no-untyped-def]
    framework = invocation.data["framework"]
    if cause is None:
        cause = _click_cause(caller)
    status, error_type = _classify(framework, cause, code)
    program = instrument.program() or "unknown"
    names, flags, root = _walk(invocation, framework)
    return {
        "program": program,
        "command": names,
        "flags": flags,
        "exit_code": code,
        "status": status,
        "error_type": error_type,
        "version": recorder.distribution_version([_callback_module(root), program]),
        "framework": "typer" if _is_typer(root) else "click",
    }


def _is_typer(ctx: object) -> bool:
    command = getattr(ctx, "command", None)
    return any(c.__module__.startswith("typer") for c in type(command).__mro__)


def _callback_module(ctx: object) -> "str | None":
    callback = getattr(getattr(ctx, "command", None), "callback", None)
    module = getattr(callback, "__module__", None)
    if not module or module.startswith(("typer", "click")):
        return None
    return module


def _walk(invocation, framework):  # type: ignore[no-untyped-def]
    """Canonical command names (below the program) and command-line flags."""
    contexts = invocation.contexts
    if not contexts:
        return [], [], None
    root = contexts[0]
    children: dict[int, list[object]] = {}
    for ctx in contexts[1:]:
        children.setdefault(id(ctx.parent), []).append(ctx)
    names: list[str] = []
    flags: list[str] = []
    stack = [root]
    while stack:
        ctx = stack.pop()
        flags.extend(_flags(ctx, framework))
        kids = children.get(id(ctx), [])
        names.extend(_canonical_name(kid) for kid in kids)
        stack.extend(reversed(kids))
    return names, flags, root


def _canonical_name(ctx) -> str:  # type: ignore[no-untyped-def]
    """The registered name of the command a context runs: aliases and prefixes resolved.

    Only names the parent group registered (or lists) are returned, so a
    dynamically created command can never smuggle a typed value into the event.
    """
    parent = ctx.parent
    command = ctx.command
    group = parent.command
    commands = getattr(group, "commands", None)
    if isinstance(commands, dict):
        if commands.get(command.name) is command:
            return command.name
        for key, value in commands.items():
            if value is command:
                return key
    try:
        if command.name in group.list_commands(parent):
            return command.name
    except Exception:
        pass
    return "(unlisted)"


def _flags(ctx, framework) -> "list[str]":  # type: ignore[no-untyped-def]
    out = []
    try:
        params = ctx.command.get_params(ctx)
    except Exception:
        params = getattr(ctx.command, "params", [])
    for param in params:
        if getattr(param, "param_type_name", None) != "option" or not param.name:
            continue
        try:
            source = ctx.get_parameter_source(param.name)
        except Exception:
            continue
        if source is framework.COMMANDLINE:
            out.append(_option_name(param))
    return out


def _option_name(param) -> str:  # type: ignore[no-untyped-def]
    opts = list(getattr(param, "opts", ())) or [param.name]
    longs = [o for o in opts if o.startswith("--")]
    return longs[0] if longs else max(opts, key=len)


__all__ = ["patch"]
