"""Click and Typer instrumentation (docs/frameworks.md, "Click and Typer").

Patched once per Click ``core`` module: ``click.core`` and, for Typer ≥ 0.26,
its vendored copy ``typer._click.core``. Observed, never wrapped, none on the
path of user code: ``Context.__init__`` (the contexts ``make_context`` makes
carry the command tree the CLI registered), the parser's per-option
``process`` leaf (which registered option, and which side of an on/off
switch, each option on the command line was: the flags), and
``Context.invoked_subcommand``'s assignment in ``Group.invoke`` (the command
resolved before a group callback that may exit early). The outcome is
observed by :mod:`autotelemetry.hook.recorder` at ``sys.exit`` or at exit.

Names come only from the command tree and the options the CLI registered;
values never.
"""

import sys

from autotelemetry.hook import config, event, identity, namespace, recorder

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
    framework.typed = _patch_option_process(core, framework)
    _observe_subcommand(context, framework)
    # Now, not when the command begins: a console script's ``sys.exit(main())``
    # looks ``sys.exit`` up before ``main`` runs (a main that returns a status).
    recorder.observe_exit()
    config.debug(f"patched {core.__name__}")


def _patch_option_process(core: "ModuleType", framework: "Any") -> bool:
    """Observe the parser's per-option ``process`` leaf; False if this Click has none."""
    parser = sys.modules.get(core.__name__.rpartition(".")[0] + ".parser")
    option_class = getattr(parser, "_Option", None) or getattr(parser, "Option", None)
    if not isinstance(option_class, type):
        return False
    process: "Any" = option_class.__dict__.get("process")
    code = getattr(process, "__code__", None)
    if code is None or getattr(process, _WRAPPED, False):
        return False
    if "order" not in code.co_names or "obj" not in code.co_names:
        config.debug(f"{core.__name__}: the parser changed; flags by parameter source")
        return False

    def process_option(self, value, state):
        process(self, value, state)
        try:
            _typed(self, sys._getframe(1), framework)
        except Exception:
            pass

    process_option.__wrapped__ = process  # type: ignore[attr-defined]
    process_option.__doc__ = process.__doc__
    process_option.__name__ = process.__name__
    process_option.__qualname__ = process.__qualname__
    setattr(process_option, _WRAPPED, True)
    option_class.process = process_option  # type: ignore[attr-defined]
    return True


def _typed(option: "Any", caller: "FrameType", framework: "Any") -> None:
    # One option occurrence the parser just processed: ``option`` is its record
    # of one registered side (``obj`` the Click Option); ``caller`` the parser
    # method that matched it, whose ``self.ctx`` says whose parse this is.
    invocation = _invocation_of(getattr(caller.f_locals.get("self"), "ctx", None), framework)
    if invocation is not None:
        name = _side_name(option)
        if name is not None:
            invocation.state.setdefault("flags", []).append(name)  # type: ignore[attr-defined]


def _invocation_of(ctx: "Any", framework: "Any") -> "recorder.Invocation | None":
    """The open Click invocation ``ctx`` belongs to (a context it noted), or ``None``."""
    invocation = recorder.current()
    if invocation is None or invocation.integration is not sys.modules[__name__]:
        return None
    if invocation.state["framework"] is not framework or ctx is None:
        return None
    contexts: "list[Any]" = invocation.state["contexts"]  # type: ignore[assignment]
    for c in contexts:
        if c is ctx:
            return invocation
    return None


def _side_name(option: "Any") -> "str | None":
    """The canonical name of the registered side a parser option stands for."""
    # A --shout/--no-shout switch is one Click Option added to the parser twice
    # (its opts, its secondary_opts): the off side is its own flag, named by its
    # first long name (a short alias of the off side maps to it). Any other
    # option: its own first long name, never another option's of the same name.
    obj = getattr(option, "obj", None)
    if getattr(obj, "param_type_name", None) != "option":
        return None
    strings = [*getattr(option, "_long_opts", ()), *getattr(option, "_short_opts", ())]
    secondary = list(getattr(obj, "secondary_opts", None) or ())
    if secondary and strings:
        for s in strings:
            if s not in secondary:
                break
        else:
            return _canonical_option(secondary)
    return _canonical_option(list(getattr(obj, "opts", None) or ())) or _canonical_option(strings)


