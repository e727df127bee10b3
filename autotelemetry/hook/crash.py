"""Crash events: an uncaught exception turned into a sanitised, grouped record.

Imported only when a crash has happened (the recorder calls :func:`record` at
exit and :func:`record_thread` from the ``threading.excepthook`` it installs),
so a run that does not crash pays nothing for it. Every string goes through
:mod:`autotelemetry.hook.privacy` before it is put into the event. Nothing here
raises to the host: :func:`record` catches everything.

Grouping: the fingerprint is a hash of the exception's qualified type and the
module/function of its *in-app* frames (consecutive repeats collapsed, so a
``RecursionError`` groups regardless of depth), never line numbers. A frame is
in-app when its module belongs to the distribution that owns the program's
entry point (found from ``entry_points.txt``/``RECORD`` in site-packages), or,
for a plain script, when it is the script itself or a module beside it (the script is
found through ``__main__.__loader__`` once CPython has dropped ``__main__.__file__``).

Rate limit: the same fingerprint is stored once per :data:`WINDOW_SECONDS`;
later occurrences inside the window only count, and that count rides on the
next stored event of the fingerprint (``count``). Window state lives in
``<home>/crash-state`` (one line per fingerprint); the counts in
``<home>/crash-repeats/`` (one empty file per suppressed crash), so concurrent
crashes never lose one (:func:`count_repeat`, :func:`take_repeats`).
"""

import os
import sys

from autotelemetry.hook import config, event, fs, identity, privacy, recorder

#: One crash event per fingerprint per window; repeats inside it are counted.
WINDOW_SECONDS = 3600
STATE_FILE = "crash-state"
#: Fingerprints remembered in the state file (least recently seen are dropped).
STATE_ENTRIES = 256
#: Chained exceptions recorded (by type) per crash.
CHAIN_LIMIT = 10

_app: "dict[str, object]" = {}


# --- in-app decision -------------------------------------------------------------------


def _sites_on_path() -> "list[str]":
    seen: list[str] = []
    for path in sys.path:
        site = path and path.rstrip("/\\").endswith(("site-packages", "dist-packages"))
        if site and path not in seen:
            seen.append(path)
    return seen


def _dist_top_levels(dist_info: str) -> "set[str]":
    """Top-level import names a distribution installs (from top_level.txt or RECORD)."""
    names: set[str] = set()
    data = privacy.read_regular(os.path.join(dist_info, "top_level.txt"), 1 << 16)
    if data:
        text = data.decode("utf-8", "replace")
        names.update(line.strip() for line in text.splitlines() if line.strip())
    data = privacy.read_regular(os.path.join(dist_info, "RECORD"), 1 << 22)
    if data is None:
        return names
    for line in data.decode("utf-8", "replace").splitlines():
        path = line.split(",", 1)[0]
        first = path.split("/", 1)[0]
        if not first or first.startswith("..") or first.endswith((".dist-info", ".pth")):
            continue
        if first == "__pycache__" or first.endswith(".data"):
            continue
        if "/" not in path:
            if not first.endswith(".py"):
                continue
            first = first[:-3]
        names.add(first)
    return names


def _entry_point_owner(program: str) -> "set[str]":
    """Top-level packages of the distribution whose console script is ``program``."""
    # A .dist-info directory is "{name}-{version}" with the name's "-" and "." as "_"
    # (the wheel spec; older installers kept the dots): normalised so, then the separator.
    normal = program.lower().replace("-", "_").replace(".", "_") + "-"
    for directory in _sites_on_path():
        try:
            listed = os.listdir(directory)
        except OSError:
            continue
        # The distribution named like the program first: usually the owner, found
        # after one file read instead of one per installed distribution.
        named = event.dist_infos_named(listed, normal)
        owner = _owner_among(directory, named, program)
        if owner is None:
            others = []
            for entry in listed:
                if entry[-10:] == ".dist-info" and entry not in named:
                    others.append(entry)
            owner = _owner_among(directory, others, program)
        if owner is not None:
            return owner
    return set()


def _owner_among(directory: str, entries: "list[str]", program: str) -> "set[str] | None":
    """Top-level packages of the first of ``entries`` whose console script is ``program``."""
    for entry in entries:
        dist_info = os.path.join(directory, entry)
        data = privacy.read_regular(os.path.join(dist_info, "entry_points.txt"), 1 << 16)
        if data is None:
            continue
        section = ""
        for raw in data.decode("utf-8", "replace").splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line
            elif section in ("[console_scripts]", "[gui_scripts]") and "=" in line:
                name, _, target = line.partition("=")
                if name.strip() == program:
                    names = _dist_top_levels(dist_info)
                    names.add(target.strip().split(":")[0].split(".")[0])
                    return names
    return None


