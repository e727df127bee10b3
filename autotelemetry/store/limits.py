"""Every cap, enforced by whichever process touches the data (docs/reliability.md).

The spool's caps (files, bytes, age) and the store's (events, bytes) hold in
every mode: host CLIs check the spool now and then (:func:`autotelemetry.hook.spool.write`,
one writer in 64, at most once a minute per home), and every reader — each
``autotelemetry`` command that ingests, and the sender — runs
:func:`before_ingest` and :func:`cap_store` around its ingest. Eviction is
always oldest first and always counted: spool evictions through the marks
writers leave in ``evictions/`` (folded here into the drop counters exactly
once), store evictions directly in the ledger. Nothing here trusts the clock
to switch a limit off: ages are measured both ways (a stamp or a temporary
from the future is as stale as one from the past).

Readers also remove what writers that died leave behind: temporaries of
``hook/fs.write_file`` (``.<name>.<random>.tmp``) in the home, the spool and
the quarantine; and they keep the quarantine and the corrupt-store copies
bounded (their contents are counted already).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from autotelemetry.hook import eviction, fs, spool, values
from autotelemetry.store import Store

#: A temporary of ours this old (either way: a clock may have jumped) belongs to a
#: writer that died; ``write_file`` finishes in milliseconds.
STALE_TMP_SECONDS = 600
#: Quarantined spool files kept for inspection (newest); their records are counted.
QUARANTINE_MAX_FILES = 100
QUARANTINE_MAX_BYTES = 8 << 20
#: ``hook/crash.py`` REPEATS_DIR: one empty file per crash suppressed by the rate limit.
CRASH_REPEATS_DIR = "crash-repeats"
#: Over the store's event cap, the oldest 1/CAP_SLACK of the cap more is deleted at once.
CAP_SLACK = 100
#: Meta keys: names of eviction marks already counted (exactly-once folding).
FOLDED_MARKS = "spool.folded_marks"


@dataclass
class Housekeeping:
    evicted: int = 0  # spool files evicted now by this process
    folded: int = 0  # evictions (anyone's) newly counted in the store
    removed_tmp: int = 0
    repeats_expired: int = 0


# --- temporaries ------------------------------------------------------------------------


def _is_our_tmp(name: str) -> bool:
    """``.<name>.<16 hex>.tmp`` (``hook/fs.write_file``, the store being built; 12 hex
    from older versions)."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    stem = name[1:-4]
    random = stem.rsplit(".", 1)[-1]
    return len(random) in (12, 16) and all(c in "0123456789abcdef" for c in random)


