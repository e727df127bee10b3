"""The delivery ledger: what the sender has delivered, dropped and must retry.

Kept in the store's ``meta`` table under ``delivery.*`` keys, so that events
and the record of their delivery change in the same transactions: the
watermark (the highest store rowid delivered or counted as dropped) moves only
together with the counters, and a sender killed at any instant resends at most
the batch it had in flight.

Each OTLP signal has its own watermark and drop counters (``logs`` keeps the
original keys, also used by the JSON webhook; ``traces`` uses ``delivery.traces.*``),
so a collector that refuses one signal never holds back or duplicates the other.
Retry timing (failures, next retry) is shared.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

from autotelemetry.store import Store, store_path
from autotelemetry.store.ingest import eviction_marks

PREFIX = "delivery."

Row = tuple[int, str]
#: Signals whose state lives under the original keys.
PRIMARY = ("logs", "events")


def key(signal: str, name: str) -> str:
    """The meta key (below ``delivery.``) of ``name`` for ``signal``."""
    return name if signal in PRIMARY else f"{signal}.{name}"


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

    def watermark(self, signal: str = "logs") -> int:
        return int(self.get(key(signal, "watermark")) or 0)

    def failures(self) -> int:
        return int(self.get("failures") or 0)

    def next_retry(self) -> float | None:
        value = self.get("next_retry")
        return float(value) if isinstance(value, (int, float)) else None

    def backlog(self, signal: str = "logs") -> int:
        return int(
            self.store.db.execute(
                "SELECT count(*) FROM events WHERE rowid > ?", (self.watermark(signal),)
            ).fetchone()[0]
        )

    def batch(self, limit: int, signal: str = "logs", after: int | None = None) -> list[Row]:
        """The next ``limit`` (-1: all) events not yet delivered on ``signal`` (or above
        rowid ``after``): (rowid, body), oldest first."""
        return [
            (int(r[0]), str(r[1]))
            for r in self.store.db.execute(
                "SELECT rowid, body FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (self.watermark(signal) if after is None else after, limit),
            )
        ]

    def known(self, event_ids: list[str]) -> set[str]:
        """Which of ``event_ids`` the store holds."""
        found: set[str] = set()
        for i in range(0, len(event_ids), 500):
            chunk = event_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                str(r[0])
                for r in self.store.db.execute(
                    f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
                )
            )
        return found

    def unreported(self) -> dict[str, int]:
        """Drop counts not yet carried by a delivered batch."""
        dropped, reported = self.counters("dropped"), self.counters("reported")
        return {k: v - reported.get(k, 0) for k, v in dropped.items() if v > reported.get(k, 0)}

    # --- changes -----------------------------------------------------------------

    def count_drops(self, reason: str, n: int, signal: str = "logs") -> None:
        with self.store.transaction():
            self._count(key(signal, "dropped"), reason, n)

    def delivered(
        self,
        rows: list[Row],
        carried: dict[str, int],
        signal: str = "logs",
        rejected: int = 0,
        message: str = "",
    ) -> None:
        """A 2xx: move the watermark, note the drop counts the batch carried, and count
        what the collector rejected in a partial success (with its message)."""
        with self.store.transaction():
            self._set(key(signal, "watermark"), max(r[0] for r in rows))
            if carried:
                reported = self.counters("reported")
                for k, v in carried.items():
                    reported[k] = reported.get(k, 0) + v
                self._set("reported", reported)
            if rejected or message:
                if rejected:
                    self._count(key(signal, "dropped"), "rejected", rejected)
                notes = self.get("rejected")
                notes = dict(notes) if isinstance(notes, dict) else {}
                before = notes.get(signal)
                if not isinstance(before, dict):
                    before = {}
                notes[signal] = {
                    "count": int(before.get("count", 0)) + rejected,
                    "message": message,
                    "time": time.time(),
                }
                self._set("rejected", notes)
            self._set("failures", 0)

    def dropped(self, rows: list[Row], reason: str, signal: str = "logs") -> None:
        """A permanent rejection: move the watermark past ``rows``, counted under ``reason``."""
        with self.store.transaction():
            self._set(key(signal, "watermark"), max(r[0] for r in rows))
            self._count(key(signal, "dropped"), reason, len(rows))

    def skip(self, rows: list[Row], signal: str) -> None:
        """Nothing of ``rows`` belongs on ``signal`` (no span in a batch of crashes)."""
        with self.store.transaction():
            self._set(key(signal, "watermark"), max(r[0] for r in rows))

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

    def cap(self, max_events: int, signals: tuple[str, ...] = ("logs",)) -> dict[str, int]:
        """Keep at most ``max_events`` events, oldest deleted; returns, per signal, the
        events deleted before they were delivered on it (counted as ``store_cap``)."""
        db = self.store.db
        row = db.execute(
            "SELECT rowid FROM events ORDER BY rowid DESC LIMIT 1 OFFSET ?", (max_events,)
        ).fetchone()
        if row is None:
            return {}
        cut = row[0]
        lost: dict[str, int] = {}
        with self.store.transaction():
            for signal in signals:
                unsent = int(
                    db.execute(
                        "SELECT count(*) FROM events WHERE rowid > ? AND rowid <= ?",
                        (self.watermark(signal), cut),
                    ).fetchone()[0]
                )
                if unsent:
                    lost[signal] = unsent
                    self._count(key(signal, "dropped"), "store_cap", unsent)
            db.execute(
                "DELETE FROM flags WHERE event_id IN "
                "(SELECT event_id FROM events WHERE rowid <= ?)",
                (cut,),
            )
            db.execute("DELETE FROM events WHERE rowid <= ?", (cut,))
        return lost


def status(home: str, signals: tuple[str, ...] = ()) -> dict[str, Any]:
    """Delivery state for ``autotelemetry status``, read-only; empty when never used.

    ``backlog``/``dropped`` are those of the logs (or the webhook); ``signals`` lists
    the others to report (``traces``: its backlog and drops under ``traces``).
    ``rejected`` holds, per signal, what collectors rejected in partial successes
    and their last message.
    """
    data: dict[str, Any] = {
        "backlog": None,
        "last": None,
        "next_retry": None,
        "dropped": {},
        "rejected": {},
    }
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
        data["next_retry"] = ledger.get("next_retry")
        rejected = ledger.get("rejected")
        data["rejected"] = dict(rejected) if isinstance(rejected, dict) else {}
        for signal in signals:
            if signal not in PRIMARY:
                data[signal] = {
                    "backlog": ledger.backlog(signal),
                    "dropped": ledger.counters(key(signal, "dropped")),
                }
        dropped = ledger.counters("dropped")
    except sqlite3.DatabaseError:
        return data
    finally:
        store.close()
    if pending_evictions:
        dropped["spool_evicted"] = dropped.get("spool_evicted", 0) + pending_evictions
    data["dropped"] = dropped
    return data


__all__ = ["Ledger", "key", "status"]