def app_packages(program: "str | None") -> "set[str]":
    """Top-level module names that count as the application's own code."""
    key = program or ""
    if key in _app:
        return _app[key]  # type: ignore[return-value]
    names: set[str] = set()
    if program:
        names = _entry_point_owner(program)
        if not names and not program.endswith((".py", ".pyw")):
            names = {program.split(".")[0]}  # python -m pkg
    if not names or program is None or program.endswith((".py", ".pyw")):
        names.add("__main__")
    _app[key] = names
    return names


def _app_paths(program: "str | None") -> "list[str]":
    """Where the application's top-level packages (or modules) are loaded from."""
    paths = []
    for name in app_packages(program):
        path = privacy.module_file(name) if name != "__main__" else None
        if path is not None:
            stem = os.path.basename(path).split(".")[0]
            paths.append(os.path.dirname(path) if stem == "__init__" else path)
    return paths


def main_file() -> "str | None":
    """The ``__main__`` script's absolute path, also after an uncaught exception.

    CPython deletes ``__main__.__file__`` once the script has raised, before
    ``atexit`` runs; the loader it set up for the script (``__loader__``, with the
    same path, 3.9+) stays. Read only on the crash path: nothing is noted earlier.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return None
    try:
        namespace = privacy._namespace(main)
    except Exception:
        return None
    path = namespace.get("__file__")
    if not isinstance(path, str):
        loader = namespace.get("__loader__")
        path = (
            getattr(loader, "path", None) if getattr(loader, "name", None) == "__main__" else None
        )
    if not isinstance(path, str) or not path:
        return None
    return os.path.abspath(path)


def _script_dir() -> "str | None":
    main = main_file()
    if main is None or not main.endswith((".py", ".pyw")):
        return None
    return os.path.dirname(main)


def _in_app(module: str, filename: str, apps: "set[str]", script_dir: "str | None") -> bool:
    if module.split(".")[0] in apps:
        return True
    if script_dir and filename and not filename.startswith("<"):
        # A script's sibling modules are the project's code, unless installed packages.
        path = os.path.abspath(filename)
        if path.startswith(script_dir + os.sep) and "site-packages" not in path:
            return True
    return False


# --- the event ---------------------------------------------------------------------------


def qualified_type(exc: BaseException, names: "tuple[str, ...]" = ()) -> str:
    cls = type(exc)
    module = getattr(cls, "__module__", None) or ""
    name = getattr(cls, "__qualname__", None) or cls.__name__
    if module == "builtins":
        return privacy.scrub(name)
    # The typed-value belt for every other class: one of a module imported by a typed
    # name (``--app NAME``) names the value, and so does one the program builds from
    # what was typed (``type(name, (Exception,), {})``).
    qualified = name if module in ("__main__", "") else module + "." + name
    return privacy.code_name(qualified, False, names)


def frames(
    tb: "object", program: "str | None", names: "tuple[str, ...]" = ()
) -> "tuple[list[dict], int]":
    """Sanitised frames of a traceback, outermost first (innermost last), and the total.

    Only the outermost and innermost frames of a very deep traceback are kept.
    """
    apps = app_packages(program)
    script_dir = _script_dir()
    in_app_dir = script_dir if "__main__" in apps else None
    out: list[dict] = []
    # Walk at most a bounded number of frames: a RecursionError has ~1000.
    raw = []
    while tb is not None:
        raw.append(tb)
        tb = tb.tb_next  # type: ignore[attr-defined]
    total = len(raw)
    if len(raw) > privacy.FRAME_LIMIT * 4:
        raw = raw[: privacy.FRAME_LIMIT] + raw[-privacy.FRAME_LIMIT * 2 :]
    for item in raw:
        frame = item.tb_frame  # type: ignore[attr-defined]
        code = frame.f_code
        module = frame.f_globals.get("__name__")
        if not isinstance(module, str):
            module = "<unknown>"
        function = getattr(code, "co_qualname", None) or code.co_name
        filename = code.co_filename or ""
        own = privacy.program_file(filename)  # else a file it ran: names may be typed
        out.append(
            {
                "module": privacy.code_name(module, own, names),
                "function": privacy.code_name(function, own, names),
                "line": item.tb_lineno,  # type: ignore[attr-defined]
                "file": privacy.relative_file(filename, module, script_dir),
                "in_app": _in_app(module, filename, apps, in_app_dir),
            }
        )
    return out, total


def chain(exc: BaseException, names: "tuple[str, ...]" = ()) -> "list[dict]":
    """The exceptions ``exc`` was raised from or during, by type only, nearest first."""
    out: list[dict] = []
    seen = {id(exc)}
    current = exc
    while len(out) < CHAIN_LIMIT:
        nxt = current.__cause__
        relation = "cause"
        if nxt is None and not current.__suppress_context__:
            nxt, relation = current.__context__, "context"
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        out.append({"type": qualified_type(nxt, names), "relation": relation})
        current = nxt
    return out


def _fnv64(text: str) -> str:
    """A stable 64-bit FNV-1a hash (``hash()`` is salted per process; no hashlib needed)."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogatepass"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % value


