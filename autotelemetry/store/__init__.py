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
from typing import Any

from autotelemetry.hook import fs

STORE_FILE = "store.sqlite"
#: The files SQLite keeps beside the database (WAL mode; a rollback journal, briefly).
COMPANIONS = ("-wal", "-shm", "-journal")

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


def check_files(path: str, write: bool, create: bool = False) -> os.stat_result:
    """SQLite opens by path and follows symlinks: its files pass the trusted open first.

    The database (created empty, 0600, exclusively when ``create``; else a missing one
    raises ``FileNotFoundError``) and its ``-wal``/``-shm``/``-journal`` companions,
    where present, must be regular files of ours (with one link), not writable by
    others; anything else raises the refusal of :mod:`autotelemetry.hook.fs` and
    SQLite never sees the path. (SQLite plays back a ``-journal`` it finds at open
    as a hot journal, also for a WAL store: a planted one would replace the store's
    content; a FIFO there would block the open.) Returns the database's ``fstat``.
    """
    fd, st = fs.open_file(path, os.O_RDWR if write else os.O_RDONLY, create=create)
    os.close(fd)
    for suffix in COMPANIONS:
        try:
            companion = os.lstat(path + suffix)
        except FileNotFoundError:
            continue
        why = fs.refusal(companion) or (None if companion.st_nlink == 1 else "has other hard links")
        if why is not None:
            raise fs.refused(path + suffix, why)
    return st


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
    from autotelemetry.hook import identity

    return f"the store {store_path(identity.home_dir())} cannot be used ({exc})"


def corrupt_copies(home: str) -> list[str]:
    """Names of stores set aside as corrupt (kept for inspection)."""
    try:
        names = os.listdir(home)
    except OSError:
        return []
    prefix = STORE_FILE + ".corrupt-"
    return sorted(n for n in names if n.startswith(prefix) and not n.endswith(COMPANIONS))


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


#: A small JSON file beside the store: how many events it held at its last change
#: (``events``, ``min_rowid``, ``max_rowid``, ``watermark``, ``undelivered``,
#: ``store_id``). When the store is damaged beyond reading (truncated to 0 bytes,
#: not a database at all), this is how the loss gets a number.
CENSUS_FILE = "store.census"
#: Corrupt stores kept for inspection (the oldest beyond this are deleted: their
#: events were salvaged or counted as lost when they were set aside).
KEEP_CORRUPT = 2
#: Serialises setting a corrupt store aside and salvaging it (tool side: may wait).
RECOVER_LOCK = "store.recover.lock"
#: A file shorter than this cannot hold a database we created (header + schema).
_MIN_STORE_BYTES = 512


@dataclass
class Salvage:
    """What a corrupt store yielded when it was set aside (see :mod:`.salvage`)."""

    aside: str
    saved: int = 0
    lost: int = 0
    lost_undelivered: int = 0


