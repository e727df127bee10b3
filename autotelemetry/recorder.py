"""Turns a finished invocation into an event and gets it onto disk before exit.

The framework integrations (:mod:`autotelemetry.instrument`) call :func:`begin`
when a command starts, with a ``describe`` callback; the outcome is observed
here, at ``sys.exit`` (:func:`_exit`) or at interpreter exit (:func:`_at_exit`,
which also finds an uncaught exception in ``sys.last_value``), and :func:`end`
turns it into the event(s). This module owns everything framework-independent:
timing, exit-status normalisation, identity, the event itself (ids, environment
fingerprint, JSON encoding) and writing the spool; crash events are built by
:mod:`autotelemetry.crash`, imported only when a crash happened. Events are
flushed as soon as the outcome is known and again from ``atexit`` for anything
still pending. In local mode nothing here touches the network or spawns a process.
"""

import os
import sys

from autotelemetry import config, spool
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
        _install_thread_hook()
        _atexit_registered = True
    invocation = Invocation(framework, describe)
    _open[:] = [invocation]
    _export_session()
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
    else:
        _late_crash()
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
        crashed = _is_crash(cause)
        if crashed:
            # Framework-independent: an uncaught exception is a crash whatever
            # the integration's classification says.
            fields["status"] = "crash"
            fields["error_type"] = fields.get("error_type") or type(cause).__qualname__
        record = finish(invocation, **fields)
        invocation.data["command_event"] = record
        if crashed:
            from autotelemetry import crash

            crash.record(invocation, cause, record)  # type: ignore[arg-type]
    except Exception as exc:
        if config.debug_enabled():
            sys.stderr.write(
                "autotelemetry: could not build the event (%s: %s)\n" % (type(exc).__name__, exc)
            )
    flush()


# --- crashes (the work happens in autotelemetry.crash, imported only on a crash) -----


def _is_crash(cause: "object") -> bool:
    """An exception the interpreter printed as uncaught (not an exit, not Ctrl-C)."""
    return (
        isinstance(cause, BaseException)
        and not isinstance(cause, (SystemExit, KeyboardInterrupt))
        and cause is getattr(sys, "last_value", None)
    )


def _late_crash() -> None:
    """An uncaught exception after the invocation was already closed (still a crash)."""
    if not _open or _open[0].pid != os.getpid():
        return
    last = getattr(sys, "last_value", None)
    if _is_crash(last):
        from autotelemetry import crash

        invocation = _open[0]
        crash.record(invocation, last, invocation.data.get("command_event"))  # type: ignore[arg-type]


_previous_thread_hook: "list[object]" = []


def _install_thread_hook() -> None:
    """Chain ``threading.excepthook`` (only if threading is loaded: no import for it)."""
    threading = sys.modules.get("threading")
    if threading is None or _previous_thread_hook:
        return
    previous = getattr(threading, "excepthook", None)
    if previous is None:
        return
    _previous_thread_hook.append(previous)

    def excepthook(args):  # type: ignore[no-untyped-def]
        try:
            exc = args.exc_value
            if isinstance(exc, BaseException) and not isinstance(
                exc, (SystemExit, KeyboardInterrupt)
            ):
                from autotelemetry import crash

                crash.record_thread(exc, args.exc_traceback)
        except BaseException:
            pass
        previous(args)

    excepthook.__doc__ = getattr(previous, "__doc__", None)
    threading.excepthook = excepthook


def exit_status(code: object) -> int:
    """The process exit status ``sys.exit(code)`` produces (POSIX semantics)."""
    if code is None:
        return 0
    if not isinstance(code, int):
        return 1  # the interpreter prints the object and exits 1
    # bool is an int: sys.exit(False) exits 0, sys.exit(True) 1 (twine's `check`
    # returns a "failed" bool that its console script passes to sys.exit)
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
        "schema_version": SCHEMA_VERSION,
        "event_id": new_id(),
        "type": "command",
        "timestamp": rfc3339(started),
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
        _session_id = new_id()
    return _session_id


#: Exported by an instrumented invocation as it begins, so that an instrumented
#: CLI it runs records the parent's session as ``parent_session_id``.
PARENT_SESSION_VARIABLE = "AUTOTELEMETRY_PARENT_SESSION"
#: Exported beside it: the W3C ``traceparent`` of the parent's span, ``/``, and the span
#: id of the TRACEPARENT the parent saw (empty when none), so that a child can tell
#: whether a program in between set a TRACEPARENT of its own (which then wins).
PARENT_SPAN_VARIABLE = "AUTOTELEMETRY_PARENT_SPAN"
_HEX = frozenset("0123456789abcdef-")
#: [inherited parent session id or None], filled on first begin().
_parent_session: "list[str | None]" = []
#: [this run's trace context (the event's ``trace``), the TRACEPARENT span id seen].
_trace: "list[object]" = []


