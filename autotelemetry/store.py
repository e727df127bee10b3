"""The embedded local store: SQLite under the home, fed from the spool.

Only the reader side (our own command, the sender) opens it; host CLIs never
import ``sqlite3``. Ingest is idempotent by ``event_id`` and removes a spool
file only after its events are committed, so a reader killed at any instant
loses nothing and duplicates nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from autotelemetry import spool
from autotelemetry.config import ensure_private_dir

STORE_FILE = "store.sqlite"
SCHEMA_VERSION = 1
#: Events committed per transaction while ingesting.
BATCH_EVENTS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    ts          TEXT NOT NULL,
    cli         TEXT,
    cli_version TEXT,
    framework   TEXT,
    command     TEXT,
    status      TEXT,
    exit_code   INTEGER,
    duration_ms REAL,
    error_type  TEXT,
    fingerprint TEXT,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_cli_command ON events (cli, command, duration_ms);
-- Covering indexes for `report` (no table row is read; see docs/performance.md).
CREATE INDEX IF NOT EXISTS events_report_command
    ON events (type, cli, command, duration_ms, status);
CREATE INDEX IF NOT EXISTS events_report_cli ON events (type, cli, duration_ms, cli_version);
CREATE TABLE IF NOT EXISTS flags (
    event_id TEXT NOT NULL,
    cli      TEXT,
    command  TEXT,
    flag     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flags_cli ON flags (cli, flag);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass
class IngestResult:
    files: int = 0
    events: int = 0
    duplicates: int = 0
    quarantined: list[str] = field(default_factory=list)


def is_corrupt(exc: BaseException) -> bool:
    """Whether an SQLite error means the file is damaged (not merely locked or full).

    ``OperationalError`` (locked, busy, read-only, disk full, I/O) never does:
    setting a healthy store aside on those would lose events.
    """
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    return not isinstance(exc, sqlite3.OperationalError)


def corrupt_copies(home: str) -> list[str]:
    """Stores set aside as corrupt (for `status`)."""
    try:
        names = os.listdir(home)
    except OSError:
        return []
    prefix = STORE_FILE + ".corrupt-"
    return sorted(n for n in names if n.startswith(prefix) and not n.endswith(("-wal", "-shm")))


def store_path(home: str) -> str:
    return os.path.join(home, STORE_FILE)


_SQL_INT = 1 << 63
#: Row positions of the columns that hold numbers (exit_code, duration_ms); the
#: others hold text (or NULL).
_NUMBER_COLUMNS = (8, 9)
_TEXT_COLUMNS = (0, 1, 2, 3, 4, 5, 6, 7, 10, 11)


def _rows(events: list[tuple[dict, str]]) -> tuple[list[tuple], list[tuple]]:
    """Event and flag rows for one spool file's (event, line) pairs; raises if any is malformed.

    Raises ``TypeError``/``ValueError``/``UnicodeError`` for a value SQLite
    cannot store as its column's type (readers such as ``report`` rely on each
    column's type), so a spool file of the wrong shape is quarantined instead
    of failing a whole batch. Hot in ingest: one pass, one UTF-8 check per event.
    """
    rows = []
    flag_rows = []
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
        rows.append(row)
        for flag in flags:
            flag_rows.append((row[0], row[3], row[6], flag))
    return rows, flag_rows


class Store:
    """A connection to the store; use as a context manager."""

    def __init__(self, home: str) -> None:
        self.home = home
        ensure_private_dir(home)
        self.path = store_path(home)
        self.recovered_from: str | None = None
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise  # locked, read-only, disk full: the store itself is fine
            self._set_aside()
            self.db = self._open()

    def _set_aside(self) -> None:
        """Corrupt or not a database: set it aside (kept for inspection) and start over."""
        aside = f"{self.path}.corrupt-{time.time_ns()}-{os.getpid()}"
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass  # a concurrent reader set it aside first
        else:
            self.recovered_from = aside
        for suffix in ("-wal", "-shm"):
            try:
                os.replace(self.path + suffix, aside + suffix)
            except FileNotFoundError:
                pass

    def recover(self) -> None:
        """The open database turned out corrupt mid-use: set it aside, open a fresh one.

        Events already moved out of the spool into the corrupt file stay in the
        file set aside; everything still in the spool is ingested again.
        """
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        self._set_aside()
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB page cache (default 2 MiB): random-UUID primary keys touch pages
            # all over the index; ingest and report over 1M events stay in memory.
            db.execute("PRAGMA cache_size=-65536")
            db.executescript(_SCHEMA)
            db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)
            db.execute("SELECT count(*) FROM events LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # --- ingest ---------------------------------------------------------------

    def ingest(self) -> IngestResult:
        """Move every pending spool file into the store."""
        result = IngestResult()
        spool.remove_stale_tmp(self.home)
        batch: list[tuple[str, list[dict]]] = []
        size = 0
        for path in spool.pending(self.home):
            try:
                events = spool.read_lines(path)
                rows = _rows(events)
            except FileNotFoundError:
                continue  # another reader took it
            except (spool.CorruptSpoolFile, OSError, UnicodeError, TypeError, ValueError):
                # Valid JSON of the wrong shape is as corrupt as broken JSON: one bad
                # file must never block the files behind it (or crash the reader).
                try:
                    result.quarantined.append(spool.quarantine(self.home, path))
                except OSError:
                    pass
                continue
            batch.append((path, rows))
            size += len(events)
            if size >= BATCH_EVENTS:
                self._commit(batch, result)
                batch, size = [], 0
        if batch:
            self._commit(batch, result)
        return result

    def _commit(
        self,
        batch: list[tuple[str, tuple[list[tuple], list[tuple]]]],
        result: IngestResult,
    ) -> None:
        rows = [row for _, (event_rows, _) in batch for row in event_rows]
        flag_rows = [row for _, (_, f_rows) in batch for row in f_rows]
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            # Idempotent re-ingest: events already stored (looked up by primary key,
            # under the write lock) and repeats within the batch add nothing, flags
            # included. (A NOT EXISTS probe per flag row scanned the unindexed flags
            # table: O(store size) per flag, ~1k events/s at 10k events.)
            ids = [r[0] for r in rows]
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
            for r in rows:
                if r[0] not in seen:
                    seen.add(r[0])
                    new_rows.append(r)
            new_ids = {r[0] for r in new_rows}
            db.executemany(
                "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", new_rows
            )
            inserted = len(new_rows)
            if inserted:
                flags_done: set[tuple[str, str]] = set()
                new_flags = []
                for f in flag_rows:
                    if f[0] in new_ids and (f[0], f[3]) not in flags_done:
                        flags_done.add((f[0], f[3]))
                        new_flags.append(f)
                db.executemany("INSERT INTO flags VALUES (?,?,?,?)", new_flags)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        result.events += inserted
        result.duplicates += len(rows) - inserted
        for path, _ in batch:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            result.files += 1

    # --- queries --------------------------------------------------------------

    def events(
        self, *, cli: str | None = None, since: str | None = None, limit: int | None = None
    ) -> Iterator[dict]:
        """Stored events, newest first."""
        where, args = self._filters(cli, since)
        sql = f"SELECT body FROM events {where} ORDER BY ts DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        for (body,) in self.db.execute(sql, args):
            yield json.loads(body)

    @staticmethod
    def _filters(cli: str | None, since: str | None) -> tuple[str, list[object]]:
        clauses, args = [], []
        if cli:
            clauses.append("cli = ?")
            args.append(cli)
        if since:
            clauses.append("ts >= ?")
            args.append(since)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM events").fetchone()[0]

    def purge(self) -> int:
        n = self.count()
        self.db.execute("DELETE FROM events")
        self.db.execute("DELETE FROM flags")
        # Row ids restart once the table is empty: the sender's watermark must too.
        self.db.execute("DELETE FROM meta WHERE key = 'delivery.watermark'")
        return n