def _observe_subcommand(context: type, framework: "Any") -> None:
    """Make ``Context.invoked_subcommand`` a property whose setter notes the command."""
    # Group.invoke resolves the subcommand, sets ctx.invoked_subcommand, then runs
    # the group callback: the setter reads the resolved command object from that
    # frame's ``cmd`` (never the typed word), so a callback that exits early still
    # yields the path the user asked for, by its registered name (see _walk).
    if "invoked_subcommand" in context.__dict__:
        return  # a class attribute or a descriptor of its own: leave it alone

    def get_invoked_subcommand(self):
        try:
            return self.__dict__["invoked_subcommand"]
        except KeyError:
            raise AttributeError("invoked_subcommand") from None

    def set_invoked_subcommand(self, value):
        self.__dict__["invoked_subcommand"] = value
        if value is not None and value != "*":
            try:
                invocation = _invocation_of(self, framework)
                command = sys._getframe(1).f_locals.get("cmd")
                if invocation is not None and command is not None:
                    invocation.state.setdefault("chosen", {})[id(self)] = command  # type: ignore[index]
            except Exception:
                pass

    context.invoked_subcommand = property(  # type: ignore[attr-defined]
        get_invoked_subcommand, set_invoked_subcommand
    )


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
        # Flags come from the parser's option leaf (False: by parameter source).
        typed=False,
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
    invocation = recorder.current()
    if ctx.parent is None:
        # An open argparse invocation means a library parsed sys.argv with argparse
        # before Click's main ran: the Click command is what the user ran, so it
        # takes over (begin replaces the open invocation).
        if invocation is None or invocation.framework == "argparse":
            invocation = recorder.begin(sys.modules[__name__], "click")
            invocation.state["framework"] = framework
            invocation.state["contexts"] = [ctx]
        return
    if invocation is not None and invocation.integration is sys.modules[__name__]:
        contexts = invocation.state["contexts"]
        parent = ctx.parent
        for c in contexts:  # type: ignore[attr-defined]
            if c is parent:
                contexts.append(ctx)  # type: ignore[attr-defined]
                break


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
        return {
            "interrupted": True,
            "error_type": recorder.error_name(cause, False),
            "cause": cause,
        }
    if isinstance(cause, framework.UsageError):
        return {"usage_error": True, "error_type": recorder.error_name(cause, False)}
    if isinstance(cause, framework.ClickException):
        return {"error_type": recorder.error_name(cause, False)}
    if isinstance(cause, (framework.Exit, SystemExit)) or cause is None:
        return {}
    return {"error_type": recorder.error_name(cause)}


def describe(invocation: "recorder.Invocation", ending: "recorder.Ending") -> "recorder.Outcome":
    """The integration protocol: the command, flags and outcome Click's contexts recorded."""
    framework: "Any" = invocation.state["framework"]
    cause = ending.cause
    if cause is None:
        cause = _click_cause(ending.frame)
    program = identity.program() or "unknown"
    names, flags, root = _walk(invocation.state, framework)
    return recorder.outcome(
        names,
        flags,
        "typer" if _is_typer(root) else "click",
        event.distribution_version([_callback_module(root), program]),  # type: ignore[list-item]
        **_outcome_of(framework, cause),  # type: ignore[arg-type]
    )


def _is_typer(ctx: object) -> bool:
    command = getattr(ctx, "command", None)
    for c in type(command).__mro__:
        if c.__module__.startswith("typer"):
            return True
    return False


def _callback_module(ctx: object) -> "str | None":
    callback = getattr(getattr(ctx, "command", None), "callback", None)
    module = getattr(callback, "__module__", None)
    if not module or module.startswith(("typer", "click")):
        return None
    return module


def _walk(state: "dict[str, object]", framework: "Any"):
    """Canonical command names (below the program) and command-line flags."""
    contexts: "list[Any]" = state["contexts"]  # type: ignore[assignment]
    if not contexts:
        return [], [], None
    root = contexts[0]
    chosen: "dict[int, Any]" = state.get("chosen") or {}  # type: ignore[assignment]
    children: "dict[int, list[Any]]" = {}
    for ctx in contexts[1:]:
        children.setdefault(id(ctx.parent), []).append(ctx)
    names: list[str] = []
    flags: list[str] = list(state.get("flags") or ()) if framework.typed else []  # type: ignore[call-overload]
    stack = [root]
    while stack:
        ctx = stack.pop()
        if not framework.typed:
            flags.extend(_flags(ctx, framework))
        kids = children.get(id(ctx), [])
        if kids:
            names.extend(map(_canonical_name, kids))
        elif id(ctx) in chosen:
            # The group callback ended the run before the subcommand's context was made.
            name = _registered_name(ctx, chosen[id(ctx)])
            if name is not None:
                names.append(name)
        stack.extend(reversed(kids))
    return names, flags, root


def _canonical_name(ctx) -> str:
    """The registered name of the command a context runs: aliases and prefixes resolved."""
    name = _registered_name(ctx.parent, ctx.command)
    return "(unlisted)" if name is None else name


def _registered_name(parent, command) -> "str | None":
    """The name ``parent``'s group registered ``command`` under, or ``None``.

    Only names the group registered (or lists) are returned, so a dynamically
    created command can never smuggle a typed value into the event.
    """
    group = parent.command
    name = getattr(command, "name", None)
    commands = getattr(group, "commands", None)
    if isinstance(commands, dict):
        if isinstance(name, str) and commands.get(name) is command:
            return name
        for key, value in commands.items():
            if value is command and isinstance(key, str):
                return key
    try:
        if isinstance(name, str) and name in group.list_commands(parent):
            return name
    except Exception:
        pass
    return None


def _flags(ctx, framework) -> "list[str]":
    """Fallback when the parser leaf could not be observed: options by parameter source."""
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
            name = _canonical_option(list(getattr(param, "opts", ())))
            out.append(name or param.name)
    return out


def _canonical_option(opts: "list[str]") -> "str | None":
    """The first long option string (``--x``), else the longest; ``None`` for none."""
    strings = []
    for o in opts:
        if isinstance(o, str) and o:
            if o.startswith("--"):
                return o  # the first long one
            strings.append(o)
    return max(strings, key=len) if strings else None


__all__ = ["WATCHES", "describe", "patch"]
