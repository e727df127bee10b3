"""Turns a finished invocation into an event and gets it onto disk before exit.

The framework integrations (:mod:`autotelemetry.instrument`) call
:func:`start` when a command begins and :func:`finish` with what they observed;
this module owns everything framework-independent: timing, exit-status
normalisation, identity, the environment fingerprint, and writing the spool.
Events are flushed as soon as the command ends (before ``SystemExit`` leaves
the framework) and again from ``atexit`` for anything still pending. Nothing
here touches the network or spawns a process.
"""

import os
import sys

from autotelemetry import config, event, spool
from autotelemetry._boot import state as boot_state

STATUSES = ("success", "failure", "usage_error", "interrupted", "crash")

_pending: "list[dict]" = []
_atexit_registered = False
_install_id: "str | None" = None


class Invocation:
    """One run of an instrumented command, from start to outcome.

    ``describe(invocation, exit_code, cause, frame)`` is supplied by the
    framework integration and returns the event fields it knows (command,
    flags, status, exit_code, error_type, version, framework).
    """

    __slots__ = ("contexts", "data", "describe", "done", "framework", "pid", "t0")

    def __init__(self, framework: str, describe: "object") -> None:
        from time import perf_counter

        self.framework = framework
        self.describe = describe
        self.pid = os.getpid()
        # The boot's start time is the closest we get to process start; if the
        # framework was patched without the boot, the command's own start is used.
        self.t0 = boot_state["t0"] or perf_counter()
        self.contexts: list[object] = []  # framework-specific parse state
        self.data: dict[str, object] = {}
        self.done = False


#: The invocation in progress in this process, if any.
_open: "list[Invocation]" = []
_original_exit = sys.exit


def begin(framework: str, describe: "object") -> Invocation:
    """Open an invocation; its outcome is observed at ``sys.exit`` or at exit.

    Observing the outcome without wrapping the framework's ``main`` keeps every
    frame of ours off the path of a propagating exception, so tracebacks the
    user sees are byte-identical to an uninstrumented run.
    """
    global _atexit_registered
    if not _atexit_registered:
        import atexit

        atexit.register(_at_exit)
        if sys.exit is _original_exit:
            sys.exit = _exit
        _atexit_registered = True
    invocation = Invocation(framework, describe)
    _open[:] = [invocation]
    return invocation


def current() -> "Invocation | None":
    """The open invocation of this process, if any (never a parent's, after fork)."""
    if _open and not _open[0].done and _open[0].pid == os.getpid():
        return _open[0]
    return None


def _exit(status=None):  # type: ignore[no-untyped-def]
    """``sys.exit`` as seen by instrumented programs: note the outcome, then exit."""
    try:
        invocation = current()
        if invocation is None and _late_begin:
            invocation = _late_begin[0](sys._getframe(1))
        if invocation is not None:
            end(invocation, exit_status(status), sys.exc_info()[1], sys._getframe(1))
    except Exception:
        pass
    _original_exit(status)


_exit.__doc__ = _original_exit.__doc__
_exit.__name__ = "exit"
_exit.__qualname__ = "exit"


def _at_exit() -> None:
    invocation = current()
    if invocation is not None:
        # An exception that ended the program was printed by the interpreter,
        # which leaves it in sys.last_value (3.9+) before atexit runs.
        last = getattr(sys, "last_value", None)
        if isinstance(last, BaseException) and not isinstance(last, SystemExit):
            code = 130 if isinstance(last, KeyboardInterrupt) else 1
            end(invocation, code, last, None)
        else:
            end(invocation, 0, None, None)
    flush()


def end(
    invocation: Invocation,
    exit_code: int,
    cause: "BaseException | None",
    frame: "object | None",
) -> None:
    """Close ``invocation`` with its outcome, queue its event(s), and flush to the spool."""
    if invocation.done:
        return
    invocation.done = True
    try:
        fields = invocation.describe(invocation, exit_code, cause, frame)  # type: ignore[operator]
        finish(invocation, **fields)
    except Exception as exc:
        if config.debug_enabled():
            sys.stderr.write(
                "autotelemetry: could not build the event (%s: %s)\n" % (type(exc).__name__, exc)
            )
    flush()


def exit_status(code: object) -> int:
    """The process exit status ``sys.exit(code)`` produces (POSIX semantics)."""
    if code is None:
        return 0
    if isinstance(code, bool) or not isinstance(code, int):
        return 1  # the interpreter prints the object and exits 1
    return code & 0xFF if os.name != "nt" else code