def remove_stale_tmp(home: str, now: float | None = None) -> int:
    """Delete temporaries left by writers that died (home, spool, quarantine); returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for directory in (home, spool.spool_dir(home), os.path.join(home, spool.QUARANTINE_DIR)):
        try:
            entries = list(os.scandir(fs.private_dir(directory, create=False)))
        except OSError:  # missing, or not a directory of ours: never entered
            continue
        for entry in entries:
            if not _is_our_tmp(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if abs(now - st.st_mtime) > STALE_TMP_SECONDS:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                pass
    return removed


# --- spool caps -------------------------------------------------------------------------


def eviction_marks(home: str) -> list[tuple[str, int]]:
    """(path, count) of every pending eviction mark."""
    try:
        directory = fs.private_dir(os.path.join(home, spool.EVICTIONS_DIR), create=False)
        entries = list(os.scandir(directory))
    except OSError:
        return []
    marks = []
    for entry in entries:
        try:
            if fs.refusal(entry.stat(follow_symlinks=False)) is None:  # only marks we wrote
                marks.append((entry.path, int(entry.name.rsplit("-", 1)[1])))
        except (IndexError, ValueError, OSError):
            pass
    return marks


def fold_marks(store: Store) -> int:
    """Count the eviction marks in the store's drop counters, exactly once; returns the count.

    The names counted are recorded in the same transaction as the count, then
    the marks are deleted: a process killed in between leaves marks that the
    next fold deletes without counting them again.
    """
    from autotelemetry.store.ledger import Ledger

    marks = eviction_marks(store.home)
    if not marks:
        return 0
    ledger = Ledger(store)
    present = {os.path.basename(path): n for path, n in marks}
    with store.transaction():
        done = store.meta(FOLDED_MARKS)
        done = set(done) if isinstance(done, list) else set()
        new = {name: n for name, n in present.items() if name not in done}
        total = sum(new.values())
        if total:
            ledger.add_drops("spool_evicted", total)
        ledger.put(FOLDED_MARKS, sorted(present))
    for path, _ in marks:
        try:
            os.unlink(path)
        except OSError:
            pass
    return total


def bound_quarantine(home: str) -> None:
    """Keep the newest quarantined files within the caps (their records are counted)."""
    directory = os.path.join(home, spool.QUARANTINE_DIR)
    try:  # a symlinked or foreign quarantine is never entered (it would delete elsewhere)
        entries = [
            e
            for e in os.scandir(fs.private_dir(directory, create=False))
            if e.is_file(follow_symlinks=False)
        ]
    except OSError:
        return
    if len(entries) <= QUARANTINE_MAX_FILES:
        sizes = 0
        for e in entries:
            try:
                sizes += e.stat(follow_symlinks=False).st_size
            except OSError:
                pass
        if sizes <= QUARANTINE_MAX_BYTES:
            return
    entries.sort(key=lambda e: e.name, reverse=True)  # names start with the writer's time
    kept = total = 0
    for e in entries:
        try:
            size = e.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        if kept < QUARANTINE_MAX_FILES and total + size <= QUARANTINE_MAX_BYTES:
            kept += 1
            total += size
            continue
        try:
            os.unlink(e.path)
        except OSError:
            pass


def expire_crash_repeats(store: Store, max_age: float) -> int:
    """Suppressed-crash counts that no later crash of their fingerprint collected.

    The count of a crash suppressed by the rate limit rides on the next stored
    crash of the same fingerprint (``hook/crash.py``); one that never comes
    leaves its files behind. Past the spool's age cap they are deleted and
    counted (``crash_repeats_expired``).
    """
    from autotelemetry.store.ledger import Ledger

    directory = os.path.join(store.home, CRASH_REPEATS_DIR)
    try:  # a symlinked or foreign directory is never entered (it would delete elsewhere)
        entries = list(os.scandir(fs.private_dir(directory, create=False)))
    except OSError:
        return 0
    now = time.time_ns()
    old = []
    for entry in entries:
        try:
            if fs.refusal(entry.stat(follow_symlinks=False)) is not None:
                continue  # only count files we wrote
        except OSError:
            continue
        name = entry.name
        try:
            born = int(name.split(".")[1])
        except (IndexError, ValueError):
            born = 0
        if abs(now - born) > max_age * 1e9:
            old.append(name)
    removed = 0
    for name in old:
        try:
            os.unlink(os.path.join(directory, name))
            removed += 1
        except OSError:
            pass
    if removed:
        Ledger(store).count_drops("crash_repeats_expired", removed)
    return removed


def before_ingest(store: Store) -> Housekeeping:
    """Everything a reader does before reading the spool (see the module docstring)."""
    home = store.home
    done = Housekeeping()
    done.removed_tmp = remove_stale_tmp(home)
    done.evicted = eviction.enforce_limits(home)
    done.folded = fold_marks(store)
    bound_quarantine(home)
    done.repeats_expired = expire_crash_repeats(store, eviction.limits()[2])
    return done


# --- store caps -------------------------------------------------------------------------


def store_limits() -> tuple[int, int]:
    """(max events, max bytes), from the option table."""
    return int(values.value("store_max_events")), int(values.value("store_max_bytes"))  # type: ignore[call-overload]


def cap_store(store: Store, max_events: int | None = None, max_bytes: int | None = None) -> int:
    """Delete the oldest events beyond the store's caps; returns how many were undelivered.

    Every deletion is counted (``store.evicted``); those not yet delivered are
    drops (``store_cap``). The byte cap is on the pages in use (deleted rows'
    pages are reused, the file does not shrink).
    """
    from autotelemetry.store.ledger import Ledger

    default_events, default_bytes = store_limits()
    max_events = default_events if max_events is None else max_events
    max_bytes = default_bytes if max_bytes is None else max_bytes
    db = store.db
    ledger = Ledger(store)
    unsent = 0
    for _ in range(8):  # the byte cap converges in a step or two
        cut = None
        low, high = db.execute("SELECT min(rowid), max(rowid) FROM events").fetchone()
        # Rowids are contiguous (rows go oldest first or all at once), so the span is the
        # count and the cut is arithmetic: no scan. Over the cap, 1 % more goes at once
        # (CAP_SLACK): deleting is a pass over the flags, paid once per 1 % of the cap.
        if high is not None and int(high) - int(low) + 1 > max_events:
            cut = int(high) - (max_events - max_events // CAP_SLACK)
        used = _used_bytes(store)
        if used > max_bytes and high is not None:
            count = int(high) - int(low) + 1
            excess = used - max_bytes
            n = min(count, max(1, -(-excess * count // used) + count // 100))
            cut = max(cut or 0, int(low) + n - 1)
        if cut is None:
            break
        with store.transaction():
            _, lost = ledger.evict_through(cut)
        unsent += lost
        if used <= max_bytes:
            break
    return unsent


def _used_bytes(store: Store) -> int:
    db = store.db
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(db.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


__all__ = [
    "STALE_TMP_SECONDS",
    "Housekeeping",
    "before_ingest",
    "bound_quarantine",
    "cap_store",
    "eviction_marks",
    "fold_marks",
    "remove_stale_tmp",
    "store_limits",
]
