"""The spool: one small JSON Lines file per process, the durable hand-off point.

Writers are host CLIs at exit (:func:`write`, hot path: ``os`` only). Readers
are the store's ingest and the sender (everything else here), which may import
what they like. A spool file is created under a dot-prefixed temporary name
and renamed into place, so a reader never sees a half-written file; a writer
killed mid-write leaves only a ``.tmp`` file, which readers delete once stale.
"""

import os

from autotelemetry.config import ensure_private_dir

SPOOL_DIR = "spool"
QUARANTINE_DIR = "quarantine"
SUFFIX = ".jsonl"
#: A temporary file older than this belongs to a writer that died.
STALE_TMP_SECONDS = 600


def spool_dir(home: str) -> str:
    return os.path.join(home, SPOOL_DIR)


def write(home: str, lines: "list[str]") -> str:
    """Atomically add one spool file holding ``lines`` (one JSON event each).

    Raises ``OSError`` on any failure (the caller swallows it); never leaves a
    partial file under a final name.
    """
    ensure_private_dir(home)
    directory = ensure_private_dir(spool_dir(home))
    from time import time_ns

    name = "%020d-%d-%s%s" % (time_ns(), os.getpid(), os.urandom(4).hex(), SUFFIX)
    final = os.path.join(directory, name)
    tmp = os.path.join(directory, "." + name + ".tmp")
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return final


# --- reader side ------------------------------------------------------------


class CorruptSpoolFile(ValueError):
    """A spool file that cannot be parsed into events."""


def pending(home: str) -> "list[str]":
    """Spool files ready to read, oldest first (names start with a nanosecond time)."""
    directory = spool_dir(home)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, n) for n in sorted(names) if n.endswith(SUFFIX) and n[0] != "."]


def read(path: str) -> "list[dict]":
    """Parse one spool file; raises :class:`CorruptSpoolFile` if any line is bad."""
    import json

    with open(path, "rb") as f:
        data = f.read(16 << 20)
    events = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8", "surrogatepass"))
        except ValueError as exc:
            raise CorruptSpoolFile(f"line {number}: {exc}") from None
        if not isinstance(event, dict) or not isinstance(event.get("event_id"), str):
            raise CorruptSpoolFile(f"line {number}: not an event")
        events.append(event)
    return events


def quarantine(home: str, path: str) -> str:
    """Move a bad spool file aside (kept for `doctor`, never read again)."""
    directory = ensure_private_dir(os.path.join(home, QUARANTINE_DIR))
    target = os.path.join(directory, os.path.basename(path))
    os.replace(path, target)
    return target


def quarantined(home: str) -> "list[str]":
    try:
        return sorted(os.listdir(os.path.join(home, QUARANTINE_DIR)))
    except OSError:
        return []


def remove_stale_tmp(home: str, now: "float | None" = None) -> int:
    """Delete temporary files left by writers that died; returns how many."""
    from time import time

    now = time() if now is None else now
    directory = spool_dir(home)
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                pass
    return removed


def stats(home: str) -> "tuple[int, int]":
    """(number of pending files, their total bytes)."""
    count = size = 0
    for path in pending(home):
        try:
            size += os.stat(path).st_size
            count += 1
        except OSError:
            pass
    return count, size
