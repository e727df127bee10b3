"""The report as plain data (what ``report --json`` prints and every renderer reads).

Numbers come from :mod:`autotelemetry.store.queries` (aggregated in SQLite over
covering indexes); this module only sums the grouped rows and applies the
rules of :mod:`autotelemetry.report.stats`. The same code runs over the local
store and over the scratch store that ``report --input`` fills.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autotelemetry.report import stats
from autotelemetry.store import Filters, Store, queries

STATUSES = queries.STATUSES
#: Statuses a version is judged by (usage errors are the user's, not the release's).
JUDGED = ("failure", "crash")
#: Daily trend up to this many days between the first and the last event; weekly beyond.
DAILY_SPAN_DAYS = 62
#: Never more trend points than this (clock jumps can span decades): empty periods
#: are then left out instead of filled with zeros.
MAX_FILLED_PERIODS = 1000

Progress = Callable[[int, int], None]


@dataclass
class Tally:
    """Command events of one slice (a CLI, a command, a version, or a command on a version)."""

    events: int = 0
    runs: float = 0.0
    timed: int = 0
    timed_runs: float = 0.0
    status_events: Counter[str | None] = field(default_factory=Counter)
    status_runs: defaultdict[str | None, float] = field(default_factory=lambda: defaultdict(float))
    installs: set = field(default_factory=set)
    rates: set = field(default_factory=set)
    first: str | None = None
    last: str | None = None

    def add(
        self, install: str | None, status: str | None, rate: float | None, n: int, timed: int
    ) -> None:
        w = stats.weight(rate)
        self.events += n
        self.runs += n * w
        self.timed += timed
        self.timed_runs += timed * w
        self.status_events[status] += n
        self.status_runs[status] += n * w
        if install is not None:
            self.installs.add(install)
        self.rates.add(rate)

    def merge(self, other: Tally) -> None:
        self.events += other.events
        self.runs += other.runs
        self.timed += other.timed
        self.timed_runs += other.timed_runs
        self.status_events.update(other.status_events)
        for status, runs in other.status_runs.items():
            self.status_runs[status] += runs
        self.installs |= other.installs
        self.rates |= other.rates
        self.seen(other.first, other.last)

    def seen(self, first: str | None, last: str | None) -> None:
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last

    def summary(self) -> dict[str, Any]:
        return {
            "runs": stats.number(self.runs),
            "events": self.events,
            "installs": len(self.installs),
            "status": {s: stats.number(self.status_runs[s]) for s in STATUSES},
            "rates": {s: stats.rate(self.status_runs[s], self.runs) for s in STATUSES},
        }


def build(
    store: Store,
    filters: Filters | None = None,
    *,
    top: int = 10,
    trend: str = "auto",
    source: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole report; ``progress(steps done, steps)`` is told as queries finish."""
    filters = filters or Filters()
    by_version: dict[tuple[str, str, str | None], Tally] = {}
    for cli, command, version, install, status, rate, n, timed in queries.runs(store, filters):
        key = (cli or "unknown", command, version)
        tally = by_version.get(key)
        if tally is None:
            tally = by_version[key] = Tally()
        tally.add(install, status, rate, n, timed)
    days, seen = _days(store, filters, trend)
    # Coarser slices are merged from the finest one (installs as set unions).
    clis: dict[str, Tally] = {}
    commands: dict[tuple[str, str], Tally] = {}
    versions: dict[tuple[str, str | None], Tally] = {}
    for (cli, command, version), tally in by_version.items():
        _into(clis, cli, tally)
        _into(commands, (cli, command), tally)
        _into(versions, (cli, version), tally)
    for (cli, version), (first, last) in seen.items():
        if (cli, version) in versions:
            versions[(cli, version)].seen(first, last)
            clis[cli].seen(first, last)
    crash_rows = list(_crash_groups(store, filters))
    for group in crash_rows:
        clis.setdefault(group["cli"], Tally())
    steps = 3 + len(commands) + 2 * len(clis)
    done = 2
    if progress:
        progress(done, steps)

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps)

    order = {cli: _version_order(cli, versions) for cli in clis}
    flags = _flags(store, filters)
    step()
    out = []
    for cli, tally in sorted(clis.items(), key=lambda kv: (-kv[1].runs, kv[0])):
        data: dict[str, Any] = {"cli": cli, **tally.summary()}
        data["sampled"] = any(r is not None for r in tally.rates)
        data["sample_rates"] = sorted(r for r in tally.rates if r is not None)
        data["first_seen"], data["last_seen"] = tally.first, tally.last
        data["duration_ms"] = _percentiles(store, filters, cli, None, tally, per_command=False)
        step()
        data["duration_histogram"] = _histogram(store, filters, cli, data["sampled"])
        step()
        data["versions"] = [
            _version_entry(v, versions[(cli, v)], _previous(order[cli], versions, (cli,), v))
            for v in order[cli]
        ]
        cmd_list = []
        for (c_cli, command), ctally in commands.items():
            if c_cli != cli:
                continue
            entry: dict[str, Any] = {"command": command, **ctally.summary()}
            entry["duration_ms"] = _percentiles(store, filters, cli, command, ctally)
            step()
            cmd_flags = flags.get((cli, command), {})
            entry["flags"] = _flag_list(cmd_flags, ctally.runs, top)
            entry["versions"] = [
                _version_entry(
                    v,
                    by_version[(cli, command, v)],
                    _previous(order[cli], by_version, (cli, command), v),
                )
                for v in order[cli]
                if (cli, command, v) in by_version
            ]
            cmd_list.append(entry)
        cmd_list.sort(key=lambda c: (-c["runs"], str(c["command"])))
        data["regressions"] = [
            {"command": c["command"], "version": v["version"], **r}
            for c in cmd_list
            for v in c["versions"]
            for r in v["regressions"]
        ]
        data["commands"] = cmd_list[:top]
        data["commands_total"] = len(cmd_list)
        cli_flags: dict[str, list[float]] = {}
        for (f_cli, _), per_flag in flags.items():
            if f_cli == cli:
                for flag, (n, runs) in per_flag.items():
                    acc = cli_flags.setdefault(flag, [0, 0.0])
                    acc[0] += n
                    acc[1] += runs
        data["flags"] = _flag_list(
            {f: (int(v[0]), v[1]) for f, v in cli_flags.items()}, tally.runs, top
        )
        data["trend"] = days.get(cli) or {"period": "day", "points": []}
        groups = [g for g in crash_rows if g["cli"] == cli]
        for g in groups:
            g["versions"] = _ordered(g["versions"], order[cli])
        data["crash_events"] = sum(g["events"] for g in groups)
        data["crash_groups"] = groups[:top]
        out.append(data)
    step()
    matched = sum(t.events for t in clis.values()) + sum(g["events"] for g in crash_rows)
    return _envelope(source or {"store": store.path}, filters, store.count(), matched, out)


