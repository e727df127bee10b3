"""Launching the detached sender, once a host CLI's exit has claimed the right to.

:func:`autotelemetry.hook.spawn.maybe_spawn` decides (one ``lstat`` of the stamp in
the common case) and claims (the sender lock); only the rare exit that wins a claim,
a few in a thousand runs, loads this module (``handover.lazy("launch")``): the
sender's command line, its environment (:func:`sender_env`) and the descriptors it
must not inherit. Every other endpoint run leaves it, and its tables of variable
names, unloaded. ``os`` and ``sys`` only (no ``subprocess``: importing it costs more
than everything else we do at exit).
"""

import os
import sys


def start(lock: int) -> int:
    """Start ``python -m autotelemetry.sender`` with the claim ``lock`` as its fd 3; its pid.

    The child gets a new session, ``/dev/null`` for stdio and none of the host's
    inheritable descriptors (argcomplete's fd 8/9 included). ``lock`` is closed here
    either way: the sender holds its own copy of the claim. Raises ``OSError`` when the
    start fails (the caller swallows it).
    """
    try:
        if lock <= 3:
            # The claim must reach the sender as its fd 3. One at 0-2 (a host that closed
            # its stdio) would be overwritten by /dev/null first, and dup2 onto itself (3)
            # would keep close-on-exec set: move it above 3, close-on-exec (only the
            # sender's fd 3 is inherited). fcntl is loaded already: the claim took it.
            import fcntl

            moved = fcntl.fcntl(lock, fcntl.F_DUPFD_CLOEXEC, 4)
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


__all__ = ["sender_env", "start"]
