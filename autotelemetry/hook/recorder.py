"""Turns a finished invocation into an event and gets it onto disk before exit.

An integration (:mod:`autotelemetry.hook.integrations`) calls
:func:`begin` when its command starts. The outcome is observed here,
never by wrapping the framework: at ``sys.exit`` (:func:`_exit`, which replaces
it in instrumented processes only) or at interpreter exit (:func:`_at_exit`,
which also finds an uncaught exception in ``sys.last_value``). Then the
integration describes what it saw (:class:`Outcome`), this module classifies
the run once for every framework (:func:`classify`), builds the ``command``
event (:mod:`autotelemetry.hook.event`) and writes the spool. Crash events are
built by :mod:`autotelemetry.hook.crash`, imported only when a crash happened.

Events are flushed as soon as the outcome is known and again from ``atexit``
for anything still pending. In local mode nothing here touches the network or
spawns a process.

How the process really exits can differ from the framework's exit (a caught
``SystemExit``, a signal): :mod:`autotelemetry.hook.exits`, loaded only then
(``handover.lazy``), corrects the event. SIGTERM/SIGHUP: :func:`watch_signals`.
"""

import _signal  # type: ignore[import-not-found]  # builtin, loaded by every CPython at start
import _weakref  # builtin, loaded by every CPython at start
import os
import sys