def _into(table: dict[Any, Tally], key: Any, tally: Tally) -> None:
    coarse = table.get(key)
    if coarse is None:
        coarse = table[key] = Tally()
    coarse.merge(tally)


def build_empty(filters: Filters | None = None, source: dict[str, Any] | None = None) -> dict:
    """The report when nothing was ever recorded (no store is opened, none is created)."""
    return _envelope(source or {"store": None}, filters or Filters(), 0, 0, [])


def _envelope(
    source: dict[str, Any], filters: Filters, stored: int, matched: int, clis: list
) -> dict[str, Any]:
    return {
        "generated_at": _now(),
        "source": source,
        "filters": {"cli": filters.cli, "since": filters.since, "until": filters.until},
        "stored": stored,
        "matched": matched,
        "weighting": (
            "runs are estimates: each event counts 1/sample_rate runs (an event without "
            "sample_rate counts 1); rates are weighted the same way"
        ),
        "regression_rule": {
            "min_runs": stats.MIN_RUNS,
            "z": stats.Z_CRITICAL,
            "test": "one-sided two-proportion z-test (pooled) on recorded runs, "
            "against the closest earlier version with at least min_runs runs",
        },
        "clis": clis,
    }


# --- versions ----------------------------------------------------------------------


def _version_order(cli: str, versions: dict[tuple[str, str | None], Tally]) -> list[str | None]:
    """The CLI's versions, oldest first: PEP 440 order if all parse, else by first seen.

    Events without a version ("unknown") come last and are never compared.
    """
    seen = {v: t for (c, v), t in versions.items() if c == cli}
    named = [v for v in seen if v is not None]
    key = stats.version_key(named)
    if key is not None:
        named.sort(key=key)
    else:
        named.sort(key=lambda v: (seen[v].first or "", v))
    return [*named, *([None] if None in seen else [])]


def _ordered(values: list[str | None], order: list[str | None]) -> list[str]:
    rank = {v: i for i, v in enumerate(order)}
    return [
        "unknown" if v is None else v for v in sorted(values, key=lambda v: rank.get(v, len(rank)))
    ]


