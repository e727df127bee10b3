"""The report as text: what ``autotelemetry report`` prints."""

from __future__ import annotations

from typing import Any

from autotelemetry.report import stats

#: Trend periods shown in text (all of them are in --json and --html).
TREND_ROWS = 14
SHORT = {
    "success": "ok",
    "failure": "fail",
    "usage_error": "usage",
    "interrupted": "intr",
    "terminated": "term",
    "crash": "crash",
}


def empty_message(data: dict[str, Any]) -> str:
    """The truth about an empty report: nothing stored, or nothing matching."""
    stored = data.get("stored") or 0
    if stored:
        return f"no events match these filters ({stored:,} stored)"
    if "inputs" in (data.get("source") or {}):
        return "no events in the input files"
    return "no events yet: allowlist a CLI (`autotelemetry allow NAME`) and run it"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def runs(value: float) -> str:
    return f"{round(value):,}"


def table(headers: list[str], rows: list[list[Any]], left: int = 1) -> list[str]:
    """Aligned columns: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    fmt = "  ".join(("{:<%d}" if i < left else "{:>%d}") % w for i, w in enumerate(widths))
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, row)) for row in rows]
    return ["  " + line.rstrip() for line in lines]


def render(data: dict[str, Any]) -> str:
    """Human-readable report."""
    if not data["clis"]:
        return empty_message(data) + "\n"
    out: list[str] = []
    for c in data["clis"]:
        out += _cli(c)
        out.append("")
    rule = data["regression_rule"]
    out.append(
        f"regression: a version whose failure or crash rate for a command is higher than the "
        f"closest earlier version's, both with at least {rule['min_runs']} recorded runs, "
        f"one-sided two-proportion z >= {rule['z']}."
    )
    return "\n".join(out).rstrip() + "\n"


def _cli(c: dict[str, Any]) -> list[str]:
    versions = ", ".join(v["version"] for v in c["versions"])
    span = f"{(c['first_seen'] or '')[:10]} to {(c['last_seen'] or '')[:10]}"
    out = [
        f"{c['cli']}: {runs(c['runs'])} runs, {c['installs']:,} installs, "
        f"versions {versions or '-'}, {span}"
    ]
    if c["sampled"]:
        rates = ", ".join(f"{r:g}" for r in c["sample_rates"])
        out.append(
            f"  sampled (sample_rate {rates}): runs are estimated from {c['events']:,} recorded "
            "events, each counting 1/sample_rate runs; installs are those seen"
        )
    rates = "  ".join(f"{s.replace('_', ' ')} {pct(r)}" for s, r in c["rates"].items())
    out.append(f"  outcomes: {rates}")
    d = c["duration_ms"]
    out.append(f"  duration: p50 {ms(d['p50'])}  p95 {ms(d['p95'])}  p99 {ms(d['p99'])}")

    out += ["", f"  commands ({len(c['commands'])} of {c['commands_total']}):"]
    out += table(
        ["command", "runs", "installs", *SHORT.values(), "p50", "p95", "p99"],
        [
            [
                x["command"],
                runs(x["runs"]),
                x["installs"],
                *(pct(x["rates"][s]) for s in SHORT),
                ms(x["duration_ms"]["p50"]),
                ms(x["duration_ms"]["p95"]),
                ms(x["duration_ms"]["p99"]),
            ]
            for x in c["commands"]
        ],
    )
    flag_rows = [
        [x["command"], f["flag"], runs(f["runs"]), pct(f["share"])]
        for x in c["commands"]
        for f in x["flags"]
    ]
    if flag_rows:
        out += ["", "  flags per command (share of the command's runs):"]
        out += table(["command", "flag", "runs", "share"], flag_rows, left=2)

    out += ["", "  versions:"]
    out += table(
        ["version", "runs", "installs", "failure", "crash", "usage err", "first seen"],
        [
            [
                v["version"],
                runs(v["runs"]),
                v["installs"],
                pct(v["failure_rate"]),
                pct(v["crash_rate"]),
                pct(v["usage_error_rate"]),
                (v["first_seen"] or "")[:10],
            ]
            for v in c["versions"]
        ],
    )
    per_version = [
        [x["command"], v["version"], runs(v["runs"]), pct(v["failure_rate"]), pct(v["crash_rate"])]
        for x in c["commands"]
        if len(x["versions"]) > 1
        for v in x["versions"]
    ]
    if per_version:
        out += ["", "  commands by version:"]
        out += table(["command", "version", "runs", "failure", "crash"], per_version, left=2)
    if c["regressions"]:
        out += ["", "  REGRESSIONS:"]
        for r in c["regressions"]:
            out.append(
                f"  ! {r['command']} {r['version']}: {r['rate']} rate {pct(r['value'])}, "
                f"was {pct(r['previous_rate'])} on {r['previous']} (z = {r['z']})"
            )
    else:
        out += ["", "  regressions: none"]

    trend = c["trend"]
    points = trend["points"][-TREND_ROWS:]
    if points:
        shown = len(points)
        total = len(trend["points"])
        label = "daily" if trend["period"] == "day" else "weekly, weeks from Monday"
        out += ["", f"  trend ({label}, UTC; last {shown} of {total}):"]
        out += table(
            [trend["period"], "runs", "failure", "crash", "failure %", "crash %"],
            [
                [
                    p["start"],
                    runs(p["runs"]),
                    runs(p["failure"]),
                    runs(p["crash"]),
                    pct(stats.rate(p["failure"], p["runs"])),
                    pct(stats.rate(p["crash"], p["runs"])),
                ]
                for p in points
            ],
        )
    if c["crash_groups"]:
        out += ["", f"  crash groups ({c['crash_events']:,} crash events):"]
        out += table(
            [
                "type",
                "message",
                "top in-app frame",
                "count",
                "first seen",
                "last seen",
                "versions",
                "fingerprint",
            ],
            [
                [
                    g["type"],
                    _short(g["message"] or "-", 40),
                    g["top_frame"] or "-",
                    runs(g["count"]),
                    (g["first_seen"] or "")[:16],
                    (g["last_seen"] or "")[:16],
                    ", ".join(g["versions"]),
                    g["fingerprint"],
                ]
                for g in c["crash_groups"]
            ],
            left=3,
        )
    return out


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
