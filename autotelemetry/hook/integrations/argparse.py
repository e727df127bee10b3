"""argparse instrumentation, observed from inside the parse without wrapping it.

Wrapping ``parse_known_args`` would put a frame of ours on the path of every
exception a ``type=`` callable or a custom ``Action`` raises, and the user's
traceback would change. Instead exactly one pure leaf is patched:
``ArgumentParser._get_positional_actions``, which ``_parse_known_args`` calls
once per parse before it consumes any argument, and which never raises nor
runs user code. From there the hook notes the running ``_parse_known_args``
frame and its ``seen_actions`` set: argparse fills that set with every action
the command line triggered (clustered short flags, ``--opt=value``,
abbreviations, ``--no-`` forms, custom prefix characters and the contents of
``@file`` arguments alike). Only the registered option strings of those
actions are ever read; argv tokens and values never are.

Subparser parses are recognised as nested ``_parse_known_args`` frames and
named by the first name the parent registered for them (aliases resolved).
Which parse counts, and how the outcome maps to a status, is decided at the
end (see :func:`describe` and docs/frameworks.md, section "argparse").

Feature detection: when this Python's argparse has no ``seen_actions`` local,
each parse is still noted but yields a top-level-only event (program name,
outcome, no flags); when the leaf itself is missing nothing is patched.
"""

import sys

from autotelemetry.hook import config, event, identity, namespace, recorder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from typing import Protocol

    class _Parse(Protocol):
        """One ``_parse_known_args`` run: its parser, the actions it saw, and its frames.

        A record (:data:`namespace.Record`), not a class: defining one costs every
        instrumented run ~0.1M instructions.
        """

        parser: object
        frame: FrameType
        #: The frame that called ``_parse_known_args`` (``None`` if unknown).
        outer: FrameType | None
        seen: set[object] | None
        parent: "_Parse | None"
        #: Whether this parse reads the command line (False: a list the program built).
        cmdline: object
        #: (action, registered option string) of each on/off switch side taken.
        sides: list[tuple[object, str]]


#: The modules this integration patches (see the registry in autotelemetry.hook.boot).
WATCHES = ("argparse",)

_WRAPPED = "__autotelemetry_wrapped__"
#: How far up the stack a subparser's parse looks for its parent's parse.
_MAX_DEPTH = 24
#: Functions that call ``_parse_known_args`` with the arguments in a local ``args``.
_OUTER_NAMES = ("parse_known_args", "_parse_known_args2")


def _returned(parse: "_Parse") -> bool:
    """Whether the parse returned normally (its result reached the caller's ``args``)."""
    outer = parse.outer
    if outer is None or outer.f_code.co_name not in _OUTER_NAMES:
        return True  # cannot tell: count it
    try:
        extras = parse.frame.f_locals.get("extras")
        return extras is not None and outer.f_locals.get("args") is extras
    except Exception:
        return True


def patch(module: "ModuleType") -> None:
    """Instrument the ``argparse`` module, idempotently."""
    parser_class = module.ArgumentParser
    original = parser_class.__dict__.get("_get_positional_actions")
    inner = parser_class.__dict__.get("_parse_known_args")
    if original is None or inner is None or getattr(original, _WRAPPED, False):
        if original is None or inner is None:
            config.debug("argparse: no hook point on this Python; not instrumented")
        return
    code = getattr(inner, "__code__", None)
    if code is None or "_get_positional_actions" not in code.co_names:
        config.debug("argparse: _parse_known_args changed; not instrumented")
        return
    detailed = "seen_actions" in code.co_cellvars + code.co_varnames
    if not detailed:
        config.debug("argparse: no seen_actions on this Python; top-level events only")
    state = {"code": code, "detailed": detailed, "module": module}

    def _get_positional_actions(self):
        result = original(self)
        try:
            frame = sys._getframe(1)
            if frame.f_code is code:
                _note(self, frame, state)
        except Exception:
            pass
        return result

    _get_positional_actions.__wrapped__ = original  # type: ignore[attr-defined]
    _get_positional_actions.__doc__ = original.__doc__
    _get_positional_actions.__qualname__ = original.__qualname__
    setattr(_get_positional_actions, _WRAPPED, True)
    parser_class._get_positional_actions = _get_positional_actions
    boolean = getattr(module, "BooleanOptionalAction", None)
    if isinstance(boolean, type) and detailed:
        _patch_switch(boolean, state)
    recorder.observe_exit(lambda caller: _late_begin(caller, state))
    config.debug("patched argparse")


