"""`report --html` in a real browser, and `report --input` over OTLP/JSON lines.

The page is opened from disk in headless Chromium (Debian's `chromium`, driven
over the DevTools protocol by tests/browser.py): it must render with no console
error and no request beyond itself, hold the charts and the very numbers
`report --json` gives (with JavaScript on and off), sort its tables, and leave a
screenshot for a person to look at (build/report-screenshot.png).
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest
from browser import Browser, chromium
from conftest import ROOT
from test_report import generate, report, write_spool

from autotelemetry.exporters.otlp import logs_request, to_json

#: Reads, per CLI section, what a person sees: cards, table cells, chart values.
EXTRACT = """
(() => {
  const out = {};
  document.querySelectorAll("section.cli").forEach((s) => {
    const value = (td) => (td.dataset.value !== undefined ? td.dataset.value : td.textContent);
    const cells = (table) => Array.from(s.querySelectorAll(`table[data-table="${table}"] tbody tr`))
      .map((tr) => Object.fromEntries(
        Array.from(tr.cells).map((td) => [td.dataset.col, value(td)])));
    out[s.dataset.cli] = {
      cards: Object.fromEntries(Array.from(s.querySelectorAll(".card")).map(
        (c) => [c.dataset.card, c.dataset.value])),
      commands: cells("commands"),
      versions: cells("versions"),
      flags: cells("flags"),
      trend: cells("trend"),
      crashes: cells("crash-groups"),
      regressions: Array.from(s.querySelectorAll("[data-regression]"))
        .map((p) => p.dataset.regression),
      charts: Object.fromEntries(Array.from(s.querySelectorAll("figure[data-chart]")).map(
        (f) => [f.dataset.chart, {
          svg: f.querySelectorAll("svg.pygal-chart").length,
          bars: f.querySelectorAll("svg .rect, svg rect.rect").length,
          values: Array.from(f.querySelectorAll("desc.value")).map((d) => d.textContent),
        }])),
      sortable: s.querySelectorAll("th.sortable").length,
    };
  });
  return out;
})()
"""


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = chromium()
    if path is None:
        pytest.fail("headless Chromium is needed: apt-get install chromium (.ci/run installs it)")
    return path


def _check_numbers(seen: dict[str, Any], data: dict[str, Any]) -> None:
    assert set(seen) == {c["cli"] for c in data["clis"]}
    for c in data["clis"]:
        page = seen[c["cli"]]
        assert page["cards"]["runs"] == str(c["runs"])
        assert page["cards"]["installs"] == str(c["installs"])
        assert page["cards"]["crash"] == str(c["rates"]["crash"])
        assert page["cards"]["p95"] == str(c["duration_ms"]["p95"])
        rows = {r["command"]: r for r in page["commands"]}
        assert list(rows) == [x["command"] for x in c["commands"]]
        for x in c["commands"]:
            row = rows[x["command"]]
            assert row["runs"] == str(x["runs"])
            assert row["installs"] == str(x["installs"])
            assert row["crash"] == str(x["rates"]["crash"])
            assert row["failure"] == str(x["rates"]["failure"])
            assert [row["p50"], row["p95"], row["p99"]] == [
                str(x["duration_ms"][k]) for k in ("p50", "p95", "p99")
            ]
        versions = {r["version"]: r for r in page["versions"]}
        for v in c["versions"]:
            assert versions[v["version"]]["crash"] == str(v["crash_rate"])
            assert versions[v["version"]]["runs"] == str(v["runs"])
        assert [(f["flag"], f["share"]) for f in page["flags"]] == [
            (f["flag"], str(f["share"])) for x in c["commands"] for f in x["flags"]
        ]
        assert [p["runs"] for p in page["trend"]] == [str(p["runs"]) for p in c["trend"]["points"]]
        assert [r["count"] for r in page["crashes"]] == [str(g["count"]) for g in c["crash_groups"]]
        assert page["regressions"] == [f"{r['command']}|{r['version']}" for r in c["regressions"]]


def test_html_report_in_headless_chromium(run, tmp_path, browser_path):
    write_spool(run.home, generate())
    data = report(run, "--top", "50")
    page = tmp_path / "report.html"
    out = run("autotelemetry", "report", "--top", "50", "--html", str(page))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"wrote {page}\n".encode()
    html = page.read_text(encoding="utf-8")
    # Self-contained: no external script, style, image or font reference at all.
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#)""", html)
    assert "@import" not in html and "url(" not in html

    with Browser(browser_path) as browser:
        browser.open(page.as_uri())
        assert browser.console_problems() == []
        assert browser.requests() == [page.as_uri()]  # nothing but the page itself
        seen = browser.evaluate(EXTRACT)
        _check_numbers(seen, data)
        for c in data["clis"]:
            charts = seen[c["cli"]]["charts"]
            assert set(charts) == {"trend", "commands", "versions", "durations"}
            assert all(chart["svg"] == 1 and chart["bars"] > 0 for chart in charts.values())
            # The version chart shows each version's failure and crash rate.
            expected = [f"{v['failure_rate'] * 100:.1f}%" for v in c["versions"]]
            expected += [f"{v['crash_rate'] * 100:.1f}%" for v in c["versions"]]
            assert sorted(charts["versions"]["values"]) == sorted(expected)
            assert seen[c["cli"]]["sortable"] > 0
        # Sorting: a click on "runs" orders the commands table by its numbers.
        order = browser.evaluate(
            """(() => {
              const t = document.querySelector('[data-cli="acme"] table[data-table="commands"]');
              const th = Array.from(t.tHead.rows[0].cells).find((h) => h.textContent === "runs");
              th.click();
              return Array.from(t.tBodies[0].rows).map((r) => Number(r.cells[1].dataset.value));
            })()"""
        )
        assert order == sorted(order) and len(order) == 3
        shot = browser.screenshot(tmp_path / "report.png")
        (ROOT / "build").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "build" / "report-screenshot.png")
        assert shot.stat().st_size > 50_000

        # JavaScript off: every number and chart is still in the page.
        browser.open(page.as_uri(), javascript=False)
        assert browser.console_problems() == []
        assert browser.requests() == [page.as_uri()]
        seen = browser.evaluate(EXTRACT)
        _check_numbers(seen, data)
        assert all(s["sortable"] == 0 for s in seen.values())  # the page's script did not run