def _previous(
    order: list[str | None], table: dict, prefix: tuple, version: str | None
) -> tuple[str, Tally] | None:
    """The closest earlier version with at least MIN_RUNS recorded runs, and its tally."""
    if version is None:
        return None
    i = order.index(version)
    for earlier in reversed(order[:i]):
        tally = table.get((*prefix, earlier))
        if earlier is not None and tally is not None and tally.events >= stats.MIN_RUNS:
            return earlier, tally
    return None


def _version_entry(
    version: str | None, tally: Tally, previous: tuple[str, Tally] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": version if version is not None else "unknown",
        "runs": stats.number(tally.runs),
        "events": tally.events,
        "installs": len(tally.installs),
    }
    if tally.first is not None:  # UTC dates (from the trend query), per CLI version only
        entry["first_seen"], entry["last_seen"] = tally.first, tally.last
    for status in ("failure", "usage_error", "crash"):
        entry[f"{status}_rate"] = stats.rate(tally.status_runs[status], tally.runs)
    entry["regressions"] = []
    if previous is not None:
        name, before = previous
        for status in JUDGED:
            z = stats.regressed(
                before.status_events[status],
                before.events,
                tally.status_events[status],
                tally.events,
            )
            if z is not None:
                entry["regressions"].append(
                    {
                        "rate": status,
                        "previous": name,
                        "previous_rate": stats.rate(before.status_runs[status], before.runs),
                        "value": entry[f"{status}_rate"],
                        "z": z,
                    }
                )
    return entry


# --- durations ---------------------------------------------------------------------


def _percentiles(
    store: Store,
    filters: Filters,
    cli: str,
    command: str | None,
    tally: Tally,
    *,
    per_command: bool = True,
) -> dict[str, float | None]:
    """p50/p95/p99, weighted nearest rank; read straight from the index when weights are equal."""
    n = tally.timed
    keys = [f"p{q}" for q in stats.QUANTILES]
    if not n:
        return dict.fromkeys(keys)
    values: list[float | None]
    if len(tally.rates) <= 1:
        values = []
        for q in stats.QUANTILES:
            k = stats.rank(q, n)
            down = n - k < k - 1
            values.append(
                queries.duration_at(
                    store,
                    filters,
                    cli,
                    command,
                    n - k if down else k - 1,
                    per_command=per_command,
                    descending=down,
                )
            )
    else:  # mixed sample rates: walk the durations in order, summing weights
        values = stats.weighted_percentiles(
            queries.durations(store, filters, cli, command, per_command=per_command),
            tally.timed_runs,
            stats.QUANTILES,
        )
    return {k: None if v is None else round(v, 1) for k, v in zip(keys, values)}


def _histogram(store: Store, filters: Filters, cli: str, sampled: bool) -> list[dict[str, Any]]:
    edges = stats.DURATION_EDGES
    bins = queries.duration_bins(store, filters, cli, edges, sampled)
    return [
        {
            "from_ms": lo,
            "to_ms": hi,
            "runs": stats.number(runs),
            "events": n,
        }
        for (n, runs), lo, hi in zip(bins, edges, [*edges[1:], None])
    ]


# --- flags -------------------------------------------------------------------------


def _flags(store: Store, filters: Filters) -> dict[tuple[str, str], dict[str, tuple[int, float]]]:
    out: dict[tuple[str, str], dict[str, list]] = {}
    for cli, command, flag, rate, n in queries.flags(store, filters):
        acc = out.setdefault((cli or "unknown", command), {}).setdefault(flag, [0, 0.0])
        acc[0] += n
        acc[1] += n * stats.weight(rate)
    return {k: {f: (v[0], v[1]) for f, v in d.items()} for k, d in out.items()}


def _flag_list(
    per_flag: dict[str, tuple[int, float]], runs: float, top: int
) -> list[dict[str, Any]]:
    ordered = sorted(per_flag.items(), key=lambda kv: (-kv[1][1], kv[0]))[:top]
    return [
        {"flag": f, "runs": stats.number(r), "events": n, "share": stats.rate(r, runs)}
        for f, (n, r) in ordered
    ]


# --- trend -------------------------------------------------------------------------