def finish(
    invocation: Invocation,
    *,
    program: str,
    command: "list[str]",
    flags: "list[str]",
    exit_code: int,
    status: str,
    error_type: "str | None",
    version: "str | None",
    framework: "str | None" = None,
) -> "dict[str, object]":
    """Build the ``command`` event for a finished invocation and queue it."""
    from time import perf_counter, time

    now = perf_counter()
    duration_ms = round((now - invocation.t0) * 1000.0, 3)
    started = time() - (now - invocation.t0)
    record = {
        "schema_version": event.SCHEMA_VERSION,
        "event_id": event.new_id(),
        "type": "command",
        "timestamp": event.rfc3339(started),
        "session_id": session_id(),
        "install_id": None,  # filled at flush time, when the home is known to work
        "cli": {
            "name": program,
            "version": version,
            "framework": framework or invocation.framework,
        },
        "env": None,
        "command": " ".join([program, *command]),
        "flags": sorted(set(flags)),
        "duration_ms": duration_ms,
        "exit_code": exit_code,
        "status": status,
        "error_type": error_type,
    }
    _pending.append({"pid": invocation.pid, "event": record})
    return record


_session_id: "str | None" = None


def session_id() -> str:
    global _session_id
    if _session_id is None:
        _session_id = event.new_id()
    return _session_id


def install_id(home: str) -> str:
    """The random per-user id, created on first use (never derived from the machine)."""
    global _install_id
    if _install_id is None:
        path = os.path.join(home, "install_id")
        try:
            with open(path, encoding="ascii") as f:
                value = f.read(64).strip()
        except FileNotFoundError:
            value = ""
        if len(value) != 36:
            value = event.new_id()
            fd = os.open(
                path + ".tmp%d" % os.getpid(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
            )
            try:
                os.write(fd, value.encode("ascii") + b"\n")
            finally:
                os.close(fd)
            os.replace(path + ".tmp%d" % os.getpid(), path)
        _install_id = value
    return _install_id


def flush() -> None:
    """Write every pending event of this process to the spool. Never raises."""
    pid = os.getpid()
    mine = [item["event"] for item in _pending if item["pid"] == pid]
    del _pending[:]  # a forked child must not write its parent's events again
    if not mine:
        return
    debug = config.debug_enabled()
    try:
        home = config.home_dir()
        config.ensure_private_dir(home)
        ident = install_id(home)
        env = event.environment()
        lines = []
        for record in mine:
            record["install_id"] = ident
            record["env"] = env
            lines.append(event.dumps(record))
        path = spool.write(home, lines)
        if debug:
            for line in lines:
                sys.stderr.write("autotelemetry: recorded " + line + "\n")
            sys.stderr.write("autotelemetry: spooled to " + path + "\n")
    except Exception as exc:
        if debug:
            sys.stderr.write(
                "autotelemetry: could not record (%s: %s)\n" % (type(exc).__name__, exc)
            )


def distribution_version(candidates: "list[str]") -> "str | None":
    """The installed version of the CLI, found without importing importlib.metadata.

    Tries each candidate (import package or program name): a ``__version__`` on
    an already-imported module, then a ``<name>-<version>.dist-info`` directory
    beside the package or in a site-packages directory on ``sys.path``.
    """
    wanted = []
    for name in candidates:
        if not name:
            continue
        top = name.split(".")[0]
        module = sys.modules.get(top)
        version = getattr(module, "__version__", None)
        if isinstance(version, str) and len(version) < 64:
            return version
        normal = top.lower().replace("-", "_").replace(".", "_")
        if normal not in wanted:
            wanted.append(normal)
    if not wanted:
        return None
    dirs = []
    for name in candidates:
        module = sys.modules.get((name or "").split(".")[0])
        path = getattr(module, "__file__", None)
        if path:
            dirs.append(os.path.dirname(os.path.dirname(path)))
    dirs.extend(p for p in sys.path if p.endswith("site-packages"))
    seen = set()
    for directory in dirs:
        if directory in seen:
            continue
        seen.add(directory)
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for entry in names:
            if not entry.endswith(".dist-info"):
                continue
            dist, _, version = entry[: -len(".dist-info")].partition("-")
            if dist.lower().replace("-", "_").replace(".", "_") in wanted and version:
                return version
    return None


#: At most one callable ``(caller_frame) -> Invocation | None`` that may open an
#: invocation when ``sys.exit`` is reached before any began (see observe_exit).
_late_begin: "list[object]" = []


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
    if late_begin is not None and not _late_begin:
        _late_begin.append(late_begin)
    if sys.exit is _original_exit:
        sys.exit = _exit
