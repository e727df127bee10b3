"""Salvage: what SQLite can still read of a corrupt store, copied into the fresh one.

Python's ``sqlite3`` has no binding for SQLite's recovery API (``sqlite3_recover``,
the shell's ``.recover``), so the copy is row by row: the events table is read
by rowid ranges, and a range that fails to read is halved until the damaged
rows are isolated (one damaged page costs a few dozen extra queries, not the
store). Each row saved is checked as ingest checks a spool line (schema, the
columns rebuilt from the body): a damaged page can also yield garbage that
reads fine. Delivered events stay delivered (they are copied first and the
fresh watermark is set past them); the delivery counters are carried over.

What could not be saved is counted: the number of events the store held comes
from what is still readable (its rowid bounds, its indexes' counts) or, when
nothing is (a file truncated to 0 bytes, garbage), from the census written
beside the store at its last change (:func:`~autotelemetry.store.write_census`).
The lost events are added to the drop counters as ``store_corrupt`` (those not
yet delivered) and the salvage is recorded in ``meta`` for ``status``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from autotelemetry.store import EVENT_COLUMNS, FLAG_COLUMNS, Salvage, Store, read_census, validate

#: Rows read per query while the file reads cleanly.
CHUNK = 2048
#: Salvages remembered in ``meta`` (``store.salvages``) for ``status``.
HISTORY = 10
#: Meta keys carried into the fresh store (delivery state; not the watermark, which
#: is recomputed, nor anything describing the old file).
_CARRIED = ("delivery.", "spool.", "ingest.", "store.salvages", "store.lost", "store.evicted")

Old = tuple[int, str, Any, Any]  # rowid, body, exit_code, duration_ms


def _try(db: sqlite3.Connection, sql: str, args: tuple = ()) -> list[tuple] | None:
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.Error:
        return None


def _read_range(db: sqlite3.Connection, low: int, high: int, out: list[Old]) -> int:
    """Rows with ``low <= rowid <= high`` into ``out``, halving around damage;
    returns how many rowids in the range proved unreadable (an upper bound of rows lost)."""
    if low == high:  # a seek, not a range: a range also reads the row after it
        rows = _try(
            db, "SELECT rowid, body, exit_code, duration_ms FROM events WHERE rowid = ?", (low,)
        )
    else:
        rows = _try(
            db,
            "SELECT rowid, body, exit_code, duration_ms FROM events "
            "WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (low, high),
        )
    if rows is not None:
        out.extend(rows)
        return 0
    if low == high:
        return 1
    mid = (low + high) // 2
    return _read_range(db, low, mid, out) + _read_range(db, mid + 1, high, out)


def _expected(
    db: sqlite3.Connection | None, census: dict[str, Any], store_id: object
) -> dict[str, int]:
    """What the damaged store held, as far as anything still says: rowid bounds, counts.

    The census counts only if it describes this store (same ``store.id``, or the
    id is unreadable).
    """
    found: dict[str, int] = {}
    if census and (store_id is None or census.get("store_id") in (None, store_id)):
        for key in ("events", "min_rowid", "max_rowid", "watermark", "undelivered"):
            if type(census.get(key)) is int:
                found[key] = census[key]
    if db is None:
        return found
    counts = [found.get("events", 0)]
    bounds = _try(db, "SELECT min(rowid), max(rowid) FROM events")
    if bounds and bounds[0][1] is not None:
        low, high = int(bounds[0][0]), int(bounds[0][1])
        found["min_rowid"] = min(low, found.get("min_rowid", low))
        found["max_rowid"] = max(high, found.get("max_rowid", high))
        counts.append(high - low + 1)
    # Each index holds every row: one may be readable where the table is not.
    names = _try(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
    for (name,) in names or []:
        row = _try(db, f'SELECT count(*) FROM events INDEXED BY "{name}"')
        if row:
            counts.append(int(row[0][0]))
    row = _try(db, "SELECT count(*) FROM events")
    if row:
        counts.append(int(row[0][0]))
    found["events"] = max(counts)
    return found


def _meta(db: sqlite3.Connection) -> dict[str, str]:
    rows = _try(db, "SELECT key, value FROM meta") or []
    return {str(k): str(v) for k, v in rows if isinstance(k, str)}


def _loads(value: str | None) -> Any:
    try:
        return json.loads(value) if value is not None else None
    except ValueError:
        return None


def salvage(store: Store, aside: str) -> Salvage:
    """Copy what can be read of the corrupt store ``aside`` into ``store`` (fresh, empty).

    Never raises for damage: an unreadable file salvages nothing and its events
    are counted as lost.
    """
    result = Salvage(aside)
    census = read_census(store.home)
    saved: list[Old] = []
    meta: dict[str, str] = {}
    try:
        old: sqlite3.Connection | None = sqlite3.connect(aside, timeout=5, isolation_level=None)
    except sqlite3.Error:
        old = None
    try:
        if old is not None:
            meta = _meta(old)
        expected = _expected(old, census, _loads(meta.get("store.id")))
        low, high = expected.get("min_rowid", 1), expected.get("max_rowid", 0)
        if old is not None:
            for start in range(low, high + 1, CHUNK):
                _read_range(old, start, min(start + CHUNK - 1, high), saved)
            # Events added after the census (a process killed before it wrote one).
            saved.extend(
                _try(
                    old,
                    "SELECT rowid, body, exit_code, duration_ms FROM events WHERE rowid > ? "
                    "ORDER BY rowid",
                    (high,),
                )
                or []
            )
    finally:
        if old is not None:
            old.close()
    watermark = _loads(meta.get("delivery.watermark"))
    if type(watermark) is not int:
        # The old ledger is unreadable: the census's watermark, else none (every saved
        # event is then sent again: at least once).
        watermark = expected.get("watermark", 0) if not meta else 0
    rowids = [r[0] for r in saved]
    if rowids:
        low = min(low, *rowids) if high else min(rowids)
        high = max(high, *rowids)
    events = max(expected.get("events", 0), (high - low + 1) if high else 0)
    undelivered = max(0, high - max(watermark, low - 1)) if high else 0
    if not high:
        undelivered = expected.get("undelivered", events)
    delivered_rows, undelivered_rows = _rows(saved, watermark)
    result.saved = len(delivered_rows) + len(undelivered_rows)
    result.lost = max(0, events - result.saved)
    result.lost_undelivered = min(result.lost, max(0, undelivered - len(undelivered_rows)))
    _write(store, meta, delivered_rows, undelivered_rows, result)
    return result


def _rows(saved: list[Old], watermark: int) -> tuple[list[tuple], list[tuple]]:
    """Saved rows rebuilt from their bodies (checked like spool lines), split at the watermark."""
    from autotelemetry.store.ingest import rows as build_rows

    delivered: list[tuple] = []
    undelivered: list[tuple] = []
    done: set[str] = set()
    for rowid, body, exit_code, duration in sorted(saved, key=lambda r: r[0]):
        try:
            ev = validate.loads(body)
            if validate.problem(ev) is not None:
                continue
            (row,), flags = build_rows([(ev, body)])
        except (TypeError, ValueError, UnicodeError, RecursionError):
            continue
        if row[0] in done:
            continue
        done.add(row[0])
        if row[1] == "crash" and row[8] is None and row[9] is None:
            # The run's exit code and duration that ingest put on the crash row.
            code = exit_code if type(exit_code) is int else None
            ms = duration if type(duration) in (int, float) else None
            row = (*row[:8], code, ms, *row[10:])
        (delivered if rowid <= watermark else undelivered).append((row, flags))
    return delivered, undelivered


def _write(
    store: Store,
    meta: dict[str, str],
    delivered: list[tuple],
    undelivered: list[tuple],
    result: Salvage,
) -> None:
    marks = ",".join("?" * len(EVENT_COLUMNS.split(",")))
    flag_marks = ",".join("?" * len(FLAG_COLUMNS.split(",")))
    with store.transaction() as db:
        for key, value in meta.items():
            if key.startswith(_CARRIED) and key != "delivery.watermark":
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        for part in (delivered, undelivered):
            db.executemany(
                f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES ({marks})",
                [row for row, _ in part],
            )
            db.executemany(
                f"INSERT INTO flags ({FLAG_COLUMNS}) VALUES ({flag_marks})",
                [f for _, flags in part for f in flags],
            )
            if part is delivered and delivered:
                top = db.execute("SELECT max(rowid) FROM events").fetchone()[0]
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('delivery.watermark', ?)",
                    (json.dumps(int(top)),),
                )
        if result.lost_undelivered:
            dropped = _loads(meta.get("delivery.dropped"))
            dropped = dict(dropped) if isinstance(dropped, dict) else {}
            dropped["store_corrupt"] = dropped.get("store_corrupt", 0) + result.lost_undelivered
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('delivery.dropped', ?)", (json.dumps(dropped),)
            )
        history = _loads(meta.get("store.salvages"))
        history = list(history) if isinstance(history, list) else []
        history.append(
            {
                "time": time.time(),
                "aside": result.aside,
                "saved": result.saved,
                "lost": result.lost,
                "lost_undelivered": result.lost_undelivered,
            }
        )
        lost = _loads(meta.get("store.lost"))
        lost = int(lost) if isinstance(lost, int) else 0
        db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('store.salvages', ?)",
            (json.dumps(history[-HISTORY:]),),
        )
        db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('store.lost', ?)",
            (json.dumps(lost + result.lost),),
        )


__all__ = ["salvage"]
