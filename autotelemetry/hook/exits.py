"""How the process really exits, when that differs from what was first recorded.

Loaded only on those paths (``handover.lazy("exits")``; a run that exits once,
the usual way, never loads it):

* the command's ``SystemExit`` was caught and the program exits again with
  another status (``except SystemExit: sys.exit(1)``, a CLI that turns usage
  errors into exit 1), swallows it and ends normally (status 0), or crashes on
  the way out (:func:`settle`, :func:`after_close`);
* a console script's ``sys.exit(main())`` looked the builtin ``sys.exit`` up
  before ``main`` imported the framework (HTTPie imports argparse inside
  ``main``): on Python 3.12+ what ``main`` returns is watched (:func:`watch_return`)
  and is the exit status (:func:`returned_status`); before 3.12 nothing can see it;
* SIGTERM or SIGHUP, left at their default disposition, ends the run
  (:func:`terminate`, called by the recorder's handler): the run is recorded as
  ``terminated`` with exit code 128+N and the signal's name, then the process
  dies by that same signal, with its default action, as it would have without
  us.

The status is classified again by :func:`autotelemetry.hook.recorder.classify`
(the one classification), and a command event already spooled is rewritten in
place (same event id; :func:`autotelemetry.hook.spool.rewrite`).
"""

import _signal  # type: ignore[import-not-found]  # builtin, loaded by every CPython
import os
import sys

from autotelemetry.hook import config, event, handover, recorder, spool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

_SIGNAL_NAMES = {
    getattr(_signal, name): name
    for name in ("SIGHUP", "SIGINT", "SIGTERM")
    if hasattr(_signal, name)
}


def signal_name(signum: int) -> str:
    """``"SIGTERM"`` for 15: the event's ``signal`` field."""
    return _SIGNAL_NAMES.get(signum) or "SIG%d" % signum


def settle(
    invocation: "recorder.Invocation",
    exit_code: int,
    signum: "int | None" = None,
    cause: "BaseException | None" = None,
) -> None:
    """Make a closed invocation's command event say how the process really ends.

    A usage error that the program turns into exit 1 stays ``usage_error``
    with exit code 1; exit 0 makes it a ``success``; a signal makes it
    ``terminated``. If the event was already spooled, its file is rewritten; a
    reader that ingested the first version in between keeps that one.
    """
    record = invocation.command_event
    ending = invocation.ending
    outcome = invocation.outcome
    if record is None or ending is None or outcome is None:
        return
    final = recorder.ending(exit_code, ending.cause if cause is None else cause, None, signum)
    status, error_type = recorder.classify(final, outcome)
    invocation.ending = final
    name = None if signum is None else signal_name(signum)
    if (record["exit_code"], record["status"], record.get("signal")) == (exit_code, status, name):
        return
    record["exit_code"] = exit_code
    record["status"] = status
    record["error_type"] = error_type
    if name is None:
        record.pop("signal", None)
    else:
        record["signal"] = name
    if invocation.spooled is None:
        return  # still queued (updated in place), or not recorded (excluded, sampled out)
    path, records = invocation.spooled
    try:
        lines = [event.dumps(r) for r in records]
        spool.rewrite(path, lines)
        if config.debug_enabled():
            for line in lines:
                sys.stderr.write("autotelemetry: corrected " + line + "\n")
    except Exception as exc:
        config.debug("could not correct the event (%s: %s)" % (type(exc).__name__, exc))


def after_close(closed: "recorder.Invocation", last: object) -> None:
    """At exit, the command having ended earlier: how does the process end?"""
    if recorder.is_uncaught(last):
        # An uncaught exception after the invocation was closed: still a crash.
        handover.lazy("crash").record(closed, last, closed.command_event)
        settle(closed, 1, cause=last)  # type: ignore[arg-type]
    elif isinstance(last, KeyboardInterrupt):
        settle(closed, 130, _signal.SIGINT if os.name == "posix" else None, last)
    elif closed.exit_fate != "exited" and returned_status() is not None:
        # main caught the command's exit and returned a status to the builtin sys.exit
        # (HTTPie turns argparse's usage error 2 into 1).
        settle(closed, returned_status())  # type: ignore[arg-type]
    elif closed.exit_fate == "caught" and _ended_normally(closed.bottom):
        # The program caught the command's SystemExit and its main code then
        # returned: the process exits 0. (Ended instead by a SystemExit we did not
        # see, ``raise SystemExit(n)`` or a ``sys.exit`` looked up before we
        # patched it, the code is unknown: the one first recorded stays.)
        settle(closed, 0)


def _ended_normally(frame: "FrameType | None") -> bool:
    """Whether the program's outermost frame finished by returning, not by an exception.

    It is the ``<module>`` frame of ``__main__`` (or runpy's
    ``_run_module_as_main`` for ``python -m``); a finished frame keeps the
    offset of its last instruction, a return only when it ran to the end.
    """
    if frame is None:
        return False
    runpy = getattr(sys.modules.get("runpy"), "_run_module_as_main", None)
    if frame.f_code.co_name != "<module>" and frame.f_code is not getattr(runpy, "__code__", 0):
        return False  # not the main program's frame (an invocation begun in a thread)
    import opcode

    returns = {opcode.opmap.get("RETURN_VALUE"), opcode.opmap.get("RETURN_CONST")} - {None}
    try:
        return frame.f_code.co_code[frame.f_lasti] in returns
    except (IndexError, TypeError):
        return False


#: The ``sys.monitoring`` tool id taken: CPython's ``OPTIMIZER_ID``, which no tool for
#: CPython 3.12/3.13 uses (0-2 are debuggers', coverage's and profilers'; 3 and 4 are
#: anyone's: ddtrace takes them). Never taken when another tool holds it.
_TOOL = 5
#: What ``import opcode`` loads (3.12: ``_opcode``; 3.13: ``_opcode_metadata`` too).
_OPCODE_MODULES = ("opcode", "_opcode", "_opcode_metadata")
_NAME = "autotelemetry"
#: [the watched code object] while a return is watched.
_watching: "list[object]" = []