from autotelemetry.hook import (
    allowlist,
    boot,
    config,
    env,
    event,
    fs,
    handover,
    identity,
    namespace,
    spool,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from typing import Any, Callable, Protocol

    class Invocation(Protocol):
        """One run of an instrumented command, from start to outcome."""

        #: The integration module that began it (it implements ``describe``).
        integration: ModuleType
        framework: str
        pid: int
        #: When it started (perf_counter): the boot's start, or the command's own.
        t0: float
        #: The integration's own parse state.
        state: dict[str, object]
        done: bool
        #: The command event, once built (a later crash event shares its fields).
        command_event: dict[str, object] | None
        #: How the command ended and what the integration said, kept to settle the
        #: real exit status later (hook/exits.py).
        ending: "Ending | None"
        outcome: "Outcome | None"
        #: What became of the SystemExit of the last sys.exit: None, "exited" (it
        #: ended the interpreter) or "caught"; the weak reference that tells; and the
        #: outermost frame at that sys.exit (how it finished tells a normal end).
        exit_fate: str | None
        exit_ref: object
        bottom: FrameType | None
        #: The spool file holding the command event, and every event in it.
        spooled: tuple[str, list[dict[str, object]]] | None

    class Ending(Protocol):
        """How the run is ending, as observed."""

        exit_code: int
        #: The exception being handled at ``sys.exit``, or the uncaught one at exit.
        cause: BaseException | None
        #: The frame that called ``sys.exit`` (None at interpreter exit).
        frame: FrameType | None
        #: The number of the signal the process dies by, if one ends it.
        signal: int | None

    class State(Protocol):
        """Everything this process records: the open invocation, the queue, the ids.

        One record, :data:`RECORDER` (a record, not a class with methods: defining a
        class costs every instrumented run ~0.1M instructions, docs/performance.md).
        """

        #: The invocation of this process, once one began.
        invocation: Invocation | None
        #: Events waiting for the spool: (pid of the process that queued it, event).
        queue: list[tuple[int, dict[str, object]]]
        #: The random per-user id, read (or created) when the first event is written.
        install_id: str | None
        session_id: str | None
        #: The inherited parent session id: [] until read, then [id or None].
        parent_session: list[str | None]
        #: [] until the first begin(), then [this run's trace context (the events'
        #: ``trace``), the span id of the TRACEPARENT seen ("" if none)].
        trace: list[object]
        hooks_installed: bool
        #: At most one callable ``(caller_frame) -> Invocation | None`` that may open
        #: an invocation when ``sys.exit`` is reached before any began (argparse).
        late_begin: list[object]
        #: [] unless a console script's ``sys.exit(main())`` looked up the builtin
        #: before we patched it (3.12+, hook/exits.py): then [its ``__main__`` frame],
        #: and [that frame, what ``main`` returned] once it returned.
        late_exit: list[object]
        #: [our threading.excepthook, the one it chains to], while installed.
        thread_hook: list[object]

    class Outcome(Protocol):
        """What an integration knows about its command as it ends (names only, never values)."""

        #: Canonical command names below the program (aliases resolved).
        command: list[str]
        #: Canonical option names that came from the command line.
        flags: list[str]
        framework: str
        version: str | None
        #: The exception the framework was handling (may refine ``Ending.cause``).
        cause: BaseException | None
        #: The framework reported a command-line error.
        usage_error: bool
        #: The framework turned a Ctrl-C or an abort into its exit.
        interrupted: bool
        #: Class name of the exception that ended the command, as the framework saw it.
        error_type: str | None


#: Every value of a command event's ``status``.
STATUSES = ("success", "failure", "usage_error", "interrupted", "terminated", "crash")

#: Exported by an instrumented invocation as it begins, so that an instrumented
#: CLI it runs records the parent's session as ``parent_session_id``.
PARENT_SESSION_VARIABLE = "AUTOTELEMETRY_PARENT_SESSION"
#: Exported beside it: the W3C ``traceparent`` of the run's span, ``/``, and the span
#: id of the TRACEPARENT the run saw (empty when none), so that a child can tell
#: whether a program in between set a TRACEPARENT of its own (which then wins).
PARENT_SPAN_VARIABLE = "AUTOTELEMETRY_PARENT_SPAN"
_HEX = frozenset("0123456789abcdef-")


def ending(
    exit_code: int,
    cause: "BaseException | None",
    frame: "FrameType | None",
    signal: "int | None" = None,
) -> "Ending":
    """An :class:`Ending` (a record: no class is defined on the hot path, see hook/namespace.py)."""
    return namespace.Record(exit_code=exit_code, cause=cause, frame=frame, signal=signal)


def outcome(
    command: "list[str]",
    flags: "list[str]",
    framework: str,
    version: "str | None",
    *,
    cause: "BaseException | None" = None,
    usage_error: bool = False,
    interrupted: bool = False,
    error_type: "str | None" = None,
) -> "Outcome":
    """An :class:`Outcome`: what an integration's ``describe`` returns."""
    return namespace.Record(
        command=command,
        flags=flags,
        framework=framework,
        version=version,
        cause=cause,
        usage_error=usage_error,
        interrupted=interrupted,
        error_type=error_type,
    )


def is_uncaught(cause: object) -> bool:
    """An exception the interpreter printed as uncaught (not an exit, not Ctrl-C)."""
    return (
        isinstance(cause, BaseException)
        and not isinstance(cause, (SystemExit, KeyboardInterrupt))
        and cause is getattr(sys, "last_value", None)
    )


#: Packages whose exception classes' names are stored as they are (their own names).
NAMED_BY_THEIR_OWN = ("builtins", "click", "typer", "argparse")


def error_name(exc: object, qualified: bool = True) -> str:
    """The ``error_type`` of ``exc``: its class's name, as the crash event's type is.

    A class of builtins or of the frameworks keeps its name; any other (the program's,
    or one built at run time from what the user typed: ``type(name, (Exception,), {})``)
    goes through the crash path's typed-value belt, loaded for it.
    """
    cls = type(exc)
    name = cls.__qualname__ if qualified else cls.__name__
    module = getattr(cls, "__module__", None)
    if isinstance(module, str) and module.split(".")[0] in NAMED_BY_THEIR_OWN:
        return name
    try:
        return handover.lazy("privacy").code_name(name, False)
    except Exception:
        return "<value>"


def classify(end: "Ending", result: "Outcome") -> "tuple[str, str | None]":
    """(status, error_type) of a run: the one classification, for every framework."""
    cause = result.cause if result.cause is not None else end.cause
    if end.signal is not None and end.signal != _signal.SIGINT:
        return "terminated", None
    if is_uncaught(end.cause):
        return "crash", result.error_type or error_name(end.cause)
    if result.interrupted or isinstance(cause, (KeyboardInterrupt, EOFError)):
        return "interrupted", result.error_type or error_name(cause, qualified=False)
    if end.exit_code == 0:
        return "success", None
    if result.usage_error:
        return "usage_error", result.error_type
    return "failure", result.error_type


def exit_status(code: object) -> int:
    """The process exit status ``sys.exit(code)`` produces (POSIX semantics)."""
    if code is None:
        return 0
    if not isinstance(code, int):
        return 1  # the interpreter prints the object and exits 1
    # bool is an int: sys.exit(False) exits 0, sys.exit(True) 1 (twine's `check`
    # returns a "failed" bool that its console script passes to sys.exit)
    return code & 0xFF if os.name != "nt" else code


#: What this process records (:class:`State`): the integrations, the crash capture and
#: hook/exits.py read and change it through the functions below.
RECORDER: "State" = namespace.Record(
    invocation=None,
    queue=[],
    install_id=None,
    session_id=None,
    parent_session=[],
    trace=[],
    hooks_installed=False,
    late_begin=[],
    late_exit=[],
    thread_hook=[],
)


# --- the invocation ---------------------------------------------------------


def begin(integration: "ModuleType", framework: str) -> "Invocation":
    """Open an invocation; its outcome is observed at ``sys.exit`` or at exit.

    Observing the outcome without wrapping the framework's ``main`` keeps every
    frame of ours off the path of a propagating exception, so tracebacks the
    user sees are byte-identical to an uninstrumented run.
    """
    if not RECORDER.hooks_installed:
        register_at_exit(_at_exit)
        observe_exit()
        _install_thread_hook()
        RECORDER.hooks_installed = True
    from time import perf_counter

    invocation: "Invocation" = namespace.Record(
        integration=integration,
        framework=framework,
        pid=os.getpid(),
        # The boot's start time is the closest we get to process start; if the
        # framework was patched without the boot, the command's own start is used.
        t0=boot.state["t0"] or perf_counter(),
        state={},
        done=False,
        command_event=None,
        ending=None,
        outcome=None,
        exit_fate=None,
        exit_ref=None,
        bottom=None,
        spooled=None,
    )
    RECORDER.invocation = invocation
    _export_session()
    watch_signals()
    return invocation


def register_at_exit(function: "Callable[[], None]") -> None:
    """``atexit.register(function)``, without importing ``atexit`` where it need not be.

    Since Python 3.10 the callbacks live in the interpreter, not in the module
    object: a module object of our own, made by ``_imp`` (always loaded), registers
    in the same list as the host's own ``import atexit`` later, and costs ~45k
    instructions where the import costs ~135k (docs/performance.md). It is never
    put in ``sys.modules``, so the host's modules are what they are without us.
    Python 3.9 keeps the callbacks per module object (another one would be lost
    when the host imports its own): the import, there.
    """
    module: "Any" = sys.modules.get("atexit")
    if module is None and sys.version_info >= (3, 10):
        try:
            import _imp  # builtin, loaded by every CPython at start (importlib's own)

            machinery = sys.modules["_frozen_importlib"]  # importlib._bootstrap, frozen
            spec = machinery.ModuleSpec("atexit", machinery.BuiltinImporter, origin="built-in")
            module = _imp.create_builtin(spec)
            _imp.exec_builtin(module)
        except Exception:
            module = None
    if module is None:
        import atexit as module
    module.register(function)


def current() -> "Invocation | None":
    """The open invocation of this process, if any (never a parent's, after fork)."""
    invocation = RECORDER.invocation
    if invocation is not None and not invocation.done and invocation.pid == os.getpid():
        return invocation
    return None


def own() -> "Invocation | None":
    """This process's invocation, open or closed (``None`` in a forked child)."""
    invocation = RECORDER.invocation
    return invocation if invocation is not None and invocation.pid == os.getpid() else None


def end(invocation: "Invocation", ended: "Ending") -> None:
    """Close ``invocation`` with its outcome, queue its event(s), flush to the spool."""
    if invocation.done:
        return
    invocation.done = True
    try:
        result = invocation.integration.describe(invocation, ended)
        status, error_type = classify(ended, result)
        record = command_event(invocation, result, ended.exit_code, status, error_type)
        if ended.signal is not None:
            record["signal"] = handover.lazy("exits").signal_name(ended.signal)
        invocation.command_event = record
        invocation.outcome = result
        invocation.ending = ended
        ended.frame = None  # described: do not keep the host's frames alive
        queue_event(record)
        if status == "crash":
            handover.lazy("crash").record(invocation, ended.cause, record)
    except Exception as exc:
        config.debug("could not build the event (%s: %s)" % (type(exc).__name__, exc))
    flush()


def command_event(
    invocation: "Invocation",
    result: "Outcome",
    exit_code: int,
    status: str,
    error_type: "str | None",
) -> "dict[str, object]":
    """The ``command`` event of a finished invocation (without install id and env)."""
    from time import perf_counter, time

    now = perf_counter()
    program = identity.program() or "unknown"
    return {
        "schema_version": event.SCHEMA_VERSION,
        "event_id": event.new_id(),
        "type": "command",
        "timestamp": event.rfc3339(time() - (now - invocation.t0)),
        "session_id": session(),
        "install_id": None,  # filled at flush time, when the home is known to work
        "cli": {
            "name": program,
            "version": result.version,
            "framework": result.framework or invocation.framework,
        },
        "env": None,
        "command": " ".join([program, *result.command]),
        "flags": sorted(set(result.flags)),
        "duration_ms": round((now - invocation.t0) * 1000.0, 3),
        "exit_code": exit_code,
        "status": status,
        "error_type": error_type,
    }


def queue_event(record: "dict[str, object]") -> None:
    """Queue an event of this process for the next :func:`flush`."""
    RECORDER.queue.append((os.getpid(), record))


# --- identity ----------------------------------------------------------------


def session() -> str:
    """The random id of this process's invocation (shared by its events)."""
    if RECORDER.session_id is None:
        RECORDER.session_id = event.new_id()
    return RECORDER.session_id


def _export_session() -> None:
    """Remember the inherited parent session (a UUID or nothing) and span, export ours."""
    # TRACEPARENT itself is exported to children only with `export_traceparent`: it
    # changes what every other program the CLI runs sees (docs/delivery.md).
    try:
        environ = os.environ
        if not RECORDER.parent_session:
            value = env.get(PARENT_SESSION_VARIABLE) or ""
            ok = len(value) == 36 and set(value) <= _HEX and value.count("-") == 4
            RECORDER.parent_session.append(value if ok else None)
            RECORDER.trace[:] = _trace_context(environ)
        environ[PARENT_SESSION_VARIABLE] = session()
        trace = RECORDER.trace[0]
        ours = "00-%s-%s-%02x" % (trace["trace_id"], trace["span_id"], trace["flags"])  # type: ignore[index]
        environ[PARENT_SPAN_VARIABLE] = ours + "/" + str(RECORDER.trace[1])
        if config.current_settings().values["export_traceparent"]:
            environ["TRACEPARENT"] = ours
    except Exception:
        pass


def parent_session_id() -> "str | None":
    return RECORDER.parent_session[0] if RECORDER.parent_session else None


def user_install_id(home: str) -> str:
    """The random per-user id, created on first use (never derived from the machine);
    a stored one that is missing, malformed or not ours is replaced."""
    if RECORDER.install_id is None:
        try:
            data = fs.read_file(os.path.join(home, INSTALL_ID_FILE), 64)
        except OSError as exc:
            if exc.errno != fs.REFUSED:
                raise
            data = None
        value = data.decode("ascii", "replace").strip() if data else ""
        RECORDER.install_id = value if len(value) == 36 else write_install_id(home)
    return RECORDER.install_id


# --- writing -----------------------------------------------------------------


def flush() -> None:
    """Write every pending event of this process to the spool. Never raises."""
    pid = os.getpid()
    mine = []
    while RECORDER.queue:  # pop, not copy-then-clear: a thread may queue a crash meanwhile
        try:
            owner, record = RECORDER.queue.pop(0)
        except IndexError:
            break
        if owner == pid:  # a forked child must not write its parent's events again
            mine.append(record)
    if not mine:
        return
    debug = config.debug_enabled()
    try:
        mine = _apply_settings(mine, debug)
        if not mine:
            return
        home = fs.private_dir(identity.home_dir())  # refused: nothing recorded
        ident = user_install_id(home)
        env = event.environment()
        lines = []
        for record in mine:
            record["install_id"] = ident
            record["env"] = env
            lines.append(event.dumps(record))
        path = spool.write(home, lines)
        invocation = RECORDER.invocation
        if invocation is not None:
            for record in mine:
                if record is invocation.command_event:
                    invocation.spooled = (path, mine)  # hook/exits.py may rewrite it
                    break
        if debug:
            for line in lines:
                sys.stderr.write("autotelemetry: recorded " + line + "\n")
            sys.stderr.write("autotelemetry: spooled to " + path + "\n")
        settings = config.current_settings()
        if settings.values["endpoint"]:
            # Tell the user once (on a terminal) before anything leaves the machine,
            # then maybe start the detached sender. Local mode: none of this runs.
            handover.lazy("notice").maybe_show(home, settings)
            child = handover.lazy("spawn").maybe_spawn(home)
            if debug and child:
                sys.stderr.write("autotelemetry: started sender (pid %d)\n" % child)
    except Exception as exc:
        if debug:
            sys.stderr.write(
                "autotelemetry: could not record (%s: %s)\n" % (type(exc).__name__, exc)
            )


def _apply_settings(records: "list[dict[str, object]]", debug: bool) -> "list[dict[str, object]]":
    """Drop excluded subcommands; add the parent session and the sample rate.

    Done here, where every event (command or crash) passes and the command
    path is known.
    """
    settings = config.current_settings()
    parent = parent_session_id()
    trace = RECORDER.trace[0] if RECORDER.trace else None
    pid = os.getpid()
    kept = []
    for record in records:
        cli = record.get("cli") or {}
        program = cli.get("name") or ""  # type: ignore[attr-defined]
        command = record.get("command") or ""
        rule = allowlist.excluded(command, program) if command else None  # type: ignore[arg-type]
        if rule is not None:
            if debug:
                sys.stderr.write(
                    "autotelemetry: %r excluded by '!%s', not recorded\n" % (command, rule)
                )
            continue
        if parent is not None:
            record["parent_session_id"] = parent
        if trace is not None:
            record["trace"] = trace
        record["pid"] = pid
        if not boot.state["forced"]:
            rate = config.for_cli(settings, program, "sample_rate")[0]
            if rate < 1.0:  # type: ignore[operator]
                record["sample_rate"] = rate
        kept.append(record)
    return kept


# [this run's trace context, the TRACEPARENT span id seen]: the root of a new trace, unless
# TRACEPARENT or an instrumented parent's span is inherited (parsed by hook/tracecontext.py,
# imported only then).
def _trace_context(environ: "dict[str, str] | os._Environ[str]") -> "list[object]":
    if env.has("TRACEPARENT", environ) or env.has(PARENT_SPAN_VARIABLE, environ):
        return handover.lazy("tracecontext").inherit(environ, PARENT_SPAN_VARIABLE)
    return [{"trace_id": os.urandom(16).hex(), "span_id": os.urandom(8).hex(), "flags": 1}, ""]


#: The per-user id's file under the home.
INSTALL_ID_FILE = "install_id"


def write_install_id(home: str) -> str:
    """A new random install id, written atomically under ``home``."""
    value = event.new_id()
    fs.write_file(os.path.join(home, INSTALL_ID_FILE), value.encode("ascii") + b"\n")
    return value


# --- observing the end of the run ---------------------------------------------------

_original_exit = sys.exit


def _exit(status=None):
    """``sys.exit`` as seen by instrumented programs: note the outcome, then exit."""
    marker = None  # lives as long as the SystemExit's traceback (see _watch_exit)
    try:
        invocation = current()
        closed = own() if invocation is None else None
        if closed is not None and closed.ending is not None:
            # The command's exit was caught and the program exits again
            # (``except SystemExit: sys.exit(1)``): this status is the real one.
            marker = _watch_exit(closed)
            if exit_status(status) != closed.ending.exit_code:
                handover.lazy("exits").settle(closed, exit_status(status))
        else:
            if invocation is None and RECORDER.late_begin:
                invocation = RECORDER.late_begin[0](sys._getframe(1))  # type: ignore[operator]
            if invocation is not None:
                ended = ending(exit_status(status), sys.exc_info()[1], sys._getframe(1))
                end(invocation, ended)
                marker = _watch_exit(invocation)  # noqa: F841
    except Exception:
        pass
    _original_exit(status)


_exit.__doc__ = _original_exit.__doc__
_exit.__name__ = "exit"
_exit.__qualname__ = "exit"


def _watch_exit(invocation: "Invocation") -> object:
    """A marker for the SystemExit ``_exit`` is about to raise, and a weak reference to it.

    The marker is a local of ``_exit``'s frame, which the exception's traceback
    holds, so it is freed with the exception: by the interpreter itself, with
    no Python frame running, when the exception ended the program; from
    running code when the program caught and dropped it (:func:`_exit_freed`).
    Nothing touches the exception object.
    """
    invocation.exit_fate = None
    marker: "set[object]" = set()  # any fresh object a weak reference can watch (no code)
    invocation.exit_ref = _weakref.ref(marker, _exit_freed)
    frame = sys._getframe(1)
    while frame.f_back is not None:
        frame = frame.f_back
    invocation.bottom = frame  # how it finished tells a normal end (hook/exits.py)
    return marker


def _exit_freed(ref: object) -> None:
    try:
        invocation = own()
        if invocation is not None and invocation.exit_ref is ref:
            try:
                sys._getframe(1)
                invocation.exit_fate = "caught"
            except ValueError:  # no Python frame: the interpreter is handling it
                invocation.exit_fate = "exited"
    except BaseException:
        pass


def observe_exit(late_begin: "object | None" = None) -> None:
    """Route ``sys.exit`` through :func:`_exit` now, before any invocation begins.

    A console script evaluates ``sys.exit`` before calling ``main()`` in
    ``sys.exit(main())``; frameworks that begin their invocation inside ``main``
    (argparse) call this when they are patched, at import time, so the code
    ``main`` returns is still observed. :func:`_exit` does nothing extra while
    no invocation is open, unless ``late_begin`` opens one: argparse uses that
    for usage errors raised before its parse hook ran (ambiguous abbreviations,
    a missing ``@file``).
    """
    if late_begin is not None and not RECORDER.late_begin:
        RECORDER.late_begin.append(late_begin)
    if sys.exit is _original_exit:
        sys.exit = _exit
        if sys.version_info >= (3, 12):
            _watch_looked_up_exit()


def _watch_looked_up_exit() -> None:
    """Is a ``sys.exit(main())`` already holding the builtin ``sys.exit``? Then watch ``main``.

    So it is when the framework is imported inside ``main`` (HTTPie's argparse): the
    ``__main__`` module's frame is calling a function, not importing a module.
    """
    try:
        callee = None
        frame: "FrameType | None" = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__":
                break
            callee, frame = frame, frame.f_back
        if frame is None or callee is None or callee.f_code.co_filename.startswith("<frozen "):
            return  # no script, or it is importing: its sys.exit is looked up later
        if callee.f_code.co_name == "<module>":
            return
        handover.lazy("exits").watch_return(callee, frame)
    except Exception:
        pass


def _at_exit() -> None:
    invocation = current()
    last = getattr(sys, "last_value", None)
    if invocation is not None:
        # An exception that ended the program was printed by the interpreter,
        # which leaves it in sys.last_value (3.9+) before atexit runs.
        if isinstance(last, BaseException) and not isinstance(last, SystemExit):
            code = 130 if isinstance(last, KeyboardInterrupt) else 1
            # An uncaught KeyboardInterrupt: the interpreter re-raises SIGINT (POSIX).
            sigint = _signal.SIGINT if code == 130 and os.name == "posix" else None
            end(invocation, ending(code, last, None, sigint))
        else:
            status = None
            if RECORDER.late_exit:  # the builtin sys.exit got what main returned?
                status = handover.lazy("exits").returned_status()
            end(invocation, ending(status or 0, None, None))
    else:
        closed = own()
        if closed is not None:
            late = len(RECORDER.late_exit) > 1
            if closed.exit_fate == "caught" or isinstance(last, BaseException) or late:
                handover.lazy("exits").after_close(closed, last)
            closed.bottom = None
    flush()
    release_signals()
    release()


def release() -> None:
    """Give back what we replaced and drop what we hold, once the run is recorded.

    Anything of ours still reachable from the interpreter at shutdown (a
    replaced ``sys.exit``, a chained ``threading.excepthook``, the invocation
    with the framework's parse state) would keep the host's objects alive past
    the point where they die without us, and interpreter teardown would pay for
    it (measured: 2.9M instructions on a small Click CLI). After this, the host's
    objects die exactly when they would without us.
    """
    if sys.exit is _exit:
        sys.exit = _original_exit
    hook = RECORDER.thread_hook
    if hook:
        threading = sys.modules.get("threading")
        if threading is not None and getattr(threading, "excepthook", None) is hook[0]:
            threading.excepthook = hook[1]  # type: ignore[attr-defined]
        hook.clear()
    if RECORDER.late_exit:
        handover.lazy("exits").give_back()  # also when main never returned (it raised)
    RECORDER.invocation = None
    RECORDER.queue.clear()
    RECORDER.late_begin.clear()


# --- signals that end the run ---------------------------------------------------------

#: Signals whose default action ends the process, recorded as ``terminated``.
TERMINATING_SIGNALS = tuple(
    filter(None, (getattr(_signal, "SIGTERM", None), getattr(_signal, "SIGHUP", None)))
)


class _DefaultDisposition(int):
    """Our SIGTERM/SIGHUP handler; the ``signal`` module reports it as ``SIG_DFL``.

    An ``int`` equal to ``SIG_DFL``: ``signal.getsignal()`` (and the previous
    handler ``signal.signal()`` returns) maps it to ``Handlers.SIG_DFL`` itself,
    so a host that installs a handler only where it finds the default, or calls
    the previous one when callable, does what it does without us (see
    docs/reliability.md, "Signals").
    """

    __slots__ = ()

    def __call__(self, signum: int, frame: "FrameType | None") -> None:
        if _signal.getsignal(signum) is not self:
            return  # not installed: someone's handler called it; SIG_DFL would do nothing
        try:
            handover.lazy("exits").terminate(signum, frame)  # records, then dies by the signal
        except BaseException:
            try:
                _signal.signal(signum, _signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            except BaseException:
                pass


_TERMINATION_HANDLER = _DefaultDisposition(_signal.SIG_DFL)
#: The signals the handler is installed for in this process; whether the fork hook is.
_watched: "list[int]" = []
_fork_hook: "list[bool]" = []


def watch_signals() -> None:
    """Install the handler for SIGTERM/SIGHUP where the host leaves the default.

    POSIX, main thread only (elsewhere ``_signal.signal`` refuses: nothing
    changes), and only where the disposition is the default for Python and, on
    Linux, for the kernel (a handler C code installed is invisible to Python).
    """
    if os.name != "posix" or not TERMINATING_SIGNALS:
        return
    try:
        if not config.for_cli(config.current_settings(), identity.program(), "record_signals")[0]:
            return
        kernel: "tuple[int, int] | None" = None
        for signum in TERMINATING_SIGNALS:
            current = _signal.getsignal(signum)
            if current is _TERMINATION_HANDLER:
                continue
            if signum in _watched:
                _watched.remove(signum)  # the host replaced it since: theirs stays
            if not isinstance(current, int) or isinstance(current, _DefaultDisposition):
                continue  # the host's own handler, or one installed below Python (None)
            if current != _signal.SIG_DFL:
                continue  # ignored (nohup, or the host)
            if kernel is None:
                kernel = _kernel_dispositions()
            if (kernel[0] | kernel[1]) >> (signum - 1) & 1:
                continue  # ignored or caught below Python
            _signal.signal(signum, _TERMINATION_HANDLER)
            _watched.append(signum)
        if _watched and not _fork_hook:
            os.register_at_fork(after_in_child=release_signals)  # a child starts at the default
            _fork_hook.append(True)
    except Exception:
        pass


def _kernel_dispositions() -> "tuple[int, int]":
    """(ignored, caught) signal masks from ``/proc/self/status``; ``(0, 0)`` if unknown."""
    if not sys.platform.startswith("linux"):
        return 0, 0
    try:
        fd = os.open("/proc/self/status", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            data = os.read(fd, 16384)
        finally:
            os.close(fd)
        ignored = data.index(b"\nSigIgn:") + 8
        caught = data.index(b"\nSigCgt:") + 8
        return (
            int(data[ignored : data.index(b"\n", ignored)], 16),
            int(data[caught : data.index(b"\n", caught)], 16),
        )
    except (OSError, ValueError):
        return 0, 0


def release_signals() -> None:
    """The default disposition again where ours is installed (at exit; in a forked child)."""
    for signum in _watched:
        try:
            if _signal.getsignal(signum) is _TERMINATION_HANDLER:
                _signal.signal(signum, _signal.SIG_DFL)
        except BaseException:
            pass
    del _watched[:]


def _install_thread_hook() -> None:
    """Chain ``threading.excepthook`` (only if threading is loaded: no import for it)."""
    threading = sys.modules.get("threading")
    if threading is None:
        return
    previous = getattr(threading, "excepthook", None)
    if previous is None:
        return

    def excepthook(args):
        try:
            exc = args.exc_value
            if isinstance(exc, BaseException) and not isinstance(
                exc, (SystemExit, KeyboardInterrupt)
            ):
                handover.lazy("crash").record_thread(exc, args.exc_traceback)
        except BaseException:
            pass
        previous(args)

    excepthook.__doc__ = getattr(previous, "__doc__", None)
    threading.excepthook = excepthook  # type: ignore[attr-defined]
    RECORDER.thread_hook[:] = [excepthook, previous]