def fingerprint(type_name: str, all_frames: "list[dict]") -> str:
    """Type plus in-app frames' module/function (repeats collapsed); no line numbers.

    With no in-app frame at all, the innermost frame's module/function stands in.
    """
    parts: list[str] = []
    for f in all_frames:
        if f["in_app"]:
            part = f["module"] + ":" + f["function"]
            if not parts or parts[-1] != part:
                parts.append(part)
    if not parts and all_frames:
        parts.append(all_frames[-1]["module"] + ":" + all_frames[-1]["function"])
    return _fnv64(type_name + "|" + "|".join(parts))


def _names(program: "str | None", command: "str | None") -> "tuple[str, ...]":
    """The program's name and its command path's (``"mycli db migrate"``): names, not values."""
    names = command.split() if isinstance(command, str) else []
    return tuple([program, *names] if program else names)


def build(
    exc: BaseException,
    tb: "object",
    *,
    program: "str | None",
    command: "str | None",
    version: "str | None",
    framework: "str | None",
    session_id: str,
    event_id: str,
    timestamp: str,
    thread: "str | None" = None,
    messages: bool = True,
    flags: "list[str] | tuple[str, ...]" = (),
) -> "dict[str, object]":
    """The ``crash`` event (without ``install_id``/``env``, filled at flush time).

    ``messages=False`` (the ``crash_messages`` setting) stores ``message: null``.
    ``flags``: the command event's option names, which the typed-value belt leaves alone.
    """
    privacy.note_main_file(main_file())
    privacy.note_program_code(_app_paths(program))
    names = _names(program, command) + tuple(f for f in flags if isinstance(f, str))
    type_name = qualified_type(exc, names)
    every, total = frames(tb, program, names)
    kept, _ = privacy.limit_frames(every)
    omitted = total - len(kept)
    exception: dict[str, object] = {
        "type": type_name,
        "message": privacy.exception_message(exc, tb, names) if messages else None,
        "frames": kept,
        "frames_omitted": omitted,
        "fingerprint": fingerprint(type_name, every),
        "chain": chain(exc, names),
    }
    return {
        "schema_version": event.SCHEMA_VERSION,
        "event_id": event_id,
        "type": "crash",
        "timestamp": timestamp,
        "session_id": session_id,
        "install_id": None,
        "cli": {"name": program or "unknown", "version": version, "framework": framework},
        "env": None,
        "command": command,
        "thread": thread or "main",
        "count": 1,
        "exception": exception,
    }


# --- rate limit ---------------------------------------------------------------------------


def admit(home: str, fp: str, now: float) -> "int | None":
    """Whether to store a crash with fingerprint ``fp`` now.

    Returns the number of occurrences the stored event stands for (this one plus
    those suppressed since the last stored one), or ``None`` to suppress it.
    The window is a read-modify-write of a small file, replaced atomically:
    concurrent crashes can at worst store one extra event, never corrupt it;
    the counts are files of their own, so none is lost.
    """
    fs.private_dir(home)
    path = os.path.join(home, STATE_FILE)
    entries: dict[str, list[float]] = {}
    try:
        # A state that is not ours (or too big) counts as none: it is replaced below.
        data = fs.read_file(path, 1 << 16) or b""
    except OSError:
        data = b""
    for line in data.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 4:
            try:
                entries[parts[0]] = [float(parts[1]), float(parts[2]), float(parts[3])]
            except ValueError:
                continue
    # entry: [window start (last stored), last seen, occurrences suppressed since (an
    # older version's count; now kept in REPEATS_DIR)]
    entry = entries.get(fp)
    if entry is not None and 0 <= now - entry[0] < WINDOW_SECONDS:
        count_repeat(home, fp)
        return None
    result = 1 + (int(entry[2]) if entry is not None else 0) + take_repeats(home, fp)
    entries[fp] = [now, now, 0]
    keep = sorted(entries.items(), key=lambda kv: -kv[1][1])[:STATE_ENTRIES]
    text = "".join("%s %.3f %.3f %d\n" % (k, v[0], v[1], v[2]) for k, v in keep)
    fs.write_file(path, text.encode("ascii"))
    return result