def _passes_call_to_exit(frame: "FrameType") -> bool:
    """Whether ``frame`` is running ``sys.exit(NAME())`` and is in the call to ``NAME``.

    Read from its byte-code (the console-script line pip and setuptools write), so
    the value the call returns is known to go straight to the builtin ``sys.exit``.
    ``opcode`` is read only for a code that names both, and left out of ``sys.modules``
    as it was found.
    """
    code = frame.f_code
    if "sys" not in code.co_names or "exit" not in code.co_names:
        return False
    loaded = {name: sys.modules.get(name) for name in _OPCODE_MODULES}
    try:
        import opcode
    finally:
        for name, module in loaded.items():
            if module is None:
                sys.modules.pop(name, None)
    raw = code.co_code
    caches = getattr(opcode, "_inline_cache_entries", {})
    ops: "list[tuple[str, int]]" = []
    at = -1
    extended = 0
    offset = 0
    while offset < len(raw):
        name = opcode.opname[raw[offset]]
        arg = raw[offset + 1] | extended
        extended = (arg << 8) if name == "EXTENDED_ARG" else 0
        skip = caches.get(name, 0) if isinstance(caches, dict) else caches[raw[offset]]
        if not extended:
            # The running instruction: 3.13's f_lasti is its offset, 3.12's its last cache unit.
            if offset <= frame.f_lasti < offset + 2 + 2 * skip:
                at = len(ops)
            ops.append((name, arg))
        offset += 2 + 2 * skip
    if at < 0 or ops[at] != ("CALL", 0) or ops[at + 1 : at + 2] != [("CALL", 1)]:
        return False
    before = [op for op in ops[:at] if op[0] != "PUSH_NULL"][-3:]
    names = code.co_names
    return (
        len(before) == 3
        and before[0] == ("LOAD_NAME", names.index("sys") if "sys" in names else -1)
        and before[1][0] == "LOAD_ATTR"
        and names[before[1][1] >> 1] == "exit"
        and before[2][0] == "LOAD_NAME"
    )


def watch_return(callee: "FrameType", main_frame: "FrameType") -> None:
    """Note what ``callee`` returns when ``main_frame`` passes it to ``sys.exit``.

    Python 3.12+ (``sys.monitoring``): one ``PY_RETURN`` event on ``callee``'s code
    object alone, acted on for the frame ``main_frame`` called only, given up as it
    fires, else at exit (when it raised instead; also if no invocation began).
    Nothing else of the host is instrumented.
    """
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None or _watching or monitoring.get_tool(_TOOL) is not None:
        return
    if not _passes_call_to_exit(main_frame):
        return
    code = callee.f_code

    def returned(_code: object, _offset: int, value: object) -> None:
        try:
            frame = sys._getframe(1)
            if frame.f_back is main_frame and frame.f_code is code and _watching:
                # The status, not the object: the host's value dies when it would.
                recorder.RECORDER.late_exit[1:] = [recorder.exit_status(value)]
                unwatch()
        except Exception:
            pass

    monitoring.use_tool_id(_TOOL, _NAME)
    _watching[:] = [code]
    try:
        monitoring.register_callback(_TOOL, monitoring.events.PY_RETURN, returned)
        monitoring.set_local_events(_TOOL, code, monitoring.events.PY_RETURN)
    except BaseException:  # a host's audit hook refused: give everything back
        unwatch()
        raise
    recorder.RECORDER.late_exit[:] = [main_frame]
    recorder.register_at_exit(give_back)  # runs after the run's own exit handler


def give_back() -> None:
    """The tool id and the frame the watch holds, given back (at exit). Never raises."""
    unwatch()
    recorder.RECORDER.late_exit.clear()


def unwatch() -> None:
    """Give the tool id back and the code object its plain byte-code. Never raises.

    Only while the id is still ours: a host that freed and took it keeps it as it is.
    """
    if not _watching:
        return
    code = _watching.pop()
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    try:
        if monitoring.get_tool(_TOOL) == _NAME:
            monitoring.set_local_events(_TOOL, code, 0)
            monitoring.register_callback(_TOOL, monitoring.events.PY_RETURN, None)
            monitoring.free_tool_id(_TOOL)
    except Exception:
        pass


def returned_status() -> "int | None":
    """The status the builtin ``sys.exit`` got from ``main`` (:func:`watch_return`).

    ``None`` when ``main`` did not return (it raised), or the ``__main__`` module
    ran to its end after all (the builtin ``sys.exit`` was replaced by then).
    """
    late = recorder.RECORDER.late_exit
    if len(late) < 2 or _ended_normally(late[0]):  # type: ignore[arg-type]
        return None
    return late[1]  # type: ignore[return-value]


def terminate(signum: int, frame: "FrameType | None") -> None:
    """SIGTERM/SIGHUP ends the run: record it, then die by the same signal."""
    try:
        invocation = recorder.current()
        if invocation is not None:
            ending = recorder.ending(128 + signum, None, frame, signum)
            recorder.end(invocation, ending)
        else:
            closed = recorder.own()
            if closed is not None:
                settle(closed, 128 + signum, signum)
            recorder.flush()
    except BaseException:
        pass
    # The default action, exactly: the kernel ends the process by this signal
    # (same wait status; no atexit, no flush of the host's buffered output).
    try:
        _signal.signal(signum, _signal.SIG_DFL)
    except BaseException:
        pass
    try:
        os.kill(os.getpid(), signum)
    except BaseException:
        pass