def _days(
    store: Store, filters: Filters, trend: str
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str | None], tuple[str, str]]]:
    """The trend per CLI, and each (CLI, version)'s first and last day (UTC)."""
    per_cli: dict[str, dict[str, Counter]] = {}
    seen: dict[tuple[str, str | None], list[str]] = {}
    for cli, day, version, status, rate, n in queries.days(store, filters):
        cli = cli or "unknown"
        counts = per_cli.setdefault(cli, {}).setdefault(day, Counter())
        w = n * stats.weight(rate)
        counts["runs"] += w
        counts["events"] += n
        counts[status] += w
        span = seen.get((cli, version))
        if span is None:
            seen[(cli, version)] = [day, day]
        else:
            span[0], span[1] = min(span[0], day), max(span[1], day)
    trends = {cli: _trend(days, trend) for cli, days in per_cli.items()}
    return trends, {k: (v[0], v[1]) for k, v in seen.items()}


def _trend(days: dict[str, Counter], trend: str) -> dict[str, Any]:
    parsed: dict[dt.date, Counter] = {}
    for day, counts in days.items():
        try:
            date = dt.date.fromisoformat(day)
        except (TypeError, ValueError):
            continue  # a timestamp that is not RFC 3339: counted everywhere but here
        parsed[date] = counts
    if not parsed:
        return {"period": "day", "points": []}
    first, last = min(parsed), max(parsed)
    period = trend
    if period == "auto":
        period = "day" if (last - first).days <= DAILY_SPAN_DAYS else "week"
    buckets: dict[dt.date, Counter] = {}
    for date, counts in parsed.items():
        start = date - dt.timedelta(days=date.weekday()) if period == "week" else date
        buckets.setdefault(start, Counter()).update(counts)
    step = dt.timedelta(days=7 if period == "week" else 1)
    starts = sorted(buckets)
    span = (starts[-1] - starts[0]) // step + 1
    if span <= MAX_FILLED_PERIODS:
        starts = [starts[0] + i * step for i in range(span)]
    points = []
    for start in starts:
        counts = buckets.get(start, Counter())
        point: dict[str, Any] = {
            "start": start.isoformat(),
            "runs": stats.number(counts["runs"]),
            "events": int(counts["events"]),
        }
        for status in STATUSES:
            point[status] = stats.number(counts[status])
        points.append(point)
    return {"period": period, "points": points}


# --- crash groups ------------------------------------------------------------------


def _crash_groups(store: Store, filters: Filters) -> list[dict[str, Any]]:
    """Crash events grouped by (CLI, fingerprint), most occurrences first.

    ``count`` sums what each stored crash stands for (its ``count``: the repeats
    the crash rate limit folded into it), weighted by 1/sample_rate like runs;
    ``events`` is how many crash events were stored. The message shown is the
    most frequent sanitised message of the group (the latest on a tie).
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    messages: dict[tuple[str, str], Counter] = {}
    for cli, version, ts, rate, body in queries.crashes(store, filters):
        try:
            ev = json.loads(body)
            exc = ev.get("exception") or {}
            fp = str(exc.get("fingerprint"))
            count = int(ev.get("count") or 1)
        except (ValueError, TypeError, AttributeError):
            continue
        cli = cli or "unknown"
        key = (cli, fp)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "cli": cli,
                "fingerprint": fp,
                "type": exc.get("type"),
                "message": None,
                "top_frame": top_frame(exc.get("frames")),
                "count": 0.0,
                "events": 0,
                "first_seen": ts,
                "last_seen": ts,
                "versions": [],
                "commands": [],
            }
            messages[key] = Counter()
        group["count"] += count * stats.weight(rate)
        group["events"] += 1
        group["last_seen"] = ts
        frame = top_frame(exc.get("frames"))
        if frame:
            group["top_frame"] = frame  # the latest one (line numbers are not part of it)
        message = exc.get("message")
        if isinstance(message, str):
            messages[key][message] += 1
            tally = messages[key]
            best = max(tally.values())
            if tally[message] == best:
                group["message"] = message
        if version not in group["versions"]:
            group["versions"].append(version)
        command = ev.get("command")
        if command and command not in group["commands"]:
            group["commands"].append(command)
    for group in groups.values():
        group["count"] = stats.number(group["count"])
    return sorted(groups.values(), key=lambda g: (-g["count"], g["last_seen"] or ""))


def top_frame(frames: object) -> str | None:
    """``module:function`` of the innermost in-app frame (innermost frame if none is in-app)."""
    if not isinstance(frames, list):
        return None
    usable = [f for f in frames if isinstance(f, dict)]
    app = [f for f in usable if f.get("in_app")]
    if not (app or usable):
        return None
    frame = (app or usable)[-1]
    return f"{frame.get('module') or frame.get('file')}:{frame.get('function')}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
