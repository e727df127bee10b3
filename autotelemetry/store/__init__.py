"""The embedded local store, ``<home>/store.sqlite``: the one owner of SQLite.

Every connection and every SQL statement of autotelemetry lives in this package,
so there is one place that knows the schema, the locking and the recovery rules:

* this module: opening the store (read-write with recovery, or read-only for
  readers that must change nothing), the schema, transactions and health;
* :mod:`~autotelemetry.store.ingest`: spool files into events, idempotently;
* :mod:`~autotelemetry.store.queries`: what ``events`` and ``report`` read;
* :mod:`~autotelemetry.store.ledger`: the sender's delivery state.

Tool side only: host CLIs never import ``sqlite3``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autotelemetry.hook.fs import ensure_private_dir

STORE_FILE = "store.sqlite"
#: 2: ``install_id`` and ``sample_rate`` columns (and ``ts``/``sample_rate`` on flags)
#: with the report's covering indexes; a version-1 store is migrated on open.
SCHEMA_VERSION = 2

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
    body        TEXT NOT NULL,
    install_id  TEXT,
    sample_rate REAL
);
CREATE TABLE IF NOT EXISTS flags (
    event_id    TEXT NOT NULL,
    cli         TEXT,
    command     TEXT,
    flag        TEXT NOT NULL,
    ts          TEXT,
    sample_rate REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

#: The columns of a row of :func:`~autotelemetry.store.ingest.rows`, in insert order.
EVENT_COLUMNS = (
    "event_id, type, ts, cli, cli_version, framework, command, status, exit_code, "
    "duration_ms, error_type, fingerprint, body, install_id, sample_rate"
)
FLAG_COLUMNS = "event_id, cli, command, flag, ts, sample_rate"

# Indexes: `events` (newest first, time filters) and the report's covering
# indexes. Each report query reads one index and no table row; each ends in
# `ts` so a time filter is checked inside the index too (see docs/performance.md).
_INDEXES = """
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS report_runs
    ON events (type, cli, command, cli_version, install_id, status, sample_rate, ts, duration_ms);
CREATE INDEX IF NOT EXISTS report_durations
    ON events (type, cli, command, duration_ms, sample_rate, ts);
CREATE INDEX IF NOT EXISTS report_cli_durations ON events (type, cli, duration_ms, sample_rate, ts);
CREATE INDEX IF NOT EXISTS report_days
    ON events (type, cli, substr(ts, 1, 10), cli_version, status, sample_rate, ts);
CREATE INDEX IF NOT EXISTS flags_report ON flags (cli, command, flag, sample_rate, ts);
"""
#: Indexes of schema version 1 that the report's indexes replace.
_OLD_INDEXES = ("events_cli_command", "events_report_command", "events_report_cli", "flags_cli")


def _migrate(db: sqlite3.Connection) -> None:
    """Create the schema, or bring a version-1 store to the current version, in one transaction.

    Version 1 lacked ``install_id``/``sample_rate`` (read back from each event's
    body) and the flags' ``ts``/``sample_rate`` (copied from their events).
    Concurrent openers serialise on the write lock; the version is checked again
    under it.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            columns = {r[1] for r in db.execute("PRAGMA table_info(events)")}
            # Statement by statement: executescript() would commit first.
            for statement in _statements(_SCHEMA):
                db.execute(statement)
            if columns and "install_id" not in columns:
                _upgrade_v1(db)
            for name in _OLD_INDEXES:
                db.execute(f"DROP INDEX IF EXISTS {name}")
            for statement in _statements(_INDEXES):
                db.execute(statement)
            db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)
        db.execute("COMMIT")
    except BaseException:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise


def _statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]


def _upgrade_v1(db: sqlite3.Connection) -> None:
    for statement in (
        "ALTER TABLE events ADD COLUMN install_id TEXT",
        "ALTER TABLE events ADD COLUMN sample_rate REAL",
        "ALTER TABLE flags ADD COLUMN ts TEXT",
        "ALTER TABLE flags ADD COLUMN sample_rate REAL",
    ):
        db.execute(statement)
    updates = []
    for rowid, body in db.execute("SELECT rowid, body FROM events"):
        try:
            ev = json.loads(body)
        except ValueError:
            continue
        install, rate = event_install_and_rate(ev)
        if install is not None or rate is not None:
            updates.append((install, rate, rowid))
    db.executemany("UPDATE events SET install_id = ?, sample_rate = ? WHERE rowid = ?", updates)
    db.execute(
        "UPDATE flags SET (ts, sample_rate) = "
        "(SELECT e.ts, e.sample_rate FROM events e WHERE e.event_id = flags.event_id)"
    )


