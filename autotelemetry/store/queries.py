"""What ``events`` and ``report`` read: every read query over stored events.

Aggregation runs in SQLite: each report query walks one covering index in its
own order (``GROUP BY`` the index's leading columns needs no sort, no table row
is read), so a report over a million events needs no full load into Python
(see docs/performance.md). Each index ends in ``ts``, so a time filter is
checked inside the index as well. Each function returns plain rows;
:mod:`autotelemetry.report` shapes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from autotelemetry.store import Filters, Store

#: Every value of a command event's ``status``, in report order.
STATUSES = ("success", "failure", "usage_error", "interrupted", "terminated", "crash")

#: An event's weight in SQL: 1/sample_rate (NULL: not sampled, weight 1).
WEIGHT = "1.0 / coalesce(sample_rate, 1.0)"


def runs(store: Store, filters: Filters) -> Iterator[tuple]:
    """Command events, counted per ``(cli, command, version, install, status, sample_rate)``.

    Rows: ``(cli, command, version, install_id, status, sample_rate, events,
    events with a duration)``, in that key order. Everything the report says
    about runs, statuses, versions and installs is summed from these (the
    number of rows is the number of distinct keys, not of events). No
    ``min(ts)``/``max(ts)`` here: they cost a third of the walk; first and last
    seen come from :func:`days`.
    """
    where, args = filters.where(extra="type = 'command'")
    yield from store.db.execute(
        "SELECT cli, command, cli_version, install_id, status, sample_rate, count(*), "
        f"count(duration_ms) FROM events INDEXED BY report_runs {where} "
        "GROUP BY cli, command, cli_version, install_id, status, sample_rate",
        args,
    )


def days(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, UTC date, version, status, sample_rate, events)`` of command events."""
    where, args = filters.where(extra="type = 'command'")
    yield from store.db.execute(
        f"SELECT cli, substr(ts, 1, 10), cli_version, status, sample_rate, count(*) "
        f"FROM events INDEXED BY report_days {where} "
        "GROUP BY cli, substr(ts, 1, 10), cli_version, status, sample_rate",
        args,
    )


def _duration_where(
    filters: Filters, cli: str | None, command: str | None, per_command: bool
) -> tuple[str, str, list[object]]:
    extra = "type = 'command' AND cli IS ? AND duration_ms IS NOT NULL"
    if per_command:
        extra = "type = 'command' AND cli IS ? AND command IS ? AND duration_ms IS NOT NULL"
    where, args = filters.where(extra=extra)
    args.append(cli)
    if per_command:
        args.append(command)
    index = "report_durations" if per_command else "report_cli_durations"
    return index, where, args


def duration_at(
    store: Store,
    filters: Filters,
    cli: str | None,
    command: str | None,
    offset: int,
    *,
    per_command: bool = True,
    descending: bool = False,
) -> float | None:
    """The duration at ``offset`` in ascending (or descending) order: one index walk.

    High percentiles are read from the top (``descending``), so p95 and p99 walk
    5 % and 1 % of the index instead of 95 % and 99 %.
    """
    index, where, args = _duration_where(filters, cli, command, per_command)
    order = "DESC" if descending else "ASC"
    row = store.db.execute(
        f"SELECT duration_ms FROM events INDEXED BY {index} {where} "
        f"ORDER BY duration_ms {order} LIMIT 1 OFFSET ?",
        [*args, offset],
    ).fetchone()
    return None if row is None else float(row[0])


def durations(
    store: Store, filters: Filters, cli: str | None, command: str | None, *, per_command: bool
) -> Iterator[tuple[float, float | None]]:
    """``(duration_ms, sample_rate)`` in ascending order (weighted percentiles, mixed rates)."""
    index, where, args = _duration_where(filters, cli, command, per_command)
    yield from store.db.execute(
        f"SELECT duration_ms, sample_rate FROM events INDEXED BY {index} {where} "
        "ORDER BY duration_ms",
        args,
    )


def duration_bins(
    store: Store, filters: Filters, cli: str | None, edges: Sequence[float], weighted: bool
) -> list[tuple[int, float]]:
    """``(events, runs)`` with ``edges[i] <= duration_ms < edges[i+1]`` (last: open).

    One range walk of the index per bin: the bins together read each event once.
    Runs are weighted by 1/sample_rate only when asked (a sampled CLI).
    """
    index, where, args = _duration_where(filters, cli, None, False)
    out = []
    bounds = [*edges, None]
    runs = f"total({WEIGHT})" if weighted else "count(*)"
    for lo, hi in zip(bounds, bounds[1:]):
        clause = " AND duration_ms >= ?" + (" AND duration_ms < ?" if hi is not None else "")
        row = store.db.execute(
            f"SELECT count(*), {runs} FROM events INDEXED BY {index} {where}{clause}",
            [*args, lo, *([hi] if hi is not None else [])],
        ).fetchone()
        out.append((int(row[0]), float(row[1])))
    return out


def flags(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, command, flag, sample_rate, events)``: only command events carry flags."""
    where, args = filters.where()
    yield from store.db.execute(
        f"SELECT cli, command, flag, sample_rate, count(*) FROM flags INDEXED BY flags_report "
        f"{where} GROUP BY cli, command, flag, sample_rate",
        args,
    )


def crashes(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, version, timestamp, sample_rate, body)`` of crash events, oldest first.

    Found through the runs index (crash events are few; sorting them is cheap),
    never by walking the time index over every event.
    """
    where, args = filters.where(extra="type = 'crash'")
    yield from store.db.execute(
        f"SELECT cli, cli_version, ts, sample_rate, body FROM events INDEXED BY report_runs "
        f"{where} ORDER BY ts, rowid",
        args,
    )


def crash_count(store: Store, filters: Filters) -> int:
    where, args = filters.where(extra="type = 'crash'")
    return int(
        store.db.execute(
            f"SELECT count(*) FROM events INDEXED BY report_runs {where}", args
        ).fetchone()[0]
    )


def size_hint(store: Store) -> int:
    """About how many events are stored (the largest row id: no scan)."""
    row = store.db.execute("SELECT max(rowid) FROM events").fetchone()
    return int(row[0] or 0)


def listing(store: Store, filters: Filters, limit: int | None = None) -> Iterator[tuple]:
    """``(body, exit_code, duration_ms)`` of events, newest first, one row at a time.

    For a crash event, ``exit_code`` and ``duration_ms`` are its run's, where
    ingest found them (see :func:`~autotelemetry.store.ingest.rows`).
    """
    where, args = filters.where()
    sql = f"SELECT body, exit_code, duration_ms FROM events {where} ORDER BY ts DESC, rowid DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    yield from store.db.execute(sql, args)


__all__ = [
    "STATUSES",
    "WEIGHT",
    "crash_count",
    "crashes",
    "days",
    "duration_at",
    "duration_bins",
    "durations",
    "flags",
    "listing",
    "runs",
    "size_hint",
]