def _otlp_lines(events: list[dict[str, Any]], per_request: int = 100) -> list[str]:
    lines = []
    for start in range(0, len(events), per_request):
        dropped = {"http_400": 3, "store_cap": 2} if start == 0 else {}
        body = to_json(logs_request(events[start : start + per_request], dropped))
        lines.append(json.dumps(body, separators=(",", ":")))
    return lines


def _without_source(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("source", "generated_at", "stored")}


def test_input_over_otlp_json_lines_gives_the_same_report(run, tmp_path, browser_path):
    events = generate()
    write_spool(run.home, events)
    local = report(run, "--top", "50")
    # What a collector's file exporter writes: one ExportLogsServiceRequest per line,
    # at least once (every request twice here), other signals mixed in.
    lines = _otlp_lines(events)
    fleet = tmp_path / "otlp.jsonl"
    spans = json.dumps({"resourceSpans": []})
    fleet.write_text("\n".join([*lines, spans, *lines[:5], "not json"]) + "\n")
    other = tmp_path / "home2"
    out = run(
        "autotelemetry",
        "report",
        "--json",
        "--top",
        "50",
        "--input",
        str(fleet),
        env={"AUTOTELEMETRY_HOME": str(other)},
    )
    assert out.returncode == 0, out.stderr
    assert b"1 input line(s) or event(s) skipped" in out.stderr
    data = json.loads(out.stdout)
    assert _without_source(data) == _without_source(local)
    src = data["source"]
    assert src["inputs"] == [str(fleet)]
    assert src["stored"] == len(events) and src["duplicates"] == 5 * 100
    assert src["other_signals"] == 1 and src["skipped"] == 1
    assert src["dropped_reported"] == {"http_400": 6, "store_cap": 4}  # both copies of request 1
    assert not other.exists()  # --input reads files only: no store, no home created

    # `events --json` output is an input too, and several files add up.
    dump = run("autotelemetry", "events", "--json")
    half = len(dump.stdout.splitlines()) // 2
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"\n".join(dump.stdout.splitlines()[:half]) + b"\n")
    second.write_bytes(b"\n".join(dump.stdout.splitlines()[half:]) + b"\n")
    both = report(run, "--top", "50", "--input", str(first), "--input", str(second))
    assert _without_source(both) == _without_source(local)

    # The same HTML from the fleet file.
    page = tmp_path / "fleet.html"
    out = run("autotelemetry", "report", "--top", "50", "--input", str(fleet), "--html", str(page))
    assert out.returncode == 0, out.stderr
    with Browser(browser_path) as browser:
        browser.open(page.as_uri())
        assert browser.console_problems() == [] and browser.requests() == [page.as_uri()]
        _check_numbers(browser.evaluate(EXTRACT), local)


def test_input_errors_are_one_line(run, tmp_path):
    out = run("autotelemetry", "report", "--input", str(tmp_path / "missing.jsonl"))
    assert (
        out.returncode == 2 and b"does not exist" in out.stderr and b"Traceback" not in out.stderr
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = run("autotelemetry", "report", "--input", str(empty))
    assert out.returncode == 0 and out.stdout == b"no events in the input files\n"