def event_install_and_rate(ev: dict) -> tuple[str | None, float | None]:
    """An event's ``install_id`` and ``sample_rate`` as stored: anything malformed is ``None``.

    A rate outside (0, 1) means no sampling (weight 1): a stored weight must never be
    infinite, negative or zero.
    """
    install = ev.get("install_id")
    if type(install) is not str:
        install = None
    rate = ev.get("sample_rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate < 1:
        return install, float(rate)
    return install, None


def store_path(home: str) -> str:
    return os.path.join(home, STORE_FILE)


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
    return not isinstance(exc, sqlite3.OperationalError) or "not a database" in str(exc)


def corrupt_copies(home: str) -> list[str]:
    """Names of stores set aside as corrupt (kept for inspection)."""
    try:
        names = os.listdir(home)
    except OSError:
        return []
    prefix = STORE_FILE + ".corrupt-"
    return sorted(n for n in names if n.startswith(prefix) and not n.endswith(("-wal", "-shm")))


@dataclass(frozen=True)
class Filters:
    """Which events a reader wants: one CLI, a time window (RFC 3339 bounds)."""

    cli: str | None = None
    since: str | None = None
    until: str | None = None

    def where(self, column_prefix: str = "", extra: str | None = None) -> tuple[str, list[object]]:
        """``WHERE ...`` (or ``""``) and its arguments; ``extra`` is ANDed in."""
        clauses: list[str] = []
        args: list[object] = []
        if self.cli:
            clauses.append(f"{column_prefix}cli = ?")
            args.append(self.cli)
        if self.since:
            clauses.append(f"{column_prefix}ts >= ?")
            args.append(self.since)
        if self.until:
            clauses.append(f"{column_prefix}ts < ?")
            args.append(self.until)
        if extra:
            clauses.append(extra)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args


class Store:
    """One connection to the store; use as a context manager.

    ``readonly=True`` opens an existing store without creating, migrating or
    recovering anything (``status``, ``doctor``); it raises
    ``FileNotFoundError`` when there is no store. ``scratch=True`` is a
    throwaway store in a private temporary directory (``report --input``):
    no journal, no sync.
    """

    def __init__(self, home: str, *, readonly: bool = False, scratch: bool = False) -> None:
        self.home = home
        self.path = store_path(home)
        self.readonly = readonly
        self.scratch = scratch
        self.recovered_from: str | None = None
        if readonly:
            if not os.path.isfile(self.path):
                raise FileNotFoundError(self.path)
            uri = Path(self.path).absolute().as_uri() + "?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
            return
        ensure_private_dir(home)
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise  # locked, read-only, disk full: the store itself is fine
            self._set_aside()
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if self.scratch:
                # A throwaway store (`report --input`): nothing to keep if we die.
                db.execute("PRAGMA journal_mode=OFF")
                db.execute("PRAGMA synchronous=OFF")
            else:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB page cache (default 2 MiB): random-UUID primary keys touch pages
            # all over the index; ingest and report over 1M events stay in memory.
            db.execute("PRAGMA cache_size=-65536")
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                _migrate(db)
            db.execute("SELECT count(*) FROM events LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

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

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; one ``ROLLBACK`` on any error, which is re-raised."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite already rolled back (e.g. disk full): keep the real error
            raise
        self.db.execute("COMMIT")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # --- what every reader needs ------------------------------------------------

    def count(self, filters: Filters | None = None) -> int:
        where, args = (filters or Filters()).where()
        return int(self.db.execute(f"SELECT count(*) FROM events {where}", args).fetchone()[0])

    def events(self, filters: Filters | None = None, limit: int | None = None) -> Iterator[dict]:
        """Stored events, newest first, decoded one at a time."""
        where, args = (filters or Filters()).where()
        sql = f"SELECT body FROM events {where} ORDER BY ts DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        for (body,) in self.db.execute(sql, args):
            yield json.loads(body)

    def purge(self) -> int:
        """Delete every stored event; returns how many there were."""
        with self.transaction() as db:
            n = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
            db.execute("DELETE FROM events")
            db.execute("DELETE FROM flags")
            # Row ids restart once the table is empty: the sender's watermark must too.
            db.execute("DELETE FROM meta WHERE key = 'delivery.watermark'")
        return n


def health(home: str) -> list[str]:
    """Problems with the store, checked read-only (for ``status`` and ``doctor``)."""
    problems = [
        f"the store was corrupt and was set aside as {os.path.join(home, name)}; "
        "a fresh one was started (delete the copy once inspected)"
        for name in corrupt_copies(home)
    ]
    try:
        store = Store(home, readonly=True)
    except FileNotFoundError:
        return problems
    except sqlite3.Error as exc:
        return [*problems, f"the store {store_path(home)} cannot be opened ({exc})"]
    try:
        store.db.execute("SELECT count(*) FROM events").fetchone()
        row = store.db.execute("PRAGMA quick_check(1)").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc) or not isinstance(exc, sqlite3.OperationalError):
            problems.append(
                f"the store {store_path(home)} is corrupt ({exc}); it will be set aside and "
                "rebuilt from the spool at the next `autotelemetry events`/`report`/send"
            )
    finally:
        store.close()
    return problems


__all__ = [
    "STORE_FILE",
    "Filters",
    "Store",
    "corrupt_copies",
    "health",
    "is_corrupt",
    "store_path",
]
