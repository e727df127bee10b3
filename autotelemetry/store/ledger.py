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

PREFIX = "delivery."

Row = tuple[int, str]
#: Signals whose state lives under the original keys.
PRIMARY = ("logs", "events")
#: Signals with a watermark and drop counters of their own.
SECONDARY = ("traces",)


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

    def put(self, key: str, value: object) -> None:
        """Set a meta value under its full key, inside a transaction of the caller's."""
        self.store.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def add_drops(self, reason: str, n: int) -> None:
        """Count ``n`` drops under ``reason``, inside a transaction of the caller's."""
        if n:
            self._count("dropped", reason, n)

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

    def newest(self) -> Row | None:
        """The newest stored event (the sender's probe of an endpoint): (rowid, body)."""
        row = self.store.db.execute(
            "SELECT rowid, body FROM events ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

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
            self._set("endpoint_error", None)

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

    def evict_through(self, cut: int) -> tuple[int, int]:
        """Delete the events with rowid <= ``cut`` (the oldest), inside a transaction of the
        caller's; returns (deleted, of which undelivered). Every deletion is counted
        (``store.evicted``), the undelivered ones also as drops (``store_cap``)."""
        db = self.store.db
        deleted, unsent = db.execute(
            "SELECT count(*), count(CASE WHEN rowid > ? THEN 1 END) FROM events WHERE rowid <= ?",
            (self.watermark(), cut),
        ).fetchone()
        if not deleted:
            return 0, 0
        db.execute(
            "DELETE FROM flags WHERE event_id IN (SELECT event_id FROM events WHERE rowid <= ?)",
            (cut,),
        )
        db.execute("DELETE FROM events WHERE rowid <= ?", (cut,))
        self.add_drops("store_cap", int(unsent))
        for signal in SECONDARY:  # a signal with a watermark of its own counts its own loss
            mark = self.get(key(signal, "watermark"))
            if mark is not None:
                (lost,) = db.execute(
                    "SELECT count(*) FROM events WHERE rowid > ? AND rowid <= ?", (int(mark), cut)
                ).fetchone()
                if lost:
                    self._count(key(signal, "dropped"), "store_cap", int(lost))
        evicted = self.store.meta("store.evicted")
        self.put("store.evicted", (evicted if type(evicted) is int else 0) + int(deleted))
        return int(deleted), int(unsent)

    # --- the endpoint's health ----------------------------------------------------

    def endpoint_error(self) -> dict[str, Any] | None:
        """Set while the endpoint refuses every request (see :meth:`refused`)."""
        value = self.get("endpoint_error")
        return value if isinstance(value, dict) else None

    def refused(self, error: dict[str, Any], failures: int, next_retry: float) -> None:
        """The endpoint is wrong (auth, address, protocol): nothing dropped, back off, say so."""
        with self.store.transaction():
            self._set("endpoint_error", error)
            self._set("failures", failures)
            self._set("next_retry", next_retry)


def status(home: str, signals: tuple[str, ...] = ()) -> dict[str, Any]:
    """Delivery state for ``autotelemetry status``, read-only; empty when never used.

    ``backlog``/``dropped`` are those of the logs (or the webhook); ``signals`` lists
    the others to report (``traces``: its backlog and drops under ``traces``).
    ``rejected`` holds, per signal, what collectors rejected in partial successes
    and their last message.

    ``dropped`` counts, by rule, every recorded event that will never be
    delivered (spool evictions still waiting in their marks included);
    ``evicted`` every event the store's cap deleted (delivered or not);
    ``lost`` the events a corrupt store took with it (``salvages``: each
    salvage); ``endpoint_error`` is set while the endpoint refuses every request.
    """
    from autotelemetry.store.limits import FOLDED_MARKS, eviction_marks

    data: dict[str, Any] = {
        "backlog": None,
        "oldest_unsent": None,
        "last": None,
        "next_retry": None,
        "dropped": {},
        "evicted": 0,
        "lost": 0,
        "salvages": [],
        "endpoint_error": None,
        "rejected": {},
    }
    marks = eviction_marks(home)
    folded: set[str] = set()
    dropped: dict[str, int] = {}
    if os.path.exists(store_path(home)):
        try:
            store = Store(home, readonly=True)
        except (OSError, sqlite3.Error):
            store = None
        if store is not None:
            try:
                ledger = Ledger(store)
                data["backlog"] = ledger.backlog()
                row = store.db.execute(
                    "SELECT ts FROM events WHERE rowid > ? ORDER BY rowid LIMIT 1",
                    (ledger.watermark(),),
                ).fetchone()
                data["oldest_unsent"] = row[0] if row else None
                data["last"] = ledger.get("last")
                last = data["last"]
                if isinstance(last, dict) and isinstance(last.get("endpoint"), str):
                    # Versions before the display form stored the URL itself: never show
                    # its secrets.
                    from autotelemetry.endpoint import display

                    last["endpoint"] = display(last["endpoint"])
                if data["backlog"]:
                    data["next_retry"] = ledger.next_retry()
                dropped = ledger.counters("dropped")
                data["endpoint_error"] = ledger.endpoint_error()
                rejected = ledger.get("rejected")
                data["rejected"] = dict(rejected) if isinstance(rejected, dict) else {}
                for signal in signals:
                    if signal not in PRIMARY:
                        data[signal] = {
                            "backlog": ledger.backlog(signal),
                            "dropped": ledger.counters(key(signal, "dropped")),
                        }
                names = store.meta(FOLDED_MARKS)
                folded = set(names) if isinstance(names, list) else set()
                for meta_key, name in (("store.evicted", "evicted"), ("store.lost", "lost")):
                    value = store.meta(meta_key)
                    data[name] = value if type(value) is int else 0
                salvages = store.meta("store.salvages")
                data["salvages"] = salvages if isinstance(salvages, list) else []
            except sqlite3.DatabaseError:
                pass
            finally:
                store.close()
    waiting = sum(n for path, n in marks if os.path.basename(path) not in folded)
    if waiting:
        dropped["spool_evicted"] = dropped.get("spool_evicted", 0) + waiting
    data["dropped"] = dropped
    return data


__all__ = ["Ledger", "key", "status"]
