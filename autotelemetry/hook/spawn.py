"""Start the detached sender from a host CLI's exit, cheaply and rarely.

Hot path: imported by :func:`autotelemetry.hook.recorder.flush` only when an
endpoint is configured (``AUTOTELEMETRY_ENDPOINT``, a config file, or an
``OTEL_EXPORTER_OTLP_*ENDPOINT`` fallback), and it imports nothing but ``os`` and
``sys`` (no ``subprocess``: importing it costs more than everything else we do
at exit). One ``os.stat`` of the stamp file decides; a spawn happens at most
once per interval (and not before the next retry time, which the sender
encodes in the stamp's mtime), so a thousand CLI runs start a handful of
senders. The child gets a new session, ``/dev/null`` for stdio and none of
the host's inheritable descriptors (argcomplete's fd 8/9 included).
"""

import os
import sys

from autotelemetry.hook import fs, handover

STAMP = "sender.stamp"
#: The sender's claim: an exclusive ``flock`` on this file, held for its whole life.
LOCK = "sender.lock"


def interval(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> float:
    """Seconds between spawns (``send_interval``); the sender lingers that long."""
    return float(handover.lazy("options").value("send_interval", environ))


def max_ahead(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> float:
    """How far in the future a stamp may legitimately point: the longest backoff.

    A stamp further ahead was written before the clock jumped back; honouring it
    would stop every spawn until the clock caught up (hours, days).
    """
    return interval(environ) + float(handover.lazy("options").value("retry_max", environ)) + 60.0


def _window_open(mtime: float, now: float) -> bool:
    """Whether the stamp still forbids a spawn (its window is running, not a clock artefact)."""
    return mtime + interval() > now and mtime - now <= max_ahead()


def due(home: str, now: float) -> bool:
    """Whether a sender may be started now (stamp missing, or its window over)."""
    try:
        st = os.lstat(os.path.join(home, STAMP))
    except OSError:
        return True
    return not _window_open(st.st_mtime, now)


def touch(home: str, when: float) -> None:
    """Set the stamp's mtime: spawning is allowed again from ``when + interval``."""
    fs.touch_file(os.path.join(home, STAMP), when)


def _claim(home: str, now: float) -> "int | None":
    """The sender lock, taken without waiting, when a spawn is due; else ``None``.

    One ``lstat`` of the stamp decides in the common case (window open: no
    spawn). When it is due, an exclusive non-blocking ``flock`` on the sender
    lock is the claim: it fails at once while any sender runs. Under the lock
    the stamp is checked again and moved to now, so of the CLIs that finish
    together exactly one spawns; the lock then goes to the sender it starts,
    which holds it for its life (the kernel drops it when that process dies).
    A stamp or lock that is not ours (a symlink, a FIFO, another user's) starts
    nothing.
    """
    path = os.path.join(home, STAMP)
    try:
        st = os.lstat(path)
        if fs.refusal(st) is not None or _window_open(st.st_mtime, now):
            return None
    except FileNotFoundError:
        pass
    import fcntl

    try:
        fd = fs.open_file(os.path.join(home, LOCK), os.O_RDWR, True)[0]
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # never waits
        try:
            if _window_open(os.stat(path).st_mtime, now):
                raise BlockingIOError  # another CLI spawned a sender a moment ago
        except FileNotFoundError:
            pass
        touch(home, now)
    except OSError:
        os.close(fd)
        return None
    return fd


def _inherited_fds() -> "list[int]":
    """Inheritable descriptors above stderr (non-inheritable ones close at exec anyway)."""
    found = []
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            try:
                fd = int(name)
                if fd > 2 and os.get_inheritable(fd):
                    found.append(fd)
            except (ValueError, OSError):
                pass
        return found
    return [fd for fd in range(3, 256) if _inheritable(fd)]


def _inheritable(fd: int) -> bool:
    try:
        return os.get_inheritable(fd)
    except OSError:
        return False


#: What the sender needs from the host's environment; nothing else is passed on, so
#: the host's unrelated secrets (cloud keys, tokens) never reach a detached process.
KEEP_PREFIXES = ("AUTOTELEMETRY_", "LC_", "PYTHON", "XDG_")
KEEP_NAMES = frozenset(
    {
        "DO_NOT_TRACK",
        "HOME",
        "PATH",
        "LANG",
        "TZ",
        "TMPDIR",
        "VIRTUAL_ENV",
        "LOCALAPPDATA",
        "SYSTEMROOT",
        "USER",
        "LOGNAME",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    }
)
#: The OpenTelemetry variables the sender honours (autotelemetry.otel), and only those:
#: e.g. OTEL_EXPORTER_OTLP_METRICS_HEADERS (a credential we never use) stays behind.
OTEL_VARIABLES = frozenset(
    ["OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED", "OTEL_LOGS_EXPORTER", "OTEL_TRACES_EXPORTER"]
    + [
        "OTEL_EXPORTER_OTLP_" + signal + knob
        for signal in ("", "LOGS_", "TRACES_")
        for knob in (
            "ENDPOINT",
            "HEADERS",
            "PROTOCOL",
            "COMPRESSION",
            "TIMEOUT",
            "CERTIFICATE",
            "CLIENT_CERTIFICATE",
            "CLIENT_KEY",
        )
    ]
)


def sender_env(environ: "os._Environ[str] | dict[str, str]") -> "dict[str, str]":
    """The sender's environment: our own knobs, locale, paths, proxies and CA settings only."""
    env = {
        k: v
        for k, v in environ.items()
        if k in KEEP_NAMES or k.startswith(KEEP_PREFIXES) or k in OTEL_VARIABLES
    }
    env.pop("AUTOTELEMETRY_RUN", None)
    return env


def maybe_spawn(home: str) -> "int | None":
    """Start ``python -m autotelemetry.sender`` if one is due; its pid, or ``None``.

    The sender gets the claim (the locked ``sender.lock``) as its fd 3.
    """
    if os.name != "posix":
        return None  # no detached sender on Windows yet: `autotelemetry flush` sends
    from time import time

    lock = _claim(home, time())
    if lock is None:
        return None
    try:
        if lock == 3:  # dup2 onto itself would keep close-on-exec set
            moved = os.dup(lock)
            os.close(lock)
            lock = moved
        argv = [sys.executable, "-m", "autotelemetry.sender", "--locked", "3"]
        env = sender_env(os.environ)
        spawn = getattr(os, "posix_spawn", None)
        if spawn is not None:
            actions: "list[tuple[object, ...]]" = [
                (os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)
            ]
            actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds() if fd != lock]
            actions.append((os.POSIX_SPAWN_DUP2, lock, 3))
            return spawn(sys.executable, argv, env, file_actions=actions, setsid=True)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.setsid()
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.dup2(lock, 3)
                os.closerange(4, 65536)
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        return pid
    finally:
        os.close(lock)  # ours; the sender holds its own copy of the claim
