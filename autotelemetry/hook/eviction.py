"""The spool's caps: the oldest files evicted beyond them, every eviction counted.

A writer (a host CLI at exit, one run in :data:`spool.AMORTISE_EVERY`) calls
:func:`check`; readers (the sender, ingest) call :func:`enforce_limits` before
reading. Its own built module, loaded only by the writers whose turn it is: the
code is never run by the other runs, which would pay for its bytes all the same
(docs/performance.md). ``os`` only.
"""

import os

from autotelemetry.hook import env, fs, handover, spool

#: Stamp whose mtime is the last limit check by a writer.
LIMITS_STAMP = "spool.limits"
#: A writer checks the limits at most once per this many seconds per home.
LIMITS_EVERY = 60


def check(home: str) -> None:
    """A writer's turn: enforce the caps if this home's last check is old enough."""
    from time import time_ns

    if due(home, time_ns()):
        enforce_limits(home)


def due(home: str, now_ns: int) -> bool:
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


#: The caps' options as ``(name, raw variable, default)``. The built module holds them as
#: a literal (tools/amalgamate.py, FOLDED): a writer's turn loads the parser of option
#: values (:mod:`autotelemetry.hook.values`, 12 KB of byte-code, ~0.4M instructions) only
#: when one of the three variables is set, and the option table never.
CAPS = handover.lazy("options").env_columns("spool_max_bytes", "spool_max_files", "spool_max_age")


def limits() -> "tuple[int, int, int]":
    """(max bytes, max files, max age in seconds): the variables' values, else the defaults."""
    caps = []
    for name, variable, default in CAPS:
        if env.RAW is None or variable in env.RAW:
            default = handover.lazy("values").value(name)  # set: the parser decides
        caps.append(int(default))
    return caps[0], caps[1], caps[2]


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
        directory = fs.private_dir(spool.spool_dir(home), create=False)
        names = sorted(n for n in os.listdir(directory) if n.endswith(spool.SUFFIX) and n[0] != ".")
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
        marks = fs.private_dir(os.path.join(home, spool.EVICTIONS_DIR))
        name = "%020d-%s-%d" % (now, os.urandom(6).hex(), removed)  # count last
        fs.make_file(os.path.join(marks, name))
    return removed
