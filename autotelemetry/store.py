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


def store_path(home: str) -> str:
    return os.path.join(home, STORE_FILE)


class Store:
    """A connection to the store; use as a context manager."""

    def __init__(self, home: str) -> None:
        self.home = home
        ensure_private_dir(home)
        self.path = store_path(home)
        self.recovered_from: str | None = None
        try:
            self.db = self._open()
        except sqlite3.DatabaseError:
            # Corrupt or not a database: set it aside (kept for inspection) and start over.
            aside = f"{self.path}.corrupt-{int(time.time())}"
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                try:
                    os.unlink(self.path + suffix)
                except FileNotFoundError:
                    pass
            self.recovered_from = aside
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
                events = spool.read(path)
            except FileNotFoundError:
                continue  # another reader took it
            except (spool.CorruptSpoolFile, OSError, UnicodeDecodeError):
                try:
                    result.quarantined.append(spool.quarantine(self.home, path))
                except OSError:
                    pass
                continue
            batch.append((path, events))
            size += len(events)
            if size >= BATCH_EVENTS:
                self._commit(batch, result)
                batch, size = [], 0
        if batch:
            self._commit(batch, result)
        return result

    def _commit(self, batch: list[tuple[str, list[dict]]], result: IngestResult) -> None:
        rows = []
        flag_rows = []
        for _, events in batch:
            for ev in events:
                cli = ev.get("cli") or {}
                exc = ev.get("exception") or {}
                rows.append(
                    (
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
                        json.dumps(ev, separators=(",", ":"), sort_keys=True),
                    )
                )
                for flag in ev.get("flags") or ():
                    flag_rows.append((ev["event_id"], cli.get("name"), ev.get("command"), flag))
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