class Store:
    """One connection to the store; use as a context manager.

    ``readonly=True`` opens an existing store without creating, migrating or
    recovering anything (``status``, ``doctor``); it raises
    ``FileNotFoundError`` when there is no store. ``untouched=True`` (with
    ``readonly``; ``flush --dry-run``) also leaves no ``-wal``/``-shm`` file behind:
    when no writer left a write-ahead log, the file is opened as immutable.
    ``scratch=True`` is a throwaway store in a private temporary directory
    (``report --input``): no journal, no sync.

    A store is created whole (built under a temporary name, then linked into
    place), so a store file that is empty or shorter than a header is damage,
    never a store being born. A corrupt store is set aside (kept for
    inspection) and what SQLite can still read of it is salvaged into the fresh
    one (:mod:`.salvage`); what could not be saved is counted as lost.
    """

    def __init__(
        self, home: str, *, readonly: bool = False, untouched: bool = False, scratch: bool = False
    ) -> None:
        self.home = home
        self.path = store_path(home)
        self.readonly = readonly
        self.scratch = scratch
        self.recovered_from: str | None = None
        self.salvaged: Salvage | None = None
        self.changed = False
        self.inode: int | None = None
        if readonly:
            check_files(self.path, write=False)
            immutable = untouched and not os.path.lexists(self.path + "-wal")
            self.db = open_readonly(self.path, immutable)
            return
        fs.private_dir(home)
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise  # locked, read-only, disk full: the store itself is fine
            self._recover(None)

    # --- opening -------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        # SQLite opens by path and follows symlinks: the files pass the trusted open first.
        if not self.scratch:
            self._create_whole()
        try:
            st = check_files(self.path, write=True, create=self.scratch)
        except FileNotFoundError:  # set aside by a concurrent reader: create again
            self._create_whole()
            st = check_files(self.path, write=True)
        if st.st_size < _MIN_STORE_BYTES and not self.scratch:
            raise _Damaged(f"{self.path} is {st.st_size} bytes: truncated")
        db = self._connect(self.path)
        try:
            db.execute("SELECT count(*) FROM events LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        self.inode = st.st_ino
        return db

    def _connect(self, path: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
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
                if db.execute("SELECT value FROM meta WHERE key = 'store.id'").fetchone() is None:
                    db.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('store.id', ?)",
                        (json.dumps(os.urandom(8).hex()),),
                    )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _create_whole(self) -> None:
        """Create the store if missing: built aside with its schema, then linked into place."""
        if os.path.lexists(self.path):
            return
        tmp = os.path.join(self.home, f".{STORE_FILE}.{os.urandom(8).hex()}.tmp")
        # Created 0600, exclusively, before SQLite sees it (SQLite would create it by the
        # umask; its -wal and -shm copy the database's mode).
        fs.make_file(tmp)
        try:
            db = self._connect(tmp)
            db.close()  # the last connection to close checkpoints and removes the -wal
            try:
                os.link(tmp, self.path)  # fails if another process created it first
            except FileExistsError:
                pass
        finally:
            for suffix in ("", *COMPANIONS):
                try:
                    os.unlink(tmp + suffix)
                except FileNotFoundError:
                    pass

    # --- recovery -----------------------------------------------------------------

    def _recover(self, failed_inode: int | None) -> None:
        """The store is corrupt: set it aside, open a fresh one and salvage the old one into it.

        Serialised by a lock, so that two readers finding the damage at once set
        aside one file (never the fresh store the other just built): under the
        lock, a store that is no longer the file this process found damaged was
        already dealt with, and is simply opened.
        """
        import fcntl

        fd = fs.open_file(os.path.join(self.home, RECOVER_LOCK), os.O_RDWR, create=True)[0]
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = None
            if current is not None and failed_inode is not None and current != failed_inode:
                self.db = self._open()  # someone else recovered it meanwhile
                return
            if current is not None and failed_inode is None:
                try:  # found damaged at open: unless it was replaced meanwhile
                    self.db = self._open()
                    return
                except sqlite3.DatabaseError as exc:
                    if not is_corrupt(exc):
                        raise
            aside = self._set_aside()
            self.db = self._open()
            if aside is not None:
                self.recovered_from = aside
                from autotelemetry.store.salvage import salvage

                self.salvaged = salvage(self, aside)
                self.changed = True
                _prune_corrupt(self.home)
        finally:
            os.close(fd)  # drops the lock

    def _set_aside(self) -> str | None:
        """Rename the store (with its -wal/-shm/-journal) to ``store.sqlite.corrupt-<ns>-<pid>``."""
        aside = f"{self.path}.corrupt-{time.time_ns()}-{os.getpid()}"
        for suffix in (*COMPANIONS, ""):  # the main file last: it is what readers look for
            try:
                os.replace(self.path + suffix, aside + suffix)
            except FileNotFoundError:
                if not suffix:
                    return None
        return aside

    def recover(self) -> None:
        """The open database turned out corrupt mid-use: set it aside, salvage, go on.

        What SQLite can still read of the damaged file is copied into the fresh
        store (delivered events stay delivered); everything still in the spool
        is ingested again by the caller.
        """
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        self._recover(self.inode)

    # --- transactions and lifetime ------------------------------------------------

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
        self.changed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.changed and not self.readonly and not self.scratch:
            self.changed = False
            try:
                write_census(self)
            except (OSError, sqlite3.Error):
                pass  # a census is a best effort: the store itself is committed
        self.db.close()

    # --- what every reader needs ------------------------------------------------

    def stream(self, cache_kib: int) -> None:
        """Shrink the page cache for a listing that reads each page once (bounded memory)."""
        self.db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")

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
            db.execute(
                "DELETE FROM meta WHERE key IN ('delivery.watermark', 'delivery.traces.watermark')"
            )
        return n

    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None


class _Damaged(sqlite3.DatabaseError):
    """A store file that cannot be one of ours (e.g. truncated): as corrupt as garbage."""

    sqlite_errorcode = 26  # SQLITE_NOTADB


def open_readonly(path: str, immutable: bool = False) -> sqlite3.Connection:
    """A read-only connection that changes nothing on disk (``immutable``: not even
    a ``-shm`` file).

    ``mode=ro`` still needs the ``-shm`` file of a WAL store (created if missing):
    on a read-only directory or mount that fails although the store is fine, so
    the store is then opened ``immutable`` (no locking, no shared memory: what is
    in the file itself, which is what the checks need).
    """
    uri = Path(path).absolute().as_uri()
    if immutable:
        return sqlite3.connect(
            uri + "?mode=ro&immutable=1", uri=True, timeout=5, isolation_level=None
        )
    try:
        db = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=5, isolation_level=None)
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        if is_corrupt(exc) or not _cannot_write(exc):
            raise
    return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, timeout=5, isolation_level=None)


