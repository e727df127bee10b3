"""What ``events`` and ``report`` read: every read query over stored events.

Aggregation runs in SQLite where it can (counts, grouping, percentiles by
rank over covering indexes), so a report over a million events needs no full
load into Python (see docs/performance.md). Each function returns plain rows;
:mod:`autotelemetry.report` shapes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from autotelemetry.store import Filters, Store

#: Every value of a command event's ``status``, in report order.
STATUSES = ("success", "failure", "usage_error", "interrupted", "terminated", "crash")


def command_outcomes(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, command, runs, *count per status)`` of command events, one row per command."""
    where, args = filters.where(extra="type = 'command'")
    sums = ", ".join(f"sum(status = '{s}')" for s in STATUSES)
    yield from store.db.execute(
        f"SELECT cli, command, count(*), {sums} FROM events {where} GROUP BY cli, command",
        args,
    )


def versions(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, version, runs)``, most runs first."""
    where, args = filters.where(extra="type = 'command'")
    yield from store.db.execute(
        f"SELECT cli, cli_version, count(*) FROM events {where} "
        "GROUP BY cli, cli_version ORDER BY count(*) DESC",
        args,
    )


def duration_percentiles(
    store: Store,
    filters: Filters,
    quantiles: Sequence[int],
    cli: str | None,
    command: str | None = None,
    *,
    any_command: bool = False,
) -> list[float | None]:
    """Nearest-rank percentiles of ``duration_ms`` for one CLI (and one command).

    Computed in SQLite: a count, then the value at each rank by ``ORDER BY
    duration_ms LIMIT 1 OFFSET rank-1`` (the covering index answers it).
    """
    extra = "type = 'command' AND duration_ms IS NOT NULL AND cli IS ?"
    if not any_command:
        extra += " AND command IS ?"
    where, args = filters.where(extra=extra)
    args.append(cli)
    if not any_command:
        args.append(command)
    db = store.db
    n = int(db.execute(f"SELECT count(*) FROM events {where}", args).fetchone()[0])
    if not n:
        return [None for _ in quantiles]
    out: list[float | None] = []
    for q in quantiles:
        rank = min(max(1, int(-(-q * n // 100))), n)  # ceil(q/100 * n)
        row = db.execute(
            f"SELECT duration_ms FROM events {where} ORDER BY duration_ms LIMIT 1 OFFSET ?",
            [*args, rank - 1],
        ).fetchone()
        out.append(round(row[0], 1) if row else None)
    return out


def flag_counts(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, flag, runs)``, most used first."""
    if filters.since or filters.until:
        where, args = filters.where(column_prefix="e.", extra="e.type = 'command'")
        sql = (
            "SELECT e.cli, f.flag, count(*) FROM flags f JOIN events e USING (event_id) "
            f"{where} GROUP BY e.cli, f.flag ORDER BY count(*) DESC, f.flag"
        )
    else:
        # Only command events carry flags: without a time filter the (cli, flag)
        # index answers alone, with no join over every flag row.
        where, args = filters.where()
        sql = f"SELECT cli, flag, count(*) FROM flags {where} GROUP BY cli, flag "
        sql += "ORDER BY count(*) DESC, flag"
    yield from store.db.execute(sql, args)


def crash_count(store: Store, filters: Filters) -> int:
    where, args = filters.where(extra="type = 'crash'")
    return int(store.db.execute(f"SELECT count(*) FROM events {where}", args).fetchone()[0])


def crashes(store: Store, filters: Filters) -> Iterator[tuple]:
    """``(cli, version, timestamp, body)`` of crash events, oldest first."""
    where, args = filters.where(extra="type = 'crash'")
    yield from store.db.execute(
        f"SELECT cli, cli_version, ts, body FROM events {where} ORDER BY ts", args
    )


__all__ = [
    "STATUSES",
    "command_outcomes",
    "crash_count",
    "crashes",
    "duration_percentiles",
    "flag_counts",
    "versions",
]
