"""The report as one self-contained HTML page (``report --html PATH``).

Everything is inline: CSS, a few lines of JavaScript (table sorting and chart
tooltips) and the charts as SVG, rendered at report time by pygal (see
docs/design.md, "The report's charts"). The page makes no request: it opens
from disk, offline, and with JavaScript off every number and chart is still
there (only sorting and hover tooltips need it). It renders the same data as
``report --json``; each number in a table carries its raw value in
``data-value``.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Callable
from typing import Any

from autotelemetry.report.text import empty_message, ms, pct, runs

COLORS = {
    "success": "#3a9d5d",
    "failure": "#e08a1e",
    "usage_error": "#c9b037",
    "interrupted": "#8c8c8c",
    "terminated": "#7e57c2",
    "crash": "#d64541",
}
LABELS = {
    "success": "success",
    "failure": "failure",
    "usage_error": "usage error",
    "interrupted": "interrupted",
    "terminated": "terminated",
    "crash": "crash",
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"

CSS = """
:root { color-scheme: light; }
body { font-family: %(font)s; margin: 0; color: #1d232b; background: #f5f6f8; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.35rem; margin: 32px 0 8px; border-bottom: 2px solid #d8dce2; }
h3 { font-size: 1.05rem; margin: 24px 0 8px; }
.meta, .note { color: #5a6370; font-size: .9rem; margin: 4px 0; }
nav a { margin-right: 16px; }
section.cli { background: #fff; border: 1px solid #dde1e6; border-radius: 8px;
  padding: 8px 24px 24px; margin: 24px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid #dde1e6; border-radius: 6px; padding: 8px 14px; min-width: 96px; }
.card .label { font-size: .8rem; color: #5a6370; }
.card .num { font-size: 1.35rem; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid #e6e9ed; border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; font-size: .95rem; margin: 0 0 4px 4px; }
figure svg { width: 100%%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%%; font-size: .88rem; margin: 4px 0 12px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e6e9ed; text-align: left;
  white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f2f5; position: sticky; top: 0; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable::after { content: " \\2195"; color: #9aa3ad; }
th[aria-sort="ascending"]::after { content: " \\2191"; color: #1d232b; }
th[aria-sort="descending"]::after { content: " \\2193"; color: #1d232b; }
td.msg { white-space: normal; max-width: 340px; font-family: ui-monospace, monospace;
  font-size: .8rem; }
.regression { background: #fdecea; border-left: 4px solid #d64541; padding: 8px 12px;
  margin: 8px 0; }
.ok { color: #3a9d5d; }
tr.flagged td { background: #fdecea; }
.scroll { overflow-x: auto; }
.legend { font-size: .8rem; color: #3b434d; margin: 2px 4px; }
.legend .key { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 5px;
  border-radius: 2px; vertical-align: -1px; }
""" % {"font": FONT}

SCRIPT = """
(function () {
  function cellValue(row, i) {
    var cell = row.cells[i];
    if (!cell) return "";
    var v = cell.getAttribute("data-value");
    if (v !== null && v !== "" && !isNaN(Number(v))) return Number(v);
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      th.classList.add("sortable");
      th.setAttribute("tabindex", "0");
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, i), y = cellValue(b, i);
          if (x === y) return 0;
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  // Native tooltips from the values pygal writes beside each bar.
  var NS = "http://www.w3.org/2000/svg";
  document.querySelectorAll("svg.pygal-chart .tooltip-trigger").forEach(function (el) {
    var parent = el.parentNode, label = [], val = parent.querySelector("desc.value");
    var x = parent.querySelector("desc.x_label");
    if (x && x.textContent) label.push(x.textContent);
    if (val) label.push(val.textContent);
    var title = document.createElementNS(NS, "title");
    title.textContent = label.join(": ");
    el.appendChild(title);
  });
})();
"""


# --- charts --------------------------------------------------------------------------


def _style(colors: tuple[str, ...]) -> Any:
    from pygal.style import Style

    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1d232b",
        foreground_strong="#1d232b",
        foreground_subtle="#c9ced6",
        opacity=".9",
        opacity_hover="1",
        transition="0ms",
        font_family=FONT,
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=13,
        value_font_size=12,
        value_label_font_size=12,
        title_font_size=14,
        colors=colors or ("#4a78b5",),
    )


def _config(colors: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    """What every chart shares: no external script, no XML declaration, scalable SVG."""
    options: dict[str, Any] = {
        "js": [],  # pygal's default is a tooltip script from the network: never
        "disable_xml_declaration": True,
        "style": _style(colors),
        "width": 560,
        "height": 340,
        "truncate_label": -1,
        "margin": 12,
        "show_legend": False,  # an HTML legend under the figure instead (never clipped)
        "show_minor_y_labels": False,
        "y_labels_major_count": 6,
        "truncate_legend": -1,
        "no_data_text": "no data",
        "show_x_guides": False,
    }
    options.update(extra)
    return options


def _svg(chart: Any) -> str:
    return str(chart.render(is_unicode=True))


def trend_chart(c: dict[str, Any]) -> str:
    import pygal

    points = c["trend"]["points"]
    labels = [p["start"] for p in points]
    used = [s for s in stats_statuses() if any(p[s] for p in points)]
    chart = pygal.StackedBar(
        **_config(
            tuple(COLORS[s] for s in used),
            x_label_rotation=30,
            show_minor_x_labels=False,
            x_labels_major_count=min(len(labels), 8),
            value_formatter=lambda v: f"{v:,.0f}",
        )
    )
    chart.x_labels = labels
    for status in used:
        chart.add(LABELS[status], [p[status] for p in points])
    return _svg(chart)


def commands_chart(c: dict[str, Any]) -> str:
    import pygal

    commands = list(reversed(c["commands"]))  # horizontal bars draw bottom-up
    used = [s for s in stats_statuses() if any(x["status"][s] for x in commands)]
    chart = pygal.HorizontalStackedBar(
        **_config(
            tuple(COLORS[s] for s in used),
            height=max(220, 90 + 34 * len(commands)),
            value_formatter=lambda v: f"{v:,.0f}",
            # Horizontal: the commands are the y axis labels, the values the x axis.
            show_minor_y_labels=True,
            y_labels_major_count=None,
            show_minor_x_labels=False,
            x_labels_major_count=5,
        )
    )
    chart.x_labels = [x["command"] for x in commands]
    for status in used:
        chart.add(LABELS[status], [x["status"][status] for x in commands])
    return _svg(chart)


def versions_chart(c: dict[str, Any]) -> str:
    import pygal

    versions = c["versions"]
    flagged = _flagged_versions(c)
    chart = pygal.Bar(
        **_config(
            (COLORS["failure"], COLORS["crash"]),
            print_values=len(versions) <= 8,
            value_formatter=lambda v: f"{v:.1f}%",
            x_title="version (! = a command regressed)",
        )
    )
    chart.x_labels = [v["version"] + (" !" if v["version"] in flagged else "") for v in versions]
    chart.add("failure rate", [round(v["failure_rate"] * 100, 2) for v in versions])
    chart.add("crash rate", [round(v["crash_rate"] * 100, 2) for v in versions])
    return _svg(chart)


def durations_chart(c: dict[str, Any]) -> str:
    import pygal

    bins = _trimmed(c["duration_histogram"])
    chart = pygal.Bar(
        **_config(
            ("#4a78b5",),
            print_values=True,
            value_formatter=lambda v: f"{v:,.0f}",
            x_title="duration of a run",
            x_label_rotation=30,
        )
    )
    chart.x_labels = [bin_label(b) for b in bins]
    chart.add("runs", [b["runs"] for b in bins])
    return _svg(chart)


def stats_statuses() -> tuple[str, ...]:
    return tuple(COLORS)


def _trimmed(bins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    used = [i for i, b in enumerate(bins) if b["events"]]
    return bins[used[0] : used[-1] + 1] if used else bins[:0]


def bin_label(b: dict[str, Any]) -> str:
    def fmt(value: float) -> str:
        return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"

    if b["to_ms"] is None:
        return f"≥ {fmt(b['from_ms'])}"
    if not b["from_ms"]:
        return f"< {fmt(b['to_ms'])}"
    return f"{fmt(b['from_ms'])}–{fmt(b['to_ms'])}"


def _legend(key: str, c: dict[str, Any]) -> str:
    if key == "trend":
        used = [s for s in stats_statuses() if any(p[s] for p in c["trend"]["points"])]
        items = [(LABELS[s], COLORS[s]) for s in used]
    elif key == "commands":
        used = [s for s in stats_statuses() if any(x["status"][s] for x in c["commands"])]
        items = [(LABELS[s], COLORS[s]) for s in used]
    elif key == "versions":
        items = [("failure rate", COLORS["failure"]), ("crash rate", COLORS["crash"])]
    else:
        return ""
    spans = "".join(
        f'<span class="key"><i style="background:{color}"></i>{_e(label)}</span>'
        for label, color in items
    )
    return f'<div class="legend">{spans}</div>'


def _flagged_versions(c: dict[str, Any]) -> set[str]:
    return {r["version"] for r in c["regressions"]}


# --- tables --------------------------------------------------------------------------

Cell = tuple[str, Any, str]  # (shown text, sort value or None, class)


def _num(text: str, value: Any) -> Cell:
    return (text, value, "n")


def _txt(text: Any) -> Cell:
    return ("-" if text is None else str(text), None, "")


def _table(
    headers: list[tuple[str, bool]],
    rows: list[tuple[dict[str, str], list[Cell]]],
    name: str,
) -> str:
    """A sortable table; ``headers`` are (title, numeric), rows (row attributes, cells)."""
    if not rows:
        return '<p class="note">none</p>'
    out = [f'<div class="scroll"><table class="sortable" data-table="{_e(name)}"><thead><tr>']
    for title, numeric in headers:
        out.append(f'<th class="{"n" if numeric else ""}" scope="col">{_e(title)}</th>')
    out.append("</tr></thead><tbody>")
    for attrs, cells in rows:
        extra = "".join(f' {k}="{_e(v)}"' for k, v in attrs.items())
        out.append(f"<tr{extra}>")
        for (title, _), (text, value, cls) in zip(headers, cells):
            data = "" if value is None else f' data-value="{_e(value)}"'
            out.append(f'<td class="{cls}" data-col="{_e(title)}"{data}>{_e(text)}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _rate_cells(rates: dict[str, float]) -> list[Cell]:
    return [_num(pct(rates[s]), rates[s]) for s in stats_statuses()]


def _duration_cells(d: dict[str, float | None]) -> list[Cell]:
    return [_num(ms(d[k]), d[k]) for k in ("p50", "p95", "p99")]


def _cli_section(c: dict[str, Any], index: int) -> str:
    name = c["cli"]
    out = [f'<section class="cli" id="cli-{index}" data-cli="{_e(name)}">']
    out.append(f"<h2>{_e(name)}</h2>")
    span = f"{(c['first_seen'] or '')[:10]} to {(c['last_seen'] or '')[:10]}"
    versions = ", ".join(v["version"] for v in c["versions"]) or "-"
    out.append(f'<p class="meta">{_e(span)} · versions {_e(versions)}</p>')
    if c["sampled"]:
        rates = ", ".join(f"{r:g}" for r in c["sample_rates"])
        out.append(
            f'<p class="note" data-sampled="true">Sampled (sample_rate {_e(rates)}): runs are '
            f"estimated from {c['events']:,} recorded events, each counting 1/sample_rate "
            "runs; installs are those seen.</p>"
        )
    cards = [
        ("runs", runs(c["runs"]), c["runs"]),
        ("installs", f"{c['installs']:,}", c["installs"]),
        ("success", pct(c["rates"]["success"]), c["rates"]["success"]),
        ("failure", pct(c["rates"]["failure"]), c["rates"]["failure"]),
        ("crash", pct(c["rates"]["crash"]), c["rates"]["crash"]),
        ("p50", ms(c["duration_ms"]["p50"]), c["duration_ms"]["p50"]),
        ("p95", ms(c["duration_ms"]["p95"]), c["duration_ms"]["p95"]),
        ("p99", ms(c["duration_ms"]["p99"]), c["duration_ms"]["p99"]),
    ]
    out.append('<div class="cards">')
    for label, text, value in cards:
        out.append(
            f'<div class="card" data-card="{_e(label)}" data-value="{_e(value)}">'
            f'<div class="label">{_e(label)}</div><div class="num">{_e(text)}</div></div>'
        )
    out.append("</div>")

    if c["regressions"]:
        for r in c["regressions"]:
            out.append(
                f'<p class="regression" data-regression="{_e(r["command"])}|{_e(r["version"])}">'
                f"<strong>Regression:</strong> {_e(r['command'])} on {_e(r['version'])}: "
                f"{_e(r['rate'])} rate {pct(r['value'])}, was {pct(r['previous_rate'])} on "
                f"{_e(r['previous'])} (z = {r['z']})</p>"
            )
    else:
        out.append('<p class="ok">No regressions.</p>')

    period = "day" if c["trend"]["period"] == "day" else "week (from Monday)"
    charts: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
        ("trend", f"Runs per {period}, UTC, by outcome", trend_chart),
        ("commands", "Runs per command, by outcome", commands_chart),
        ("versions", "Failure and crash rate by version", versions_chart),
        ("durations", "Duration distribution (runs)", durations_chart),
    ]
    out.append('<div class="charts">')
    for key, caption, draw in charts:
        out.append(
            f'<figure data-chart="{key}"><figcaption>{_e(caption)}</figcaption>{draw(c)}'
            f"{_legend(key, c)}</figure>"
        )
    out.append("</div>")

    out.append(f"<h3>Commands ({len(c['commands'])} of {c['commands_total']})</h3>")
    out.append(
        _table(
            [
                ("command", False),
                ("runs", True),
                ("installs", True),
                *((LABELS[s], True) for s in stats_statuses()),
                ("p50", True),
                ("p95", True),
                ("p99", True),
            ],
            [
                (
                    {"data-command": x["command"]},
                    [
                        _txt(x["command"]),
                        _num(runs(x["runs"]), x["runs"]),
                        _num(f"{x['installs']:,}", x["installs"]),
                        *_rate_cells(x["rates"]),
                        *_duration_cells(x["duration_ms"]),
                    ],
                )
                for x in c["commands"]
            ],
            "commands",
        )
    )
    out.append("<h3>Flags per command</h3>")
    out.append(
        _table(
            [("command", False), ("flag", False), ("runs", True), ("share", True)],
            [
                (
                    {"data-command": x["command"], "data-flag": f["flag"]},
                    [
                        _txt(x["command"]),
                        _txt(f["flag"]),
                        _num(runs(f["runs"]), f["runs"]),
                        _num(pct(f["share"]), f["share"]),
                    ],
                )
                for x in c["commands"]
                for f in x["flags"]
            ],
            "flags",
        )
    )
    flagged = _flagged_versions(c)
    out.append("<h3>Versions</h3>")
    out.append(
        _table(
            [
                ("version", False),
                ("runs", True),
                ("installs", True),
                ("failure", True),
                ("crash", True),
                ("usage error", True),
                ("first seen", False),
            ],
            [
                (
                    {"data-version": v["version"]}
                    | ({"class": "flagged"} if v["version"] in flagged else {}),
                    [
                        _txt(v["version"]),
                        _num(runs(v["runs"]), v["runs"]),
                        _num(f"{v['installs']:,}", v["installs"]),
                        _num(pct(v["failure_rate"]), v["failure_rate"]),
                        _num(pct(v["crash_rate"]), v["crash_rate"]),
                        _num(pct(v["usage_error_rate"]), v["usage_error_rate"]),
                        _txt((v["first_seen"] or "")[:10]),
                    ],
                )
                for v in c["versions"]
            ],
            "versions",
        )
    )
    out.append("<h3>Commands by version</h3>")
    out.append(
        _table(
            [
                ("command", False),
                ("version", False),
                ("runs", True),
                ("failure", True),
                ("crash", True),
                ("regression", False),
            ],
            [
                (
                    {"data-command": x["command"], "data-version": v["version"]}
                    | ({"class": "flagged"} if v["regressions"] else {}),
                    [
                        _txt(x["command"]),
                        _txt(v["version"]),
                        _num(runs(v["runs"]), v["runs"]),
                        _num(pct(v["failure_rate"]), v["failure_rate"]),
                        _num(pct(v["crash_rate"]), v["crash_rate"]),
                        _txt(
                            ", ".join(
                                f"{r['rate']} (vs {r['previous']}, z {r['z']})"
                                for r in v["regressions"]
                            )
                            or ""
                        ),
                    ],
                )
                for x in c["commands"]
                for v in x["versions"]
            ],
            "command-versions",
        )
    )
    out.append(f"<h3>Trend (per {_e(period)}, UTC)</h3>")
    out.append(
        _table(
            [
                (c["trend"]["period"], False),
                ("runs", True),
                *((LABELS[s], True) for s in stats_statuses()),
            ],
            [
                (
                    {"data-period": p["start"]},
                    [
                        _txt(p["start"]),
                        _num(runs(p["runs"]), p["runs"]),
                        *(_num(runs(p[s]), p[s]) for s in stats_statuses()),
                    ],
                )
                for p in c["trend"]["points"]
            ],
            "trend",
        )
    )
    out.append(f"<h3>Crash groups ({c['crash_events']:,} crash events)</h3>")
    out.append(
        _table(
            [
                ("type", False),
                ("message", False),
                ("top in-app frame", False),
                ("count", True),
                ("first seen", False),
                ("last seen", False),
                ("versions", False),
                ("fingerprint", False),
            ],
            [
                (
                    {"data-fingerprint": g["fingerprint"]},
                    [
                        _txt(g["type"]),
                        (g["message"] or "-", None, "msg"),
                        _txt(g["top_frame"]),
                        _num(runs(g["count"]), g["count"]),
                        _txt(g["first_seen"]),
                        _txt(g["last_seen"]),
                        _txt(", ".join(g["versions"])),
                        _txt(g["fingerprint"]),
                    ],
                )
                for g in c["crash_groups"]
            ],
            "crash-groups",
        )
    )
    out.append("</section>")
    return "\n".join(out)


def render(data: dict[str, Any]) -> str:
    """The whole page as a string."""
    source = data.get("source") or {}
    if "inputs" in source:
        origin = "input files: " + ", ".join(source["inputs"])
    else:
        origin = f"local store: {source.get('store') or '-'}"
    f = data.get("filters") or {}
    chosen = ", ".join(f"{k} {v}" for k, v in f.items() if v) or "none"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing may leave the page: no network, whatever a value contains.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        "<title>autotelemetry report</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>autotelemetry report</h1>",
        f'<p class="meta">generated {_e(data["generated_at"])} · {_e(origin)} · '
        f"filters: {_e(chosen)} · {data['matched']:,} of {data['stored']:,} events</p>",
        f'<p class="note">{_e(data["weighting"].capitalize())}.</p>',
    ]
    rule = data["regression_rule"]
    head.append(
        f'<p class="note">Regression: a command\'s failure or crash rate on a version higher '
        f"than on the closest earlier version, both with at least {rule['min_runs']} recorded "
        f"runs, one-sided two-proportion z ≥ {rule['z']}.</p>"
    )
    if len(data["clis"]) > 1:
        links = "".join(
            f'<a href="#cli-{i}">{_e(c["cli"])}</a>' for i, c in enumerate(data["clis"])
        )
        head.append(f"<nav>{links}</nav>")
    head.append("</header><main>")
    body = [_cli_section(c, i) for i, c in enumerate(data["clis"])]
    if not body:
        body = [f'<p class="note" data-empty="true">{_e(empty_message(data))}</p>']
    tail = [
        '</main><footer><p class="note">autotelemetry · charts by pygal</p></footer>',
        f"<script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join([*head, *body, *tail]) + "\n"


def write(data: dict[str, Any], path: str) -> None:
    """Write the page to ``path`` atomically (a temporary file renamed into place)."""
    page = render(data)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["render", "write"]
