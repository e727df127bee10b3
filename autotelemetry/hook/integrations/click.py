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

from autotelemetry.hook import allowlist, config, event, namespace, recorder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from typing import Any

#: The modules this integration patches (see the registry in autotelemetry.hook.boot).
WATCHES = ("click.core", "typer._click.core")

_WRAPPED = "__autotelemetry_wrapped__"


def patch(core: "ModuleType") -> None:
    """Instrument one Click ``core`` module, idempotently."""
    context = core.Context
    original = context.__dict__["__init__"]
    if getattr(original, _WRAPPED, False):
        return
    framework = _framework(core)

    def __init__(self, *args, **kwargs):
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
    config.debug(f"patched {core.__name__}")


def _framework(core: "ModuleType") -> "Any":
    """The exception and enum classes of one Click copy (click or typer._click), as a record."""
    package = core.__name__.rpartition(".")[0]
    places = [vars(core), vars(sys.modules.get(package + ".exceptions", core))]

    def find(name: str) -> type:
        for names in places:
            value = names.get(name)
            if isinstance(value, type):
                return value
        return type("_Missing" + name, (Exception,), {})  # matches nothing

    return namespace.Record(
        Abort=find("Abort"),
        ClickException=find("ClickException"),
        UsageError=find("UsageError"),
        Exit=find("Exit"),
        COMMANDLINE=core.ParameterSource.COMMANDLINE,
    )


def _made_by_make_context() -> bool:
    """Whether the context being initialised comes from ``Command.make_context``.

    Contexts made elsewhere (``ctx.invoke(other)``, help rendering, completion
    helpers) are not part of what the user typed.
    """
    # _note <- __init__ wrapper <- caller (maybe a subclass)
    frame: "FrameType | None" = sys._getframe(3)
    for _ in range(3):
        if frame is None:
            return False
        if frame.f_code.co_name == "make_context":
            return True
        frame = frame.f_back
    return False


def _note(ctx, framework: "Any") -> None:
    if getattr(ctx, "resilient_parsing", False) or not _made_by_make_context():
        return
    invocation = recorder.RECORDER.current()
    if ctx.parent is None:
        # An open argparse invocation means a library parsed sys.argv with argparse
        # before Click's main ran: the Click command is what the user ran, so it
        # takes over (begin replaces the open invocation).
        if invocation is None or invocation.framework == "argparse":
            invocation = recorder.RECORDER.begin(sys.modules[__name__], "click")
            invocation.state["framework"] = framework
            invocation.state["contexts"] = [ctx]
        return
    if invocation is not None and invocation.integration is sys.modules[__name__]:
        contexts = invocation.state["contexts"]
        if any(c is ctx.parent for c in contexts):  # type: ignore[attr-defined]
            contexts.append(ctx)  # type: ignore[attr-defined]


def _click_cause(frame: "FrameType | None") -> "BaseException | None":
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


def _outcome_of(framework: "Any", cause: "Any") -> "dict[str, object]":
    """What Click's exception classes say about how the command ended."""
    inner = getattr(cause, "__cause__", None)
    if isinstance(cause, framework.Exit) and isinstance(inner, KeyboardInterrupt):
        cause = inner  # Typer turns Ctrl-C into Exit(130)
    if isinstance(cause, (KeyboardInterrupt, EOFError, framework.Abort)):
        return {"interrupted": True, "error_type": type(cause).__name__, "cause": cause}
    if isinstance(cause, framework.UsageError):
        return {"usage_error": True, "error_type": type(cause).__name__}
    if isinstance(cause, framework.ClickException):
        return {"error_type": type(cause).__name__}
    if isinstance(cause, (framework.Exit, SystemExit)) or cause is None:
        return {}
    return {"error_type": type(cause).__qualname__}


def describe(invocation: "recorder.Invocation", ending: "recorder.Ending") -> "recorder.Outcome":
    """The integration protocol: the command, flags and outcome Click's contexts recorded."""
    framework: "Any" = invocation.state["framework"]
    cause = ending.cause
    if cause is None:
        cause = _click_cause(ending.frame)
    program = allowlist.program() or "unknown"
    names, flags, root = _walk(invocation.state["contexts"], framework)  # type: ignore[arg-type]
    return recorder.outcome(
        names,
        flags,
        "typer" if _is_typer(root) else "click",
        event.distribution_version([_callback_module(root), program]),  # type: ignore[list-item]
        **_outcome_of(framework, cause),  # type: ignore[arg-type]
    )


def _is_typer(ctx: object) -> bool:
    command = getattr(ctx, "command", None)
    return any(c.__module__.startswith("typer") for c in type(command).__mro__)


def _callback_module(ctx: object) -> "str | None":
    callback = getattr(getattr(ctx, "command", None), "callback", None)
    module = getattr(callback, "__module__", None)
    if not module or module.startswith(("typer", "click")):
        return None
    return module


def _walk(contexts: "list[Any]", framework: "Any"):
    """Canonical command names (below the program) and command-line flags."""
    if not contexts:
        return [], [], None
    root = contexts[0]
    children: "dict[int, list[Any]]" = {}
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


def _canonical_name(ctx) -> str:
    """The registered name of the command a context runs: aliases and prefixes resolved.

    Only names the parent group registered (or lists) are returned, so a
    dynamically created command can never smuggle a typed value into the event.
    """
    parent = ctx.parent
    command = ctx.command
    group = parent.command
    commands = getattr(group, "commands", None)
    if isinstance(commands, dict):
        if commands.get(command.name) is ctx.command:
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


def _flags(ctx, framework) -> "list[str]":
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


def _option_name(param) -> str:
    opts = list(getattr(param, "opts", ())) or [param.name]
    longs = [o for o in opts if o.startswith("--")]
    return longs[0] if longs else max(opts, key=len)


__all__ = ["WATCHES", "describe", "patch"]
