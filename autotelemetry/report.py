"""Usage summary over the store: what `autotelemetry report` prints.

The numbers come from :mod:`autotelemetry.store.queries` (aggregation in
SQLite); this module shapes them into the report's data and renders it.
"""

from __future__ import annotations

import json
from typing import Any

from autotelemetry.store import Filters, Store, queries

STATUSES = queries.STATUSES


def build(store: Store, filters: Filters | None = None, *, top: int = 10) -> dict:
    """The report as plain data (what ``report --json`` prints)."""
    filters = filters or Filters()
    clis: dict[str, dict[str, Any]] = {}
    outcome: dict[tuple[str, str], dict[str, int]] = {}
    totals: dict[tuple[str, str], int] = {}
    for name, command, n, *per_status in queries.command_outcomes(store, filters):
        outcome[(name, command)] = dict(zip(STATUSES, per_status))
        totals[(name, command)] = n
        data = clis.get(name)
        if data is None:
            data = clis[name] = {
                "cli": name,
                "invocations": 0,
                "status": dict.fromkeys(STATUSES, 0),
                "versions": {},
                "commands": [],
                "flags": [],
            }
        data["invocations"] += n
        for status, k in zip(STATUSES, per_status):
            data["status"][status] += k
    clis = dict(sorted(clis.items(), key=lambda kv: -kv[1]["invocations"]))
    for name, version, n in queries.versions(store, filters):
        clis[name]["versions"][version or "unknown"] = n

    for (name, command), counts in outcome.items():
        total = totals[(name, command)]
        p50, p95 = queries.duration_percentiles(store, filters, (50, 95), name, command)
        clis[name]["commands"].append(
            {
                "command": command,
                "count": total,
                "failure_rate": _rate(total - counts["success"], total),
                "p50_ms": p50,
                "p95_ms": p95,
            }
        )
    for data in clis.values():
        data["commands"].sort(key=lambda c: (-c["count"], c["command"]))
        data["commands"] = data["commands"][:top]
        n = data["invocations"]
        data["rates"] = {
            "failure": _rate(data["status"]["failure"], n),
            "usage_error": _rate(data["status"]["usage_error"], n),
            "crash": _rate(data["status"]["crash"], n),
            "interrupted": _rate(data["status"]["interrupted"], n),
        }
        data["p50_ms"], data["p95_ms"] = queries.duration_percentiles(
            store, filters, (50, 95), data["cli"], any_command=True
        )
    for name, flag, n in queries.flag_counts(store, filters):
        if name in clis and len(clis[name]["flags"]) < top:
            clis[name]["flags"].append(
                {"flag": flag, "count": n, "share": _rate(n, clis[name]["invocations"])}
            )
    return {
        "clis": list(clis.values()),
        "crash_events": queries.crash_count(store, filters),
        "crash_groups": crash_groups(store, filters, top=top),
    }


def crash_groups(store: Store, filters: Filters | None = None, *, top: int = 10) -> list[dict]:
    """Crash events grouped by fingerprint, most frequent first.

    ``count`` sums the events' own counts (a stored crash stands for the
    repeats the rate limit suppressed before it); versions are the CLI versions
    the group was seen in.
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for name, version, ts, body in queries.crashes(store, filters or Filters()):
        try:
            ev = json.loads(body)
            exc = ev.get("exception") or {}
            fp = str(exc.get("fingerprint"))
            count = int(ev.get("count") or 1)
        except (ValueError, TypeError):
            continue
        group = groups.get((name, fp))
        if group is None:
            frames = exc.get("frames") or []
            app = [f for f in frames if isinstance(f, dict) and f.get("in_app")]
            top_frame = (app or frames or [None])[-1]
            group = groups[(name, fp)] = {
                "cli": name,
                "fingerprint": fp,
                "type": exc.get("type"),
                "top_frame": (
                    f"{top_frame.get('module')}:{top_frame.get('function')}"
                    if isinstance(top_frame, dict)
                    else None
                ),
                "count": 0,
                "first_seen": ts,
                "last_seen": ts,
                "versions": [],
                "commands": [],
            }
        group["count"] += count
        group["last_seen"] = ts
        version = version or "unknown"
        if version not in group["versions"]:
            group["versions"].append(version)
        command = ev.get("command")
        if command and command not in group["commands"]:
            group["commands"].append(command)
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["last_seen"]))
    return ordered[:top]


def _rate(part: int, total: int) -> float:
    return round(part / total, 4) if total else 0.0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    fmt = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, row)) for row in rows]
    return ["  " + line.rstrip() for line in lines]


def render(data: dict) -> str:
    """Human-readable report."""
    if not data["clis"]:
        return "No events recorded yet. Allowlist a CLI (`autotelemetry allow NAME`) and run it."
    out: list[str] = []
    for c in data["clis"]:
        versions = ", ".join(f"{v} ({n})" for v, n in c["versions"].items())
        out.append(f"{c['cli']}: {c['invocations']} invocations  versions: {versions}")
        r = c["rates"]
        out.append(
            f"  failure {_pct(r['failure'])}  usage errors {_pct(r['usage_error'])}  "
            f"crashes {_pct(r['crash'])}  interrupted {_pct(r['interrupted'])}  "
            f"p50 {_ms(c['p50_ms'])}  p95 {_ms(c['p95_ms'])}"
        )
        out.append("")
        out += _table(
            ["command", "runs", "failing", "p50", "p95"],
            [
                [
                    x["command"],
                    x["count"],
                    _pct(x["failure_rate"]),
                    _ms(x["p50_ms"]),
                    _ms(x["p95_ms"]),
                ]
                for x in c["commands"]
            ],
        )
        if c["flags"]:
            out.append("")
            out += _table(
                ["flag", "uses", "of runs"],
                [[f["flag"], f["count"], _pct(f["share"])] for f in c["flags"]],
            )
        out.append("")
    if data["crash_events"]:
        out.append(f"crash events: {data['crash_events']}")
    if data.get("crash_groups"):
        out.append("")
        out.append("crash groups:")
        out += _table(
            [
                "fingerprint",
                "type",
                "top in-app frame",
                "count",
                "first seen",
                "last seen",
                "versions",
            ],
            [
                [
                    g["fingerprint"],
                    g["type"],
                    g["top_frame"] or "-",
                    g["count"],
                    g["first_seen"],
                    g["last_seen"],
                    ", ".join(g["versions"]),
                ]
                for g in data["crash_groups"]
            ],
        )
    return "\n".join(out).rstrip() + "\n"
