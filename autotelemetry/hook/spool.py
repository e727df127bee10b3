"""The spool: one small JSON Lines file per process, the durable hand-off point.

Writers are host CLIs at exit (:func:`write`, hot path: ``os`` only); the
readers (ingest into the store, the sender, ``status``) are in
:mod:`autotelemetry.store.ingest`. A spool file is created under a dot-prefixed temporary name
and renamed into place, so a reader never sees a half-written file; a writer
killed mid-write leaves only a ``.tmp`` file, which readers delete once stale.
"""

import os

from autotelemetry.hook import config, fs

SPOOL_DIR = "spool"
QUARANTINE_DIR = "quarantine"
SUFFIX = ".jsonl"


def spool_dir(home: str) -> str:
    return os.path.join(home, SPOOL_DIR)


def write(home: str, lines: "list[str]") -> str:
    """Atomically add one spool file holding ``lines`` (one JSON event each).

    ``home`` has passed :func:`fs.private_dir` (the caller checks it once per run).
    Raises ``OSError`` on any failure (the caller swallows it); never leaves a
    partial file under a final name.
    """
    directory = fs.private_dir(spool_dir(home))
    from time import time_ns

    rand = os.urandom(4)
    name = "%020d-%d-%s%s" % (time_ns(), os.getpid(), rand.hex(), SUFFIX)
    final = os.path.join(directory, name)
    fs.write_file(final, _spool_bytes(lines))
    if rand[0] < 256 // AMORTISE_EVERY:
        # Amortised cap: about one writer in AMORTISE_EVERY checks the limits, and at
        # most one check per home every LIMITS_EVERY seconds (a scan is O(spool size),
        # so a run rate alone must not decide how often CLIs pay for it).
        try:
            if _limits_due(home, time_ns()):
                enforce_limits(home)
        except OSError:
            pass
    return final


def rewrite(path: str, lines: "list[str]") -> None:
    """Replace the spool file ``path`` this process wrote with ``lines``, atomically.

    Used when the real exit status of a run turns out to differ from the one
    first recorded (:func:`autotelemetry.hook.recorder.settle`). The event ids
    are unchanged: a reader that ingested the first version ignores this one.
    """
    fs.write_file(path, _spool_bytes(lines))


def _spool_bytes(lines: "list[str]") -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


#: Stamp whose mtime is the last limit check by a writer.
LIMITS_STAMP = "spool.limits"
#: A writer checks the limits at most once per this many seconds per home.
LIMITS_EVERY = 60


def _limits_due(home: str, now_ns: int) -> bool:
    """Claim this home's limit check if the last one is ``LIMITS_EVERY`` s old (``os`` only).

    A stamp from the future (the clock was ahead, or jumped back) is as old as it
    is far: it never switches the limits off. The stamp is set through the trusted
    open (a stamp that is not ours raises).
    """
    path = os.path.join(home, LIMITS_STAMP)
    now = now_ns / 1e9
    try:
        if 0 <= now - os.lstat(path).st_mtime < LIMITS_EVERY:
            return False
    except FileNotFoundError:
        pass
    fs.touch_file(path, now)
    return True


# --- limits (oldest evicted first, every eviction counted) --------------------

EVICTIONS_DIR = "evictions"
#: A writer checks the limits with probability 1/AMORTISE_EVERY.
AMORTISE_EVERY = 64


def limits() -> "tuple[int, int, int]":
    """(max bytes, max files, max age in seconds), from the option table."""
    return (
        int(config.value("spool_max_bytes")),  # type: ignore[call-overload]
        int(config.value("spool_max_files")),  # type: ignore[call-overload]
        int(config.value("spool_max_age")),  # type: ignore[call-overload]
    )


def enforce_limits(home: str) -> int:
    """Evict the oldest spool files beyond the caps; returns how many were removed.

    ``os`` only (a writer may call it). Each eviction is counted in a tiny
    file under ``evictions/`` whose name carries the count, so concurrent
    evictors never race on a shared counter; the sender folds them into the
    store. A file another process removed first is not counted twice.
    """
    from time import time_ns

    max_bytes, max_files, max_age = limits()
    try:
        directory = fs.private_dir(spool_dir(home), create=False)
        names = sorted(n for n in os.listdir(directory) if n.endswith(SUFFIX) and n[0] != ".")
    except OSError:
        return 0
    now = time_ns()
    victims: "list[str]" = []
    keep: "list[str]" = []
    for name in names:
        try:
            born = int(name.split("-", 1)[0])
        except ValueError:
            born = now
        (victims if now - born > max_age * 1_000_000_000 else keep).append(name)
    excess = len(keep) - max_files
    if excess > 0:
        victims += keep[:excess]
        keep = keep[excess:]
    sizes = []
    total = 0
    for name in keep:
        try:
            size = os.lstat(os.path.join(directory, name)).st_size
        except OSError:
            size = 0
        sizes.append(size)
        total += size
    i = 0
    while total > max_bytes and i < len(keep):
        victims.append(keep[i])
        total -= sizes[i]
        i += 1
    removed = 0
    for name in victims:
        try:
            os.unlink(os.path.join(directory, name))
            removed += 1
        except OSError:
            pass
    if removed:
        marks = fs.private_dir(os.path.join(home, EVICTIONS_DIR))
        name = "%020d-%s-%d" % (now, os.urandom(6).hex(), removed)  # count last
        fs.make_file(os.path.join(marks, name))
    return removed