def _patch_switch(action_class: type, state: "dict[str, object]") -> None:
    """Observe which side of a ``BooleanOptionalAction`` (``--x``/``--no-x``) was taken.

    Its ``__call__`` is a leaf (it sets one attribute; no user code), called by
    argparse with the *registered* option string it matched (abbreviations
    already expanded), never the typed token.
    """
    original = action_class.__dict__.get("__call__")
    if original is None or getattr(original, _WRAPPED, False):
        return

    def __call__(self, parser, namespace, values, option_string=None):
        original(self, parser, namespace, values, option_string)
        try:
            _switch_side(self, option_string, sys._getframe(1), state)
        except Exception:
            pass

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    __call__.__doc__ = original.__doc__
    __call__.__qualname__ = original.__qualname__
    setattr(__call__, _WRAPPED, True)
    action_class.__call__ = __call__  # type: ignore[method-assign]


def _switch_side(action, option_string, caller, state) -> None:
    """Remember the side taken, on the noted parse that is running it."""
    invocation = recorder.current()
    if invocation is None or invocation.integration is not sys.modules[__name__]:
        return
    if not isinstance(option_string, str) or option_string not in action.option_strings:
        return
    frame = caller
    for _ in range(4):  # take_action <- consume_optional <- _parse_known_args
        if frame is None:
            return
        if frame.f_code is state["code"]:
            break
        frame = frame.f_back
    else:
        return
    for parse in invocation.state["parses"]:  # type: ignore[attr-defined]
        if parse.frame is frame:
            parse.sides.append((action, option_string))
            return


def _from_command_line(frame, outer) -> "bool | None":
    """Whether a parse reads the command line rather than a list the program made up.

    True for ``args=None`` (argparse reads ``sys.argv[1:]``) and for a list whose
    every token is in ``sys.argv[1:]`` (leftovers of an earlier parse); an empty
    list only counts when the command line is empty too (``parse_args([])`` is
    the usual way to get defaults); otherwise it gives ``None``, which still
    counts for a parse the program ends in (twine parses an empty remainder
    with its ``twine check`` parser, which then reports a usage error).
    """
    if outer is not None and outer.f_code.co_name in _OUTER_NAMES:
        tokens = outer.f_locals.get("args")
    else:
        tokens = frame.f_locals.get("arg_strings")
    argv = sys.argv[1:]
    if not isinstance(tokens, list):
        return False
    if not tokens:
        return None if argv else True
    known = set(argv)
    for t in tokens:
        if not (isinstance(t, str) and t in known):
            return False
    return True


def _invocation(frame, state):
    """The open argparse invocation, opened now if none is; ``None`` if another owns the run."""
    invocation = recorder.current()
    if invocation is None:
        invocation = recorder.begin(sys.modules[__name__], "argparse")
        invocation.state["parses"] = []
        invocation.state["module"] = _caller_module(frame, state["module"])
        invocation.state["argparse"] = state["module"]
        invocation.state["hook"] = state
    elif invocation.integration is not sys.modules[__name__]:
        return None  # another framework owns this run (e.g. a Click CLI using argparse inside)
    return invocation


def _note(parser, frame, state, nested_in=None, invocation=None):
    """Remember a ``_parse_known_args`` run that has just scanned its arguments."""
    if invocation is None:
        invocation = _invocation(frame, state)
    if invocation is None:
        return None
    parses = invocation.state["parses"]
    seen = None
    if state["detailed"]:
        seen = frame.f_locals.get("seen_actions")
        if not isinstance(seen, set):
            seen = None
    for known in parses:
        if known.frame is frame:  # already noted
            if seen is not None:
                known.seen = seen
            return known
    outer = frame.f_back
    parent = nested_in
    mine = {}
    for p in parses:
        mine[id(p.frame)] = p
    up = outer if parent is None else None
    for _ in range(_MAX_DEPTH):
        if up is None:
            break
        parent = mine.get(id(up))
        if parent is not None and parent.frame is up:
            break
        parent = None
        up = up.f_back
    cmdline = parent is None and _from_command_line(frame, outer)
    parse = namespace.Record(
        parser=parser, frame=frame, outer=outer, seen=seen, parent=parent, cmdline=cmdline, sides=[]
    )
    parses.append(parse)
    return parse


