"""Click and Typer instrumentation.

Patched once per Click ``core`` module: ``click.core`` and, for Typer ≥ 0.26,
its vendored copy ``typer._click.core``. Typer's own ``TyperCommand`` and
``TyperGroup`` (and any user subclass) are caught by the ``__init_subclass__``
hook we add to the base command class, because they override ``main``.

Three methods are wrapped, on every class that defines them:

- ``main`` owns the invocation: the outermost call starts it and, whatever
  way it ends (return, ``SystemExit``, exception), finishes it and flushes the
  event to the spool before control goes back to the interpreter.
- ``parse_args`` records each context as it is parsed (before parsing, so
  ``--help`` and usage errors, which abort parsing, still leave the context).
- ``invoke`` (with ``parse_args``) notes the exception leaving the framework,
  which is how a ``SystemExit(2)`` is told apart as a usage error: Click ≥ 8.2
  calls ``sys.exit`` outside its ``except`` blocks, so the exit's context does
  not carry the cause.

Names come only from the command tree the CLI registered; values never.
"""

from autotelemetry import instrument, recorder

_WRAPPED = "__autotelemetry_wrapped__"
_METHODS = ("main", "parse_args", "invoke")

#: The invocation in progress (outermost ``main``), per process.
_current: "list[recorder.Invocation]" = []


def patch(core: object) -> None:
    """Instrument the command classes of one Click ``core`` module, idempotently."""
    namespace = vars(core)
    if namespace.get("__autotelemetry_patched__"):
        return
    base = namespace.get("BaseCommand")  # Click < 8.2: the real base class
    if not isinstance(base, type):
        base = namespace["Command"]
    frame = _Framework(core)
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, base):
            _wrap_class(value, frame)
    _hook_subclasses(base, frame)
    core.__autotelemetry_patched__ = True  # type: ignore[attr-defined]
    instrument.debug(f"patched {core.__name__}")  # type: ignore[attr-defined]


class _Framework:
    """The exception and enum classes of one Click copy (click or typer._click)."""

    def __init__(self, core: object) -> None:
        self.Abort = core.Abort  # type: ignore[attr-defined]
        self.ClickException = core.ClickException  # type: ignore[attr-defined]
        self.UsageError = core.UsageError  # type: ignore[attr-defined]
        self.Exit = core.Exit  # type: ignore[attr-defined]
        self.COMMANDLINE = core.ParameterSource.COMMANDLINE  # type: ignore[attr-defined]


def _hook_subclasses(base: type, frame: _Framework) -> None:
    original = base.__dict__.get("__init_subclass__")

    def __init_subclass__(cls, **kwargs):  # type: ignore[no-untyped-def]
        if original is not None:
            original.__func__(cls, **kwargs)
        else:
            super(base, cls).__init_subclass__(**kwargs)
        try:
            _wrap_class(cls, frame)
        except Exception:
            pass

    base.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[method-assign,assignment]


def _wrap_class(cls: type, frame: _Framework) -> None:
    for name in _METHODS:
        fn = cls.__dict__.get(name)
        if fn is None or not callable(fn) or getattr(fn, _WRAPPED, False):
            continue
        wrapper = _WRAPPERS[name](fn, frame)
        for attr in ("__module__", "__name__", "__qualname__", "__doc__", "__dict__"):
            try:
                value = getattr(fn, attr)
            except AttributeError:
                continue
            if attr == "__dict__":
                wrapper.__dict__.update(value)
            else:
                setattr(wrapper, attr, value)
        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        setattr(wrapper, _WRAPPED, True)
        setattr(cls, name, wrapper)