def _export_session() -> None:
    """Remember the inherited parent session and span context, then export ours.

    TRACEPARENT itself is exported to children only with ``export_traceparent``:
    it changes what every other program the CLI runs sees (docs/configuration.md).
    """
    try:
        environ = os.environ
        if not _parent_session:
            value = environ.get(PARENT_SESSION_VARIABLE, "")
            ok = len(value) == 36 and set(value) <= _HEX and value.count("-") == 4
            _parent_session.append(value if ok else None)
            _trace.extend(_trace_context(environ))
        environ[PARENT_SESSION_VARIABLE] = session_id()
        trace = _trace[0]
        ours = "00-%s-%s-%02x" % (trace["trace_id"], trace["span_id"], trace["flags"])  # type: ignore[index]
        environ[PARENT_SPAN_VARIABLE] = ours + "/" + _trace[1]  # type: ignore[operator]
        if config.current_settings().values["export_traceparent"]:
            environ["TRACEPARENT"] = ours
    except Exception:
        pass


def _trace_context(environ: "dict[str, str] | os._Environ[str]") -> "list[object]":
    """[this run's trace context, the TRACEPARENT span id seen]: the root of a new trace,
    unless TRACEPARENT or an instrumented parent's span is inherited (parsed by
    :mod:`autotelemetry.tracecontext`, imported only then)."""
    raw = getattr(environ, "_data", None) if os.name == "posix" else None
    if raw is None:
        inherited = "TRACEPARENT" in environ or PARENT_SPAN_VARIABLE in environ
    else:  # bytes keys: no decoding, no KeyError per miss
        inherited = b"TRACEPARENT" in raw or b"AUTOTELEMETRY_PARENT_SPAN" in raw
    if inherited:
        from autotelemetry import tracecontext

        return tracecontext.inherit(environ, PARENT_SPAN_VARIABLE)
    return [{"trace_id": os.urandom(16).hex(), "span_id": os.urandom(8).hex(), "flags": 1}, ""]


def parent_session_id() -> "str | None":
    return _parent_session[0] if _parent_session else None


def install_id(home: str) -> str:
    """The random per-user id, created on first use (never derived from the machine)."""
    global _install_id
    if _install_id is None:
        path = os.path.join(home, "install_id")
        try:
            with open(path, "rb") as f:  # text mode would import encodings.ascii
                value = f.read(64).decode("ascii", "replace").strip()
        except FileNotFoundError:
            value = ""
        if len(value) != 36:
            value = new_id()
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


def reset_install_id(home: str) -> str:
    """Forget this user's install id and create a new one (`autotelemetry reset-id`)."""
    global _install_id
    try:
        os.unlink(os.path.join(home, "install_id"))
    except FileNotFoundError:
        pass
    _install_id = None
    return install_id(home)


def flush() -> None:
    """Write every pending event of this process to the spool. Never raises."""
    pid = os.getpid()
    mine = []
    while _pending:  # pop, not copy-then-clear: a thread may queue a crash meanwhile
        try:
            item = _pending.pop(0)
        except IndexError:
            break
        if item["pid"] == pid:  # a forked child must not write its parent's events again
            mine.append(item["event"])
    if not mine:
        return
    debug = config.debug_enabled()
    try:
        mine = _apply_settings(mine, debug)
        if not mine:
            return
        home = config.home_dir()
        config.ensure_private_dir(home)
        ident = install_id(home)
        env = environment()
        lines = []
        for record in mine:
            record["install_id"] = ident
            record["env"] = env
            lines.append(dumps(record))
        path = spool.write(home, lines)
        if debug:
            for line in lines:
                sys.stderr.write("autotelemetry: recorded " + line + "\n")
            sys.stderr.write("autotelemetry: spooled to " + path + "\n")
        settings = config.current_settings()
        if settings.values["endpoint"]:
            # Tell the user once (on a terminal) before anything leaves the machine,
            # then maybe start the detached sender. Local mode: none of this runs.
            from autotelemetry import notice, spawn

            notice.maybe_show(home, settings)
            pid = spawn.maybe_spawn(home)
            if debug and pid:
                sys.stderr.write("autotelemetry: started sender (pid %d)\n" % pid)
    except Exception as exc:
        if debug:
            sys.stderr.write(
                "autotelemetry: could not record (%s: %s)\n" % (type(exc).__name__, exc)
            )