def _running_frames(caller, state):
    """``_parse_known_args`` frames still running at an exit, outermost first.

    The stack, then the traceback of the exception being handled: from 3.12 a
    failed scan raises ArgumentError, which parse_known_args turns into error().
    """
    frames: "list[FrameType]" = []
    frame = caller
    for _ in range(4 * _MAX_DEPTH):
        if frame is None:
            break
        if frame.f_code is state["code"]:
            frames.insert(0, frame)
        frame = frame.f_back
    tb = getattr(sys.exc_info()[1], "__traceback__", None)
    while tb is not None:
        if tb.tb_frame.f_code is state["code"] and tb.tb_frame not in frames:
            frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _note_running(invocation, frames, state) -> None:
    """Note parses that ended before the hook saw them (each nested in the one before)."""
    parent = None
    for frame in frames:
        parser = frame.f_locals.get("self")
        if parser is not None:
            quiet = {**state, "detailed": False}
            parent = _note(parser, frame, quiet, parent, invocation) or parent


def _late_begin(caller, state):
    """At ``sys.exit`` with no invocation open: was it a parse that failed before the hook?

    Ambiguous abbreviations and unreadable ``@file`` arguments end the parse
    while argparse still scans its arguments, before ``_get_positional_actions``.
    """
    frames = _running_frames(caller, state)
    if not frames:
        return None
    invocation = _invocation(frames[0], state)
    if invocation is not None:
        _note_running(invocation, frames, state)
    return invocation


def _caller_module(frame, module) -> "str | None":
    """The module that asked for the parse (for the CLI's version), argparse skipped."""
    argparse_file = getattr(module, "__file__", None)
    up = frame
    for _ in range(_MAX_DEPTH):
        if up is None:
            return None
        if up.f_code.co_filename != argparse_file:
            name = up.f_globals.get("__name__")
            return name if isinstance(name, str) and name != "__main__" else None
        up = up.f_back
    return None


def _subcommand(parse: "_Parse", child: "_Parse") -> "str | None":
    """The first name ``parse``'s parser registered for ``child``'s parser (aliases resolved)."""
    for action in getattr(parse.parser, "_actions", ()):
        names = getattr(action, "_name_parser_map", None)
        if not isinstance(names, dict):
            continue
        for name, sub in names.items():
            if sub is child.parser and isinstance(name, str):
                return name
    return None


def _chain(parse: "_Parse", parses: "list[_Parse]") -> "tuple[list[str], list[str]]":
    """Subcommand names below ``parse`` and the flags seen along the way."""
    names: list[str] = []
    flags = _flags(parse)
    current = parse
    while True:
        picked = None
        for child in parses:
            if child.parent is current:
                name = _subcommand(current, child)
                if name is not None:
                    picked = (name, child)
        if picked is None:
            return names, flags
        names.append(picked[0])
        flags.extend(_flags(picked[1]))
        current = picked[1]


def _flags(parse: "_Parse") -> "list[str]":
    if parse.seen is None:
        return []
    prefix = getattr(parse.parser, "prefix_chars", "-") or "-"
    out = []
    for action in list(parse.seen):
        options = getattr(action, "option_strings", None)
        taken = []
        for switch, option in parse.sides:
            if switch is action:
                taken.append(option)
        if taken and isinstance(options, (list, tuple)):
            # An on/off switch: each side taken is its own flag (--color, --no-color).
            for option in taken:
                off = option.startswith("--no-")
                side = []
                for o in options:
                    if isinstance(o, str) and o.startswith("--no-") == off:
                        side.append(o)
                name = _option_name(side, prefix)
                if name is not None:
                    out.append(name)
            continue
        name = _option_name(options, prefix)
        if name is not None:
            out.append(name)
    return out


def _option_name(options: object, prefix: str) -> "str | None":
    """The canonical option string: the first long one (``--x``, ``++x``), else the longest."""
    if not isinstance(options, (list, tuple)):
        return None
    strings = []
    for o in options:
        if isinstance(o, str) and o:
            strings.append(o)
    if not strings:
        return None
    for option in strings:
        if len(option) > 2 and option[0] in prefix and option[1] in prefix:
            return option
    return max(strings, key=len)