def _cannot_write(exc: sqlite3.Error) -> bool:
    """SQLITE_READONLY (8), SQLITE_CANTOPEN (14) and their extended codes: the directory
    or mount is read-only (the ``-shm`` cannot be created), not the store damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (8, 14)
    text = str(exc)
    return "readonly" in text or "unable to open" in text


def census_path(home: str) -> str:
    return os.path.join(home, CENSUS_FILE)


def write_census(store: Store) -> None:
    """Record the store's size beside it (after a change; cheap: rowid bounds, no scan).

    Rows are only ever deleted oldest first (the cap) or all at once (purge), so
    the row ids are contiguous and ``max - min + 1`` is the number of events.
    """
    db = store.db
    low, high = db.execute("SELECT min(rowid), max(rowid) FROM events").fetchone()
    row = db.execute("SELECT value FROM meta WHERE key = 'delivery.watermark'").fetchone()
    watermark = int(json.loads(row[0]) or 0) if row else 0
    events = 0 if high is None else int(high) - int(low) + 1
    undelivered = 0 if high is None else int(high) - max(watermark, int(low) - 1)
    data = {
        "events": events,
        "min_rowid": low,
        "max_rowid": high,
        "watermark": watermark,
        "undelivered": max(0, undelivered),
        "store_id": store.meta("store.id"),
        "time": time.time(),
    }
    fs.write_file(census_path(store.home), (json.dumps(data) + "\n").encode())


def read_census(home: str) -> dict[str, Any]:
    """The last census, or ``{}`` (none, unreadable)."""
    try:  # a census that is not ours is no census
        data = json.loads(fs.read_file(census_path(home), 1 << 16) or b"null")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _prune_corrupt(home: str) -> None:
    """Keep the newest :data:`KEEP_CORRUPT` corrupt copies (their loss is counted already)."""
    for name in corrupt_copies(home)[:-KEEP_CORRUPT]:
        for suffix in ("", *COMPANIONS):
            try:
                os.unlink(os.path.join(home, name + suffix))
            except FileNotFoundError:
                pass


def health(home: str) -> list[str]:
    """Problems with the store, checked read-only (for ``status`` and ``doctor``)."""
    problems = [
        f"the store was corrupt and was set aside as {os.path.join(home, name)}; "
        "a fresh one was started (delete the copy once inspected)"
        for name in corrupt_copies(home)
    ]
    try:
        size = os.path.getsize(store_path(home))
    except OSError:
        size = None
    if size is not None and size < _MIN_STORE_BYTES:
        return [
            *problems,
            f"the store {store_path(home)} is truncated ({size} bytes): corrupt; it will be set "
            "aside, its loss counted, at the next `autotelemetry events`/`report`/send",
        ]
    corrupt = (
        f"the store {store_path(home)} is corrupt ({{}}); it will be set aside, what can be "
        "read of it salvaged and the rest counted, at the next `autotelemetry events`/"
        "`report`/send"
    )
    try:
        store = Store(home, readonly=True)
    except FileNotFoundError:
        return problems
    except (OSError, sqlite3.Error) as exc:
        if isinstance(exc, OSError) and exc.errno == fs.REFUSED:
            return problems  # reported with its fix by autotelemetry.trust (status, doctor)
        if is_corrupt(exc):
            return [*problems, corrupt.format(exc)]
        return [*problems, f"the store {store_path(home)} cannot be opened ({exc})"]
    try:
        store.db.execute("SELECT count(*) FROM events").fetchone()
        row = store.db.execute("PRAGMA quick_check(1)").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc) or not isinstance(exc, sqlite3.OperationalError):
            problems.append(corrupt.format(exc))
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
