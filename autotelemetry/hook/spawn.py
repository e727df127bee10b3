"""Deciding, at a host CLI's exit, whether to start the detached sender: cheaply and rarely.

Hot path: imported by :func:`autotelemetry.hook.recorder.flush` only when an
endpoint is configured (``AUTOTELEMETRY_ENDPOINT``, a config file, or an
``OTEL_EXPORTER_OTLP_*ENDPOINT`` fallback), and it imports nothing but ``os``
(``fcntl`` when a spawn is due; the parser of option values, when a variable sets
the intervals, and the launch are loaded through ``handover.lazy``). One ``os.lstat``
of the stamp file decides; a
spawn happens at most once per interval (and not before the next retry time,
which the sender encodes in the stamp's mtime), so a thousand CLI runs start a
handful of senders. The exit that claims one hands the claim to
:mod:`autotelemetry.hook.launch`, which starts the sender.
"""

import os

from autotelemetry.hook import fs, handover

STAMP = "sender.stamp"
#: The sender's claim: an exclusive ``flock`` on this file, held for its whole life.
LOCK = "sender.lock"


def interval(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> float:
    """Seconds between spawns (``send_interval``); the sender lingers that long."""
    return float(handover.lazy("values").value("send_interval", environ))


def max_ahead(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> float:
    """How far in the future a stamp may legitimately point: the longest backoff.

    A stamp further ahead was written before the clock jumped back; honouring it
    would stop every spawn until the clock caught up (hours, days).
    """
    return interval(environ) + float(handover.lazy("values").value("retry_max", environ)) + 60.0


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
        launch = handover.lazy("launch")  # its own module: a few runs in a thousand need it
    except Exception:
        os.close(lock)  # the claim dies with it: the next due run tries again
        return None
    return launch.start(lock)