#: One empty file per crash the rate limit suppressed, named ``<fingerprint>.<ns>.<pid>.<rand>``.
REPEATS_DIR = "crash-repeats"


def count_repeat(home: str, fp: str) -> None:
    """Count one suppressed crash of ``fp``: a new empty file (``O_EXCL``), no shared counter
    to read and rewrite, so concurrent crashes cannot lose a count and nothing waits."""
    from time import time_ns

    directory = fs.private_dir(os.path.join(home, REPEATS_DIR))
    name = "%s.%d.%d.%s" % (fp, time_ns(), os.getpid(), os.urandom(4).hex())
    fs.make_file(os.path.join(directory, name))


def take_repeats(home: str, fp: str) -> int:
    """The suppressed crashes of ``fp`` counted so far, taken: each file is deleted by
    exactly one taker (``unlink`` succeeds once), so no count is carried twice."""
    try:
        directory = fs.private_dir(os.path.join(home, REPEATS_DIR), False)
        names = os.listdir(directory)
    except OSError:
        return 0
    taken = 0
    prefix = fp + "."
    for name in names:
        if name.startswith(prefix):
            try:
                os.unlink(os.path.join(directory, name))
                taken += 1
            except OSError:
                pass
    return taken


# --- recording (called by the recorder) ------------------------------------------------


#: Main-thread exceptions already recorded (the objects: an id() is reused once freed).
_crashes_seen: "list[BaseException]" = []


def record(
    invocation: "recorder.Invocation | None",
    exc: BaseException,
    command_event: "dict | None",
    tb: "object | None" = None,
    thread: "str | None" = None,
) -> None:
    """Queue a sanitised ``crash`` event for ``exc`` (sharing the session id). Never raises."""
    try:
        if thread is None:
            for seen in _crashes_seen:
                if seen is exc:
                    return  # one event per exception object
            # Kept alive: it is sys.last_value anyway. A thread's exception is never
            # kept (its frames' locals are freed as without us), nor compared.
            _crashes_seen.append(exc)
        from time import time

        if command_event is not None:
            cli = command_event["cli"]
            program, version, framework = cli["name"], cli["version"], cli["framework"]
            command = command_event["command"]
        else:
            program = identity.program() or "unknown"
            version = event.distribution_version([program])
            framework = invocation.framework if invocation is not None else None
            command = program
        crash = build(
            exc,
            tb if tb is not None else exc.__traceback__,
            program=program,
            command=command,
            version=version,
            framework=framework,
            session_id=recorder.session(),
            event_id=event.new_id(),
            timestamp=event.rfc3339(time()),
            thread=thread,
            messages=config.current_settings().values["crash_messages"] is not False,
            flags=command_event.get("flags") or () if command_event is not None else (),
        )
        home = identity.home_dir()
        count = admit(home, crash["exception"]["fingerprint"], time())  # type: ignore[index]
        if count is None:
            config.debug("crash already recorded this window; counted")
            return
        crash["count"] = count
        recorder.queue_event(crash)
    except BaseException as exc2:  # a failure here must never reach the host
        if config.debug_enabled():
            try:
                sys.stderr.write(
                    "autotelemetry: could not build the crash event (%s)\n" % type(exc2).__name__
                )
            except BaseException:
                pass


def record_thread(exc: BaseException, tb: "object") -> None:
    """A thread died of ``exc``: record it now (the process may live on for long)."""
    invocation = recorder.own()
    command_event = None
    if invocation is not None:
        command_event = invocation.command_event
        if command_event is None and not invocation.done:
            try:  # the command as far as known while it still runs
                ended = recorder.ending(1, None, None)
                outcome = invocation.integration.describe(invocation, ended)
                program = identity.program() or "unknown"
                command_event = {
                    "cli": {
                        "name": program,
                        "version": outcome.version,
                        "framework": outcome.framework or invocation.framework,
                    },
                    "command": " ".join([program, *outcome.command]),
                }
            except Exception:
                command_event = None
    # "thread", never the thread's name: names are the program's data, not ours.
    record(invocation, exc, command_event, tb, "thread")
    recorder.flush()