def _apply_settings(records: "list[dict]", debug: bool) -> "list[dict]":
    """Drop excluded subcommands; add parent session and sample rate; honour crash_messages.

    Done here, where every event (command or crash) passes and the command
    path is known.
    """
    settings = config.current_settings()
    parent = parent_session_id()
    pid = os.getpid()
    kept = []
    for record in records:
        cli = record.get("cli") or {}
        program = cli.get("name") or ""
        command = record.get("command") or ""
        rule = config.excluded(command, program) if command else None
        if rule is not None:
            if debug:
                sys.stderr.write(
                    "autotelemetry: %r excluded by '!%s', not recorded\n" % (command, rule)
                )
            continue
        if parent is not None:
            record["parent_session_id"] = parent
        if _trace:
            record["trace"] = _trace[0]
        record["pid"] = pid
        if not boot_state["forced"]:
            rate = settings.for_cli(program, "sample_rate")[0]
            if rate < 1.0:  # type: ignore[operator]
                record["sample_rate"] = rate
        exc = record.get("exception")
        if isinstance(exc, dict) and settings.values["crash_messages"] is False:
            exc["message"] = None
            for cause in exc.get("causes") or ():
                if isinstance(cause, dict):
                    cause["message"] = None
        kept.append(record)
    return kept


# --- the event (schema version 1): ids, timestamps, environment fingerprint, encoding ---
#
# Runs inside the host CLI at exit, so it imports nothing the host has not already
# loaded: ids come from ``os.urandom`` (no ``uuid``), time from ``time``, and events
# are encoded by a small JSON writer (no ``json``: importing it measurably slowed a
# minimal argparse CLI; see docs/performance.md). Readers (store, sender) use the
# real ``json`` module. (This was ``event.py``; one module fewer on the hot path
# saves every instrumented run ~0.4M instructions of import machinery.)

SCHEMA_VERSION = 1

#: Well-known CI variables, checked in order: (variable, provider).
CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github_actions"),
    ("GITLAB_CI", "gitlab"),
    ("CIRCLECI", "circleci"),
    ("TRAVIS", "travis"),
    ("BUILDKITE", "buildkite"),
    ("JENKINS_URL", "jenkins"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("TF_BUILD", "azure_pipelines"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket"),
    ("CODEBUILD_BUILD_ID", "aws_codebuild"),
    ("DRONE", "drone"),
    ("APPVEYOR", "appveyor"),
    ("SEMAPHORE", "semaphore"),
    ("BUILD_ID", "generic"),
)


def new_id() -> str:
    """A random (version 4) UUID string, without importing ``uuid``."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def rfc3339(epoch: float) -> str:
    """UTC timestamp with millisecond precision: ``2026-11-22T10:00:00.123Z``."""
    from time import gmtime, strftime

    millis = int(epoch * 1000) % 1000
    return strftime("%Y-%m-%dT%H:%M:%S", gmtime(epoch)) + ".%03dZ" % millis


def ci_provider(environ: "dict[str, str] | os._Environ[str]" = os.environ) -> "str | None":
    """The CI system this runs under, or ``None`` outside CI."""
    for variable, provider in CI_PROVIDERS:
        if environ.get(variable):
            return provider
    ci = environ.get("CI", "").strip().lower()
    if ci and ci not in ("0", "false", "no"):
        return "generic"
    return None


def _safe_token(value: str, limit: int = 32) -> str:
    return "".join(ch for ch in value if ch.isalnum() or ch in "._-+")[:limit]


def environment() -> "dict[str, object]":
    """The fingerprint every event carries. Nothing user-specific: no host or user names."""
    environ = os.environ
    if sys.platform == "win32":
        v = sys.getwindowsversion()
        os_name, os_version = "Windows", f"{v.major}.{v.minor}.{v.build}"
        arch = environ.get("PROCESSOR_ARCHITECTURE", "")
        shell = os.path.basename(environ.get("COMSPEC", ""))
    else:
        u = os.uname()
        os_name, os_version, arch = u.sysname, u.release, u.machine
        shell = os.path.basename(environ.get("SHELL", ""))
    provider = ci_provider(environ)
    try:
        tty = os.isatty(0) and os.isatty(1)
    except OSError:
        tty = False
    return {
        "os": _safe_token(os_name),
        "os_version": _safe_token(os_version, 64),
        "arch": _safe_token(arch),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "ci": provider is not None,
        "ci_provider": provider,
        "shell": _safe_token(shell) or None,
        "tty": tty,
    }


def _escape_table() -> "dict[int, str]":
    table = {i: "\\u%04x" % i for i in range(0x20)}
    table.update({0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})
    # Lone surrogates (surrogate-escaped argv bytes) cannot be UTF-8 encoded.
    table.update({i: "\\u%04x" % i for i in range(0xD800, 0xE000)})
    return table


_ESCAPES: "dict[int, str]" = {}


def dumps(value: object) -> str:
    """Compact JSON for the event's plain types (dict, list, str, int, float, bool, None)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            return '"' + value + '"'
        if not _ESCAPES:
            _ESCAPES.update(_escape_table())
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "null"
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(dumps(str(k)) + ":" + dumps(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return dumps(str(value))


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
        # The module's own dict, not getattr: a module ``__getattr__`` may warn
        # (Flask 3.1, Click 8.2 deprecate ``__version__``) on the host's stderr.
        version = getattr(module, "__dict__", {}).get("__version__")
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
