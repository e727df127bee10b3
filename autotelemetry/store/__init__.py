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

from autotelemetry.hook import fs

STORE_FILE = "store.sqlite"
SCHEMA_VERSION = 1

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


def store_path(home: str) -> str:
    return os.path.join(home, STORE_FILE)


def check_files(path: str, create: bool) -> None:
    """SQLite opens by path and follows symlinks: its files pass the trusted open first.

    The database (created empty, 0600, exclusively when ``create``; else a missing one
    raises ``FileNotFoundError``) and its ``-wal``/``-shm`` companions, where present,
    must be regular files of ours with one link, not writable by others; anything else
    raises :class:`autotelemetry.hook.fs.Refused` and SQLite never sees the path.
    """
    os.close(fs.open_file(path, os.O_RDWR if create else os.O_RDONLY, create=create)[0])
    for suffix in ("-wal", "-shm"):
        try:
            st = os.lstat(path + suffix)
        except FileNotFoundError:
            continue
        why = fs.refusal(st) or (None if st.st_nlink == 1 else "has other hard links")
        if why is not None:
            raise fs.Refused(path + suffix, why)


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


def failure(exc: BaseException) -> str | None:
    """One line for an SQLite error that stopped a command (full, locked, read-only), else None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    from autotelemetry.hook import allowlist

    return f"the store {store_path(allowlist.home_dir())} cannot be used ({exc})"


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
    ``FileNotFoundError`` when there is no store.
    """

    def __init__(self, home: str, *, readonly: bool = False) -> None:
        self.home = home
        self.path = store_path(home)
        self.readonly = readonly
        self.recovered_from: str | None = None
        if readonly:
            check_files(self.path, create=False)
            uri = Path(self.path).absolute().as_uri() + "?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
            return
        fs.private_dir(home)
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise  # locked, read-only, disk full: the store itself is fine
            self._set_aside()
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        check_files(self.path, create=True)
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

    def _set_aside(self) -> None:
        """Corrupt or not a database: set it aside (kept for inspection) and start over."""
        aside = f"{self.path}.corrupt-{time.time_ns()}-{os.urandom(4).hex()}"
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
    except fs.Refused:
        return problems  # reported with its fix by autotelemetry.trust (status, doctor)
    except (OSError, sqlite3.Error) as exc:
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
    "check_files",
    "corrupt_copies",
    "failure",
    "health",
    "is_corrupt",
    "store_path",
]
