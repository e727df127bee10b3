"""The delivery ledger: what the sender has delivered, dropped and must retry.

Kept in the store's ``meta`` table under ``delivery.*`` keys, so that events
and the record of their delivery change in the same transactions: the
watermark (the highest store rowid delivered or counted as dropped) moves only
together with the counters, and a sender killed at any instant resends at most
the batch it had in flight.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from autotelemetry.store import Store, store_path
from autotelemetry.store.ingest import eviction_marks

PREFIX = "delivery."

Row = tuple[int, str]


class Ledger:
    """The sender's view of the store (it holds the sender lock while using it)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- raw values ----------------------------------------------------------------

    def get(self, key: str) -> Any:
        row = self.store.db.execute(
            "SELECT value FROM meta WHERE key=?", (PREFIX + key,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def _set(self, key: str, value: object) -> None:
        """Inside a transaction of the caller's."""
        self.store.db.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (PREFIX + key, json.dumps(value))
        )

    def counters(self, name: str) -> dict[str, int]:
        value = self.get(name)
        return dict(value) if isinstance(value, dict) else {}

    def _count(self, name: str, reason: str, n: int) -> None:
        counts = self.counters(name)
        counts[reason] = counts.get(reason, 0) + n
        self._set(name, counts)

    # --- state -------------------------------------------------------------------

    def watermark(self) -> int:
        return int(self.get("watermark") or 0)

    def failures(self) -> int:
        return int(self.get("failures") or 0)

    def next_retry(self) -> float | None:
        value = self.get("next_retry")
        return float(value) if isinstance(value, (int, float)) else None

    def backlog(self) -> int:
        return int(
            self.store.db.execute(
                "SELECT count(*) FROM events WHERE rowid > ?", (self.watermark(),)
            ).fetchone()[0]
        )

    def batch(self, limit: int) -> list[Row]:
        """The next ``limit`` undelivered events: (rowid, body), oldest first."""
        return [
            (int(r[0]), str(r[1]))
            for r in self.store.db.execute(
                "SELECT rowid, body FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (self.watermark(), limit),
            )
        ]

    def unreported(self) -> dict[str, int]:
        """Drop counts not yet carried by a delivered batch."""
        dropped, reported = self.counters("dropped"), self.counters("reported")
        return {k: v - reported.get(k, 0) for k, v in dropped.items() if v > reported.get(k, 0)}

    # --- changes -----------------------------------------------------------------

    def count_drops(self, reason: str, n: int) -> None:
        with self.store.transaction():
            self._count("dropped", reason, n)

    def delivered(self, rows: list[Row], carried: dict[str, int]) -> None:
        """A 2xx: move the watermark, note the drop counts the batch carried."""
        with self.store.transaction():
            self._set("watermark", max(r[0] for r in rows))
            if carried:
                reported = self.counters("reported")
                for k, v in carried.items():
                    reported[k] = reported.get(k, 0) + v
                self._set("reported", reported)
            self._set("failures", 0)

    def dropped(self, rows: list[Row], reason: str) -> None:
        """A permanent rejection: move the watermark past ``rows``, counted under ``reason``."""
        with self.store.transaction():
            self._set("watermark", max(r[0] for r in rows))
            self._count("dropped", reason, len(rows))

    def failed(self, failures: int, next_retry: float) -> None:
        with self.store.transaction():
            self._set("failures", failures)
            self._set("next_retry", next_retry)

    def finished(self, last: dict[str, object], clear_retry: bool) -> None:
        """Remember the outcome of a run (``status`` shows it)."""
        with self.store.transaction():
            if clear_retry:
                self._set("next_retry", None)
            self._set("last", last)

    def cap(self, max_events: int) -> int:
        """Keep at most ``max_events`` events, oldest deleted; returns the unsent ones deleted."""
        db = self.store.db
        row = db.execute(
            "SELECT rowid FROM events ORDER BY rowid DESC LIMIT 1 OFFSET ?", (max_events,)
        ).fetchone()
        if row is None:
            return 0
        cut = row[0]
        with self.store.transaction():
            unsent = int(
                db.execute(
                    "SELECT count(*) FROM events WHERE rowid > ? AND rowid <= ?",
                    (self.watermark(), cut),
                ).fetchone()[0]
            )
            db.execute(
                "DELETE FROM flags WHERE event_id IN "
                "(SELECT event_id FROM events WHERE rowid <= ?)",
                (cut,),
            )
            db.execute("DELETE FROM events WHERE rowid <= ?", (cut,))
            if unsent:
                self._count("dropped", "store_cap", unsent)
        return unsent


def status(home: str) -> dict[str, Any]:
    """Delivery state for ``autotelemetry status``, read-only; empty when never used."""
    data: dict[str, Any] = {"backlog": None, "last": None, "next_retry": None, "dropped": {}}
    pending_evictions = sum(n for _, n in eviction_marks(home))
    if pending_evictions:
        data["dropped"] = {"spool_evicted": pending_evictions}
    if not os.path.exists(store_path(home)):
        return data
    try:
        store = Store(home, readonly=True)
    except (OSError, sqlite3.Error):
        return data
    try:
        ledger = Ledger(store)
        data["backlog"] = ledger.backlog()
        data["last"] = ledger.get("last")
        if isinstance(data["last"], dict) and isinstance(data["last"].get("endpoint"), str):
            # Versions before the display form stored the URL itself: never show its secrets.
            from autotelemetry.endpoint import display

            data["last"]["endpoint"] = display(data["last"]["endpoint"])
        data["next_retry"] = ledger.get("next_retry")
        dropped = ledger.counters("dropped")
    except sqlite3.DatabaseError:
        return data
    finally:
        store.close()
    if pending_evictions:
        dropped["spool_evicted"] = dropped.get("spool_evicted", 0) + pending_evictions
    data["dropped"] = dropped
    return data


__all__ = ["Ledger", "status"]