def _active_frames(caller, cause) -> "set[int]":
    """Ids of frames still running at the outcome (the stack, or the crash's traceback)."""
    ids = set()
    frame = caller
    while frame is not None:
        ids.add(id(frame))
        frame = frame.f_back
    tb = getattr(cause, "__traceback__", None)
    while tb is not None:
        ids.add(id(tb.tb_frame))
        tb = tb.tb_next
    return ids


def _select(parses: "list[_Parse]", active: "set[int]") -> "tuple[list[str], list[str]]":
    """The command path of the parse that counts, and the flags of every parse that counts."""
    running = []
    done = []
    for p in parses:
        if p.parent is not None:
            continue
        if id(p.frame) in active:
            if p.cmdline is not False:
                running.append(p)
        elif p.cmdline and _returned(p):
            done.append(p)
    flags: list[str] = []
    chains = {}
    for p in done:
        chains[id(p)] = _chain(p, parses)
        flags.extend(chains[id(p)][1])
    if running:
        names, more = _chain(running[-1], parses)
        return names or _dispatched(running[-1], done), flags + more
    if not done:
        return [], []
    main = done[-1]
    for p in done:
        if chains[id(p)][0]:
            main = p  # the last parse that named a subcommand, if any did
    return chains[id(main)][0] or _dispatched(main, done), flags


def _dispatched(parse: "_Parse", counted: "list[_Parse]") -> "list[str]":
    """The command words of a parser a program made for a word an earlier parse accepted.

    Dispatchers without subparsers (twine) take the command as a positional with
    ``choices``, then parse the remaining tokens with a parser whose ``prog`` is
    ``"twine check"``. The words of ``prog`` after the program name count only
    when each is a choice (or subparser name) that another counted parse's
    parser registered, so nothing the user typed can get in unchecked.
    """
    prog = getattr(parse.parser, "prog", None)
    words = prog.split()[1:] if isinstance(prog, str) else []
    if not words:
        return []
    registered: "set[str]" = set()
    for other in counted:
        if other is parse:
            continue
        for action in getattr(other.parser, "_actions", ()):
            choices = getattr(action, "choices", None)
            if not getattr(action, "option_strings", True) and choices is not None:
                try:
                    for c in choices:
                        if isinstance(c, str):
                            registered.add(c)
                except TypeError:
                    continue
    for w in words:
        if w not in registered:
            return []
    return words


def _from_error(caller, parser_class) -> bool:
    """Whether ``sys.exit`` was reached through ``ArgumentParser.error`` (a usage error)."""
    frame = caller
    for _ in range(4):
        if frame is None:
            return False
        if frame.f_code.co_name == "error":
            try:
                if isinstance(frame.f_locals.get("self"), parser_class):
                    return True
            except Exception:
                return False
        frame = frame.f_back
    return False


def _outcome_of(module, cause: object, caller: object) -> "dict[str, object]":
    """What argparse says about how the program ended (usage error or not, error type)."""
    argument_error = getattr(module, "ArgumentError", None)
    if isinstance(argument_error, type) and isinstance(cause, argument_error):
        return {"usage_error": True, "error_type": "ArgumentError"}
    if _from_error(caller, module.ArgumentParser):
        return {"usage_error": True}
    if cause is None or isinstance(cause, SystemExit):
        return {}
    return {"error_type": recorder.error_name(cause)}


def describe(invocation: "recorder.Invocation", ending: "recorder.Ending") -> "recorder.Outcome":
    """The integration protocol: the parse that counts, its flags, and the outcome."""
    data = invocation.state
    caller = ending.frame
    if caller is not None:  # a subparser that failed while scanning: note it too
        try:
            _note_running(invocation, _running_frames(caller, data["hook"]), data["hook"])
        except Exception:
            pass
    names, flags = _select(data["parses"], _active_frames(caller, ending.cause))  # type: ignore[arg-type]
    program = identity.program() or "unknown"
    return recorder.outcome(
        names,
        flags,
        "argparse",
        event.distribution_version([data.get("module"), program]),  # type: ignore[list-item]
        **_outcome_of(data["argparse"], ending.cause, caller),  # type: ignore[arg-type]
    )


__all__ = ["WATCHES", "describe", "patch"]
