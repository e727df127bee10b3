"""Spool files into the store: the reader side of the spool.

Host CLIs write one small JSON Lines file per process into ``<home>/spool``
(:mod:`autotelemetry.spool`); this module reads them, validates every event's
shape, inserts them idempotently by ``event_id`` and removes a spool file only
after its events are committed, so a reader killed at any instant loses nothing
and duplicates nothing. A file that cannot be read as events is moved to
``<home>/quarantine`` (kept for ``doctor``, never read again).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from autotelemetry.hook import spool
from autotelemetry.hook.fs import ensure_private_dir
from autotelemetry.store import (
    EVENT_COLUMNS,
    FLAG_COLUMNS,
    Store,
    event_install_and_rate,
    is_corrupt,
)

#: Events committed per transaction while ingesting.
BATCH_EVENTS = 5000
#: A temporary spool file older than this belongs to a writer that died.
STALE_TMP_SECONDS = 600


@dataclass
class IngestResult:
    files: int = 0
    events: int = 0
    duplicates: int = 0
    quarantined: list[str] = field(default_factory=list)


class CorruptSpoolFile(ValueError):
    """A spool file that cannot be parsed into events."""


# --- the spool, as readers see it ----------------------------------------------


def pending(home: str) -> list[str]:
    """Spool files ready to read, oldest first (names start with a nanosecond time)."""
    directory = spool.spool_dir(home)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [
        os.path.join(directory, n)
        for n in sorted(names)
        if n.endswith(spool.SUFFIX) and n[0] != "."
    ]


def stats(home: str) -> tuple[int, int]:
    """(number of pending files, their total bytes)."""
    count = size = 0
    for path in pending(home):
        try:
            size += os.stat(path).st_size
            count += 1
        except OSError:
            pass
    return count, size


def read_lines(path: str) -> list[tuple[dict, str]]:
    """Each event of one spool file with its line of JSON (stored as the event's body).

    Raises :class:`CorruptSpoolFile` if any line is bad.
    """
    # os.read of the file's size: f.read(16 MiB) allocated (and faulted in) a
    # 16 MiB buffer for every small file, most of the ingest time.
    fd = os.open(path, os.O_RDONLY)
    try:
        size = min(os.fstat(fd).st_size, 16 << 20)
        chunks = []
        while size > 0:
            chunk = os.read(fd, size)
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    events = []
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8", "surrogatepass")
            event = json.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise CorruptSpoolFile(f"line {number}: {type(exc).__name__}") from None
        if not isinstance(event, dict) or not isinstance(event.get("event_id"), str):
            raise CorruptSpoolFile(f"line {number}: not an event")
        events.append((event, line.strip()))
    return events


def read(path: str) -> list[dict]:
    """Parse one spool file; raises :class:`CorruptSpoolFile` if any line is bad."""
    return [event for event, _ in read_lines(path)]


def quarantine(home: str, path: str) -> str:
    """Move a bad spool file aside (kept for `doctor`, never read again)."""
    directory = ensure_private_dir(os.path.join(home, spool.QUARANTINE_DIR))
    target = os.path.join(directory, os.path.basename(path))
    os.replace(path, target)
    return target


def quarantined(home: str) -> list[str]:
    try:
        return sorted(os.listdir(os.path.join(home, spool.QUARANTINE_DIR)))
    except OSError:
        return []


def remove_stale_tmp(home: str, now: float | None = None) -> int:
    """Delete temporary files left by writers that died; returns how many."""
    from time import time

    now = time() if now is None else now
    directory = spool.spool_dir(home)
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


def eviction_marks(home: str) -> "list[tuple[str, int]]":
    """(path, count) of every pending eviction mark."""
    directory = os.path.join(home, spool.EVICTIONS_DIR)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    marks = []
    for name in names:
        try:
            marks.append((os.path.join(directory, name), int(name.rsplit("-", 1)[1])))
        except (IndexError, ValueError):
            pass
    return marks


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


def ingest(store: Store, progress: Callable[[int, int], None] | None = None) -> IngestResult:
    """Move every pending spool file of the store's home into the store.

    ``progress(files done, files pending)`` is called after each committed batch.
    """
    home = store.home
    result = IngestResult()
    remove_stale_tmp(home)
    batch: list[tuple[str, Rows]] = []
    size = 0
    paths = pending(home)
    for done, path in enumerate(paths, 1):
        try:
            events = read_lines(path)
            file_rows = rows(events)
        except FileNotFoundError:
            continue  # another reader took it
        except (CorruptSpoolFile, OSError, UnicodeError, TypeError, ValueError):
            # Valid JSON of the wrong shape is as corrupt as broken JSON: one bad
            # file must never block the files behind it (or crash the reader).
            try:
                result.quarantined.append(quarantine(home, path))
            except OSError:
                pass
            continue
        batch.append((path, file_rows))
        size += len(events)
        if size >= BATCH_EVENTS:
            _commit(store, batch, result)
            batch, size = [], 0
            if progress:
                progress(done, len(paths))
    if batch:
        _commit(store, batch, result)
    if progress and paths:
        progress(len(paths), len(paths))
    return result


def insert(store: Store, events: list[tuple[dict, str]]) -> tuple[int, int, int]:
    """Store (event, body) pairs that come from elsewhere than the spool (``report --input``).

    Validated and deduplicated by ``event_id`` exactly as spool files are; a
    malformed event is skipped, not fatal. Returns (inserted, duplicates, malformed).
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
    result = IngestResult()
    if parts:
        _commit(store, [("", p) for p in parts], result)
    return result.events, result.duplicates, malformed


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


def _commit(store: Store, batch: list[tuple[str, Rows]], result: IngestResult) -> None:
    event_rows = [row for _, (ev_rows, _) in batch for row in ev_rows]
    flag_rows = [row for _, (_, f_rows) in batch for row in f_rows]
    with store.transaction() as db:
        # Idempotent re-ingest: events already stored (looked up by primary key,
        # under the write lock) and repeats within the batch add nothing, flags
        # included. (A NOT EXISTS probe per flag row scanned the unindexed flags
        # table: O(store size) per flag, ~1k events/s at 10k events.)
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
        db.executemany(
            f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES ({_marks(EVENT_COLUMNS)})",
            new_rows,
        )
        inserted = len(new_rows)
        if inserted:
            flags_done: set[tuple[str, str]] = set()
            new_flags = []
            for f in flag_rows:
                if f[0] in new_ids and (f[0], f[3]) not in flags_done:
                    flags_done.add((f[0], f[3]))
                    new_flags.append(f)
            db.executemany(
                f"INSERT INTO flags ({FLAG_COLUMNS}) VALUES ({_marks(FLAG_COLUMNS)})", new_flags
            )
    result.events += inserted
    result.duplicates += len(event_rows) - inserted
    for path, _ in batch:
        if not path:
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        result.files += 1


def _marks(columns: str) -> str:
    return ",".join("?" * len(columns.split(",")))


__all__ = [
    "BATCH_EVENTS",
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
