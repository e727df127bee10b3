"""Spool files into the store: the reader side of the spool.

Host CLIs write one small JSON Lines file per process into ``<home>/spool``
(:mod:`autotelemetry.hook.spool`); this module reads them, checks every event
against the published schema (:mod:`~autotelemetry.store.validate`), inserts the
valid ones idempotently by ``event_id`` and removes a spool file only after its
events are committed, so a reader killed at any instant loses nothing and
duplicates nothing. A record that is not a valid event (bad JSON, wrong shape,
``NaN``) is never stored, not even in part: its file is moved to
``<home>/quarantine`` (kept for ``doctor``, never read again) once the file's
valid events are stored, and each such record is counted as dropped
(``invalid``), exactly once. Anything in the spool that is not a regular file of
ours (a symlink, a FIFO, another user's file: opened only through
:func:`autotelemetry.hook.fs.open_file`, never followed) is set aside unread under
an ``untrusted-`` name in the quarantine, counted apart (not as invalid events).

Speed (docs/performance.md): one ``scandir`` of the spool, one ``open``/``read``/
``close`` and one ``unlink`` per file, the lines of a whole chunk decoded by one
``json`` call, the schema compiled to straight-line code, and one transaction
of ``executemany`` per chunk of :data:`BATCH_EVENTS` events. The files of the
next chunk are read and checked by a helper thread while SQLite inserts the
current one (SQLite releases the GIL while it works).

Every reader also enforces the caps around its ingest (:mod:`~autotelemetry.store.limits`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from autotelemetry.hook import fs, spool
from autotelemetry.store import (
    EVENT_COLUMNS,
    FLAG_COLUMNS,
    Store,
    event_install_and_rate,
    is_corrupt,
    limits,
    validate,
)
from autotelemetry.store.limits import STALE_TMP_SECONDS, eviction_marks, remove_stale_tmp

#: Events committed per transaction while ingesting.
BATCH_EVENTS = 5000
#: Largest spool file read (a writer writes one run's events: a few KiB).
MAX_FILE_BYTES = 16 << 20
#: Meta key: spool files whose invalid records are counted (exactly-once counting).
COUNTED_INVALID = "ingest.counted_invalid"


#: Name prefix, in the quarantine, of spool entries set aside because they are not ours.
UNTRUSTED = "untrusted-"


@dataclass
class IngestResult:
    """What one ingest did. ``files``: spool files stored whole; ``quarantined``: files
    moved aside because they held ``invalid`` records (their valid events are stored)."""

    files: int = 0
    events: int = 0
    duplicates: int = 0
    invalid: int = 0
    quarantined: list[str] = field(default_factory=list)
    evicted: int = 0
    store_evicted: int = 0
    #: Spool entries that are not regular files of ours, set aside unread.
    untrusted: list[str] = field(default_factory=list)
    #: Why the spool directory itself was refused (nothing ingested), or None.
    refused: str | None = None


class CorruptSpoolFile(ValueError):
    """A spool file that cannot be parsed into events."""


# --- the spool, as readers see it ----------------------------------------------


def _names(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as it:
            return sorted(e.name for e in it if e.name.endswith(spool.SUFFIX) and e.name[0] != ".")
    except OSError:
        return []


def pending(home: str) -> list[str]:
    """Spool files ready to read, oldest first (names start with a nanosecond time).

    Empty when the spool directory is missing or refused (not a directory of ours).
    """
    try:
        directory = fs.private_dir(spool.spool_dir(home), create=False)
    except OSError:
        return []
    return [os.path.join(directory, n) for n in _names(directory)]


def stats(home: str) -> tuple[int, int]:
    """(number of pending files, their total bytes)."""
    count = size = 0
    for path in pending(home):
        try:
            size += os.lstat(path).st_size
            count += 1
        except OSError:
            pass
    return count, size


def _read_bytes(path: str) -> bytes:
    """The file's bytes: one ``open``, one ``read`` (a second only for a large file), one
    ``close``, through the trusted open. Raises ``OSError`` (``FileNotFoundError`` when
    another reader took it, ``fs.refused()`` when it is not a regular file of ours, or
    has another hard link: a writer's file never has, and ``doctor`` calls it not ours)."""
    fd, st = fs.open_file(path)
    if st.st_nlink != 1:
        os.close(fd)
        if st.st_nlink == 0:  # another reader took it (and deleted it) since the open
            raise FileNotFoundError(2, "taken by another reader", path)
        raise fs.refused(path, "has other hard links")
    try:
        data = os.read(fd, 1 << 16)
        if len(data) == 1 << 16:  # larger than a run ever writes: read the rest
            chunks = [data]
            left = MAX_FILE_BYTES - len(data)
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
    finally:
        os.close(fd)
    return data


def _lines(data: bytes) -> list[str] | None:
    """The non-empty lines of a spool file, or ``None`` when it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return [line for line in (raw.strip() for raw in text.split("\n")) if line]


def _decode(lines: list[str]) -> list[object]:
    """Each line decoded (``_BAD`` where it is not one JSON value, NaN included): one
    ``json`` call for all of them when every line is good, one per line otherwise."""
    if not lines:
        return []
    try:
        values = validate.loads("[" + ",".join(lines) + "]")
        if type(values) is list and len(values) == len(lines):
            return values  # each line held exactly one value
    except (ValueError, RecursionError):
        pass
    out: list[object] = []
    for line in lines:
        try:
            out.append(validate.loads(line))
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            out.append(_BAD)
    return out


_BAD = object()


def read_lines(path: str) -> list[tuple[dict, str]]:
    """Each event of one spool file with its line of JSON (stored as the event's body).

    Raises :class:`CorruptSpoolFile` if any line is not a valid event, ``fs.refused()``
    if the file is not a regular file of ours (never followed, never blocked on).
    """
    lines = _lines(_read_bytes(path))
    if lines is None:
        raise CorruptSpoolFile("not UTF-8")
    events: list[tuple[dict, str]] = []
    for number, (line, value) in enumerate(zip(lines, _decode(lines)), 1):
        if value is _BAD:
            raise CorruptSpoolFile(f"line {number}: not JSON")
        why = validate.problem(value)
        if why is not None or not isinstance(value, dict):
            raise CorruptSpoolFile(f"line {number}: {why}")
        events.append((value, line))
    return events


def read(path: str) -> list[dict]:
    """Parse one spool file; raises :class:`CorruptSpoolFile` if any line is bad."""
    return [event for event, _ in read_lines(path)]


def quarantine(home: str, path: str, prefix: str = "") -> str:
    """Move a bad spool file aside (kept for `doctor`, never read again).

    A rename moves the directory entry itself: a symlink is moved, never followed.
    """
    directory = fs.private_dir(os.path.join(home, spool.QUARANTINE_DIR))
    target = os.path.join(directory, prefix + os.path.basename(path))
    os.replace(path, target)
    return target


def quarantined(home: str) -> list[str]:
    """Names in the quarantine: corrupt spool files and (``untrusted-``) entries not ours."""
    try:
        directory = fs.private_dir(os.path.join(home, spool.QUARANTINE_DIR), create=False)
        return sorted(os.listdir(directory))
    except OSError:
        return []


# --- rows ----------------------------------------------------------------------

_SQL_INT = 1 << 63
#: Row positions of the columns that hold numbers (exit_code, duration_ms); the
#: others hold text (or NULL).
_NUMBER_COLUMNS = (8, 9)
_TEXT_COLUMNS = (0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 13)

Rows = tuple[list[tuple], list[tuple]]


def rows(events: list[tuple[dict, str]]) -> Rows:
    """Event and flag rows for one spool file's (event, line) pairs; raises if any is malformed.

    Raises ``TypeError``/``ValueError``/``UnicodeError`` for a value SQLite
    cannot store as its column's type (readers such as ``report`` rely on each
    column's type), so a spool file of the wrong shape is quarantined instead
    of failing a whole batch. Hot in ingest: one pass, one UTF-8 check per event.

    A crash event's row gets the exit code and duration of its run's command
    event when that is in the same file (same ``session_id``: one process writes
    both), so ``events`` can show them; the body stays as written.
    """
    out = []
    flag_rows = []
    crashes = False
    for ev, line in events:
        cli = ev.get("cli") or {}
        exc = ev.get("exception") or {}
        flags = ev.get("flags") or []
        if type(cli) is not dict or type(exc) is not dict or type(flags) is not list:
            raise TypeError("cli, exception or flags of the wrong type")
        row = (
            ev["event_id"],
            str(ev.get("type")),
            str(ev.get("timestamp")),
            cli.get("name"),
            cli.get("version"),
            cli.get("framework"),
            ev.get("command"),
            ev.get("status"),
            ev.get("exit_code"),
            ev.get("duration_ms"),
            ev.get("error_type") or exc.get("type"),
            exc.get("fingerprint"),
            line,  # the body: the event exactly as the writer encoded it
            *event_install_and_rate(ev),
        )
        if type(row[0]) is not str:
            raise TypeError("event_id must be a string")
        text = [line]
        for i in _TEXT_COLUMNS:
            value = row[i]
            if value is not None:
                if type(value) is not str:
                    raise TypeError(f"column {i}: unexpected {type(value).__name__}")
                text.append(value)
        for i in _NUMBER_COLUMNS:
            value = row[i]
            if value is None or type(value) is float:
                continue
            if type(value) is not int:  # bool included: not a number here
                raise TypeError(f"column {i}: unexpected {type(value).__name__}")
            if not -_SQL_INT <= value < _SQL_INT:
                raise ValueError("integer out of range")
        for flag in flags:
            if type(flag) is not str:
                raise TypeError("flags must be strings")
        # Lone surrogates (JSON escapes such as \ud800) cannot be stored: one encode finds any.
        "\0".join(text + flags).encode("utf-8")
        out.append(row)
        crashes = crashes or row[1] == "crash"
        for flag in flags:
            flag_rows.append((row[0], row[3], row[6], flag, row[2], row[14]))
    if crashes:
        out = _complete_crash_rows(out, [ev for ev, _ in events])
    return out, flag_rows


def valid_rows(events: list[tuple[dict, str]]) -> Rows:
    """:func:`rows` for events already valid against the schema (ingest's hot loop).

    The schema guarantees the types; what remains to check is what SQLite
    cannot hold: integers beyond 64 bits and lone surrogates (JSON escapes
    such as ``\\ud800`` decode to them) in a column.
    """
    out = []
    flag_rows = []
    crashes = False
    flags: list[str]
    for ev, line in events:
        cli = ev["cli"]
        if ev["type"] == "crash":
            crashes = True
            exc = ev["exception"]
            error, fingerprint, flags = exc["type"], exc["fingerprint"], []
        else:
            error, fingerprint, flags = ev["error_type"], None, ev["flags"]
        code = ev.get("exit_code")
        duration = ev.get("duration_ms")
        if (type(code) is int and not -_SQL_INT <= code < _SQL_INT) or (
            type(duration) is int and not -_SQL_INT <= duration < _SQL_INT
        ):
            raise ValueError("integer out of range")
        rate = ev.get("sample_rate")
        row = (
            ev["event_id"],
            ev["type"],
            ev["timestamp"],
            cli["name"],
            cli["version"],
            cli["framework"],
            ev["command"],
            ev.get("status"),
            code,
            duration,
            error,
            fingerprint,
            line,  # the body: the event exactly as the writer encoded it
            ev["install_id"],
            float(rate) if rate is not None else None,
        )
        text = "\0".join(
            [cli["name"], cli["version"] or "", ev["command"] or "", row[7] or "", error or ""]
        )
        if fingerprint:
            text += fingerprint
        if flags:
            text += "\0".join(flags)
        if not text.isascii():
            text.encode("utf-8")  # a lone surrogate cannot be stored: raises
        out.append(row)
        for flag in flags:
            flag_rows.append((row[0], row[3], row[6], flag, row[2], row[14]))
    if crashes:
        out = _complete_crash_rows(out, [ev for ev, _ in events])
    return out, flag_rows


def _complete_crash_rows(out: list[tuple], events: list[dict]) -> list[tuple]:
    runs = {
        ev.get("session_id"): (row[8], row[9])
        for ev, row in zip(events, out)
        if row[1] == "command" and ev.get("session_id")
    }
    completed = []
    for ev, row in zip(events, out):
        known = runs.get(ev.get("session_id")) if row[1] == "crash" else None
        if known is not None and row[8] is None and row[9] is None:
            row = (*row[:8], known[0], known[1], *row[10:])
        completed.append(row)
    return completed


# --- ingest --------------------------------------------------------------------


@dataclass
class _File:
    """One spool file, read and checked: its rows, and how many of its records are invalid."""

    path: str
    events: list[tuple]
    flags: list[tuple]
    records: int
    invalid: int
    #: Not a regular file of ours (a symlink, a FIFO, another user's): never read.
    untrusted: bool = False


def _read_chunk(paths: list[str]) -> list[_File]:
    """Read and check spool files; one ``json`` call for all their lines when they are good.

    A file another reader took first is left out; one that is not a regular file
    (a symlink, a directory) or not UTF-8 counts as one invalid record per line.
    """
    read: list[tuple[str, list[str] | None, int]] = []
    untrusted: list[_File] = []
    for path in paths:
        try:
            data = _read_bytes(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno == fs.REFUSED:  # not ours: set aside unread, not an event
                untrusted.append(_File(path, [], [], 0, 0, untrusted=True))
            else:
                read.append((path, None, 1))
            continue
        lines = _lines(data)
        if not lines:  # not UTF-8, or nothing in it: a writer always writes one event
            read.append((path, None, max(1, sum(1 for raw in data.split(b"\n") if raw.strip()))))
        else:
            read.append((path, lines, len(lines)))
    every = [line for _, lines, _ in read if lines for line in lines]
    values = _decode(every)
    out = []
    at = 0
    for path, lines, n in read:
        if lines is None:
            out.append(_File(path, [], [], n, n))
            continue
        good: list[tuple[dict, str]] = []
        for line, value in zip(lines, values[at : at + n]):
            if value is not _BAD and validate.problem(value) is None:
                good.append((value, line))  # type: ignore[arg-type]  # valid: an object
        at += n
        out.append(_checked(path, good, n))
    return out + untrusted


def _checked(path: str, good: list[tuple[dict, str]], records: int) -> _File:
    """The rows of a file's valid events; one SQLite cannot hold (an integer beyond 64
    bits, a lone surrogate) is invalid too, and only it."""
    try:
        event_rows, flag_rows = valid_rows(good)
        return _File(path, event_rows, flag_rows, records, records - len(good))
    except (TypeError, ValueError, UnicodeError):
        pass
    kept = []
    for one in good:
        try:
            valid_rows([one])
            kept.append(one)
        except (TypeError, ValueError, UnicodeError):
            pass
    event_rows, flag_rows = valid_rows(kept)
    return _File(path, event_rows, flag_rows, records, records - len(kept))


def _chunks(paths: list[str]) -> Iterator[list[_File]]:
    """The spool files read and checked, in chunks of about :data:`BATCH_EVENTS` files
    (a host writes one event per file, two when it crashed)."""
    for i in range(0, len(paths), BATCH_EVENTS):
        yield _read_chunk(paths[i : i + BATCH_EVENTS])


#: From this many pending files on, the next chunk is read by a helper thread while
#: the current one is inserted (below it, a thread costs more than it saves).
THREAD_FILES = 2000


def _ahead(chunks: Iterator[list[_File]]) -> Generator[list[_File], None, None]:
    """``chunks``, produced one chunk ahead by a helper thread (bounded: two chunks)."""
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(end)
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(exc)

    worker = threading.Thread(target=produce, name="autotelemetry-ingest", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def ingest(store: Store, progress: Callable[[int, int], None] | None = None) -> IngestResult:
    """Move every pending spool file of the store's home into the store, caps enforced.

    ``progress(files done, files pending)`` is called after each committed batch.
    """
    home = store.home
    result = IngestResult()
    try:
        fs.private_dir(spool.spool_dir(home), create=False)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != fs.REFUSED:
            raise
        result.refused = f"{exc.filename} {exc.strerror}"
        return result
    result.evicted = limits.before_ingest(store).evicted
    paths = pending(home)
    chunks = _chunks(paths)
    done = 0
    for batch in _ahead(chunks) if len(paths) >= THREAD_FILES else chunks:
        _store_chunk(store, batch, result)
        done += len(batch)
        if progress:
            progress(done, len(paths))
    if progress and paths:
        progress(len(paths), len(paths))
    result.store_evicted = limits.cap_store(store)
    return result


def _store_chunk(store: Store, batch: list[_File], result: IngestResult) -> None:
    """Commit one chunk (its invalid records counted in the same transaction), then
    delete its files from the spool (quarantine those that held invalid records)."""
    from autotelemetry.store.ledger import Ledger

    ledger = Ledger(store)
    bad = [f for f in batch if f.invalid]
    event_rows = [row for f in batch for row in f.events]
    flag_rows = [row for f in batch for row in f.flags]
    with store.transaction() as db:
        inserted = _insert(db, event_rows, flag_rows)
        counted = store.meta(COUNTED_INVALID)
        counted = set(counted) if isinstance(counted, list) else set()
        names = {os.path.basename(f.path) for f in bad}
        if bad or counted:
            fresh = [f for f in bad if os.path.basename(f.path) not in counted]
            invalid = sum(f.invalid for f in fresh)
            ledger.add_drops("invalid", invalid)
            result.invalid += invalid
            # Names still in the spool (a reader killed before moving them) stay counted.
            directory = spool.spool_dir(store.home)
            still = {n for n in counted if os.path.exists(os.path.join(directory, n))}
            if still | names != counted:
                ledger.put(COUNTED_INVALID, sorted(still | names))
    result.events += inserted
    result.duplicates += len(event_rows) - inserted
    for f in batch:
        if f.untrusted:
            try:
                result.untrusted.append(quarantine(store.home, f.path, UNTRUSTED))
            except OSError:
                result.untrusted.append(f.path)
            continue
        if f.invalid:
            try:
                result.quarantined.append(quarantine(store.home, f.path))
            except FileNotFoundError:
                pass
            except OSError:  # cannot move it: it is counted, so remove it
                try:
                    os.unlink(f.path)
                except OSError:
                    pass
            continue
        try:
            os.unlink(f.path)
        except FileNotFoundError:
            pass
        result.files += 1


def _insert(db: sqlite3.Connection, event_rows: list[tuple], flag_rows: list[tuple]) -> int:
    """Insert the rows not stored yet (inside the caller's transaction); returns how many.

    Fast path: plain inserts, one primary-key probe per event. Only if an event
    is already stored (a reader killed between its commit and its unlinks, the
    same file read twice) does the chunk go the careful way: look the ids up
    first, insert the new ones and their flags only.
    """
    if not event_rows:
        return 0
    db.execute("SAVEPOINT fast")
    try:
        db.executemany(_EVENT_INSERT, event_rows)
        db.executemany(_FLAG_INSERT, flag_rows)
    except sqlite3.IntegrityError:
        db.execute("ROLLBACK TO fast")
        db.execute("RELEASE fast")
        return _insert_new(db, event_rows, flag_rows)
    db.execute("RELEASE fast")
    return len(event_rows)


def _insert_new(db: sqlite3.Connection, event_rows: list[tuple], flag_rows: list[tuple]) -> int:
    # Events already stored (looked up by primary key, under the write lock) and
    # repeats within the batch add nothing, flags included. (A NOT EXISTS probe per
    # flag row scanned the unindexed flags table: O(store size) per flag.)
    ids = [r[0] for r in event_rows]
    seen: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        seen.update(
            eid
            for (eid,) in db.execute(
                f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
            )
        )
    new_rows = []
    for r in event_rows:
        if r[0] not in seen:
            seen.add(r[0])
            new_rows.append(r)
    new_ids = {r[0] for r in new_rows}
    db.executemany(_EVENT_INSERT.replace("INSERT", "INSERT OR IGNORE", 1), new_rows)
    if new_rows:
        flags_done: set[tuple[str, str]] = set()
        new_flags = []
        for f in flag_rows:
            if f[0] in new_ids and (f[0], f[3]) not in flags_done:
                flags_done.add((f[0], f[3]))
                new_flags.append(f)
        db.executemany(_FLAG_INSERT, new_flags)
    return len(new_rows)


def _marks(columns: str) -> str:
    return ",".join("?" * len(columns.split(",")))


_EVENT_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({_marks(EVENT_COLUMNS)})"
_FLAG_INSERT = f"INSERT INTO flags ({FLAG_COLUMNS}) VALUES ({_marks(FLAG_COLUMNS)})"


def insert(store: Store, events: list[tuple[dict, str]]) -> tuple[int, int, int]:
    """Store (event, body) pairs that come from elsewhere than the spool (``report --input``).

    Deduplicated by ``event_id`` as spool files are, and each checked for what
    the store's columns can hold (not against the schema: a collector's records
    map back to events that may lack fields); a malformed one is skipped, not
    fatal. Returns (inserted, duplicates, malformed).
    """
    try:
        parts = [rows(events)]
        malformed = 0
    except (TypeError, ValueError, UnicodeError):
        parts, malformed = [], 0
        for one in events:  # find the bad ones
            try:
                parts.append(rows([one]))
            except (TypeError, ValueError, UnicodeError):
                malformed += 1
    event_rows = [r for ev, _ in parts for r in ev]
    flag_rows = [f for _, fl in parts for f in fl]
    inserted = 0
    if event_rows:
        with store.transaction() as db:
            inserted = _insert_new(db, event_rows, flag_rows)
    return inserted, len(event_rows) - inserted, malformed


T = TypeVar("T")


def recovering(store: Store, fn: Callable[[], T]) -> T:
    """Run ``fn()``; if the store proves corrupt mid-use, set it aside, re-ingest, run again.

    A damaged page can pass the check at open time and fail only when read;
    what the spool still holds is ingested into the fresh store before the retry.
    """
    try:
        return fn()
    except sqlite3.DatabaseError as exc:
        if store.readonly or not is_corrupt(exc):
            raise
    store.recover()
    ingest(store)
    return fn()


class StoreWasCorrupt(Exception):
    """The store proved corrupt after rows had already been read from it (and was set aside)."""


def recovering_rows(store: Store, make: Callable[[], Iterator[T]]) -> Generator[T, None, None]:
    """The rows of ``make()``, read one at a time, recovering as :func:`recovering` does.

    Corruption found before the first row: the store is set aside, the spool
    re-ingested and the rows read again. Found later, after rows were handed
    out: the store is set aside and :class:`StoreWasCorrupt` is raised (the
    caller already showed part of a listing that no longer exists).
    """
    handed_out = False
    try:
        for row in make():
            handed_out = True
            yield row
        return
    except sqlite3.DatabaseError as exc:
        if store.readonly or not is_corrupt(exc):
            raise
    store.recover()
    ingest(store)
    if handed_out:
        raise StoreWasCorrupt(store.recovered_from)
    yield from make()


__all__ = [
    "BATCH_EVENTS",
    "STALE_TMP_SECONDS",
    "UNTRUSTED",
    "CorruptSpoolFile",
    "IngestResult",
    "StoreWasCorrupt",
    "eviction_marks",
    "ingest",
    "insert",
    "pending",
    "quarantine",
    "quarantined",
    "read",
    "read_lines",
    "recovering",
    "recovering_rows",
    "remove_stale_tmp",
    "rows",
    "stats",
]