def _wrap_main(fn, frame):  # type: ignore[no-untyped-def]
    def main(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _current:
            return fn(self, *args, **kwargs)
        invocation = recorder.start("click")
        _current.append(invocation)
        try:
            rv = fn(self, *args, **kwargs)
        except SystemExit as exc:
            _finish(invocation, frame, self, exit_exc=exc)
            raise
        except BaseException as exc:
            _finish(invocation, frame, self, escaped=exc)
            raise
        else:
            _finish(invocation, frame, self, returned=rv)
            return rv
        finally:
            del _current[:]

    return main


def _wrap_parse_args(fn, frame):  # type: ignore[no-untyped-def]
    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if _current:
            contexts = _current[0].contexts
            if not any(c is ctx for c in contexts):
                contexts.append(ctx)
        return _watch(fn, self, ctx, args)

    return parse_args


def _wrap_invoke(fn, frame):  # type: ignore[no-untyped-def]
    def invoke(self, ctx, *args, **kwargs):  # type: ignore[no-untyped-def]
        return _watch(fn, self, ctx, *args, **kwargs)

    return invoke


def _watch(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call ``fn``, remembering the exception (if any) that leaves it."""
    if not _current:
        return fn(*args, **kwargs)
    invocation = _current[0]
    try:
        rv = fn(*args, **kwargs)
    except BaseException as exc:
        invocation.error = exc
        raise
    invocation.error = None
    return rv


_WRAPPERS = {"main": _wrap_main, "parse_args": _wrap_parse_args, "invoke": _wrap_invoke}


def _classify(frame: _Framework, cause: "BaseException | None", code: "int | None"):  # type: ignore[no-untyped-def]
    """(status, exit_code, error_type) from the exception that ended the command."""
    if isinstance(cause, (KeyboardInterrupt, EOFError, frame.Abort)):
        if code is None:
            code = 130 if isinstance(cause, KeyboardInterrupt) else 1
        return "interrupted", code, type(cause).__name__
    if isinstance(cause, frame.Exit):
        code = recorder.exit_status(cause.exit_code) if code is None else code
        return ("success" if code == 0 else "failure"), code, None
    if isinstance(cause, frame.UsageError):
        code = cause.exit_code if code is None else code
        return "usage_error", code, type(cause).__name__
    if isinstance(cause, frame.ClickException):
        code = cause.exit_code if code is None else code
        return "failure", code, type(cause).__name__
    if isinstance(cause, SystemExit):
        code = recorder.exit_status(cause.code) if code is None else code
        return ("success" if code == 0 else "failure"), code, None
    if isinstance(cause, BaseException):
        return "crash", 1 if code is None else code, type(cause).__qualname__
    code = 0 if code is None else code
    return ("success" if code == 0 else "failure"), code, None


def _finish(invocation, frame, command, *, exit_exc=None, escaped=None, returned=None):  # type: ignore[no-untyped-def]
    try:
        if exit_exc is not None:
            code = recorder.exit_status(exit_exc.code)
            cause = invocation.error if invocation.error is not None else exit_exc
            if cause is exit_exc or isinstance(cause, SystemExit):
                cause = exit_exc
            status, code, error_type = _classify(frame, cause, code)
        elif escaped is not None:
            status, code, error_type = _classify(frame, escaped, None)
        else:
            # standalone_mode=False: main returns the command's value, or the
            # exit code of an explicit ctx.exit(n).
            code = None
            if isinstance(invocation.error, frame.Exit) and isinstance(returned, int):
                code = returned
            status, code, error_type = _classify(frame, invocation.error, code)
        program = instrument.program() or "unknown"
        names, flags, root = _walk(invocation, frame)
        framework = "typer" if _is_typer(command) else "click"
        invocation.framework = framework
        version = recorder.distribution_version([_callback_module(root), program])
        recorder.finish(
            invocation,
            program=program,
            command=names,
            flags=flags,
            exit_code=code,
            status=status,
            error_type=error_type,
            version=version,
        )
    except Exception as exc:  # never let our bookkeeping reach the host
        instrument.debug(f"could not build the event ({type(exc).__name__}: {exc})")
    recorder.flush()


def _is_typer(command: object) -> bool:
    return any(c.__module__.startswith("typer") for c in type(command).__mro__)


def _callback_module(ctx: object) -> "str | None":
    callback = getattr(getattr(ctx, "command", None), "callback", None)
    module = getattr(callback, "__module__", None)
    if not module or module.startswith(("typer", "click")):
        return None
    return module


def _walk(invocation, frame):  # type: ignore[no-untyped-def]
    """Canonical command names (below the program) and command-line flags."""
    contexts = [c for c in invocation.contexts if not getattr(c, "resilient_parsing", False)]
    if not contexts:
        return [], [], None
    root = contexts[0]
    children: "dict[int, list[object]]" = {}
    known = {id(root)}
    for ctx in contexts[1:]:
        parent = ctx.parent
        if parent is not None and id(parent) in known:
            known.add(id(ctx))
            children.setdefault(id(parent), []).append(ctx)
    names: "list[str]" = []
    flags: "list[str]" = []
    stack = [root]
    while stack:
        ctx = stack.pop()
        flags.extend(_flags(ctx, frame))
        kids = children.get(id(ctx), [])
        for kid in kids:
            names.append(_canonical_name(kid))
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


def _flags(ctx, frame) -> "list[str]":  # type: ignore[no-untyped-def]
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
        if source is frame.COMMANDLINE:
            out.append(_option_name(param))
    return out


def _option_name(param) -> str:  # type: ignore[no-untyped-def]
    opts = list(getattr(param, "opts", ())) or [param.name]
    longs = [o for o in opts if o.startswith("--")]
    return longs[0] if longs else max(opts, key=len)


__all__ = ["patch"]
