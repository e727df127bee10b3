"""Looking at the set-up: `status` (what is on and why) and `doctor` (what is wrong, with fixes)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from autotelemetry.cli.common import when


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(as_json: bool) -> None:
    """Show whether telemetry is on, what is allowlisted, every setting and
    which source set it, and what is pending.

    Reads the environment, the allowlist and config files (per-environment
    and per-user), the home directory and the store (read-only); writes nothing.
    """
    from autotelemetry.status import status_data

    data = status_data()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    on = "yes" if data["enabled"] else f"no ({data['disabled_reason']})"
    click.echo(f"autotelemetry {data['version']}  ({data['python']})")
    click.echo(f"enabled:   {on}")
    hook = ", ".join(data["hook_files"]) or "not installed"
    click.echo(f"hook:      {hook}; active in this interpreter: {data['hook_active']}")
    click.echo(f"home:      {data['home']}")
    click.echo(f"endpoint:  {data['endpoint'] or 'none (events stay on this machine)'}")
    _echo_sending(data["sending"])
    click.echo("allowlist: " + ", ".join(data["allowlist"]["files"]) + ", AUTOTELEMETRY_ALLOW")
    entries = data["allowlist"]["entries"]
    if not entries:
        click.echo("  (empty: nothing is recorded; `autotelemetry allow NAME` to add a CLI)")
    for e in entries:
        where = e["source"] + (f":{e['line']}" if e["line"] else "")
        excludes = "".join(f" !{x}" for x in e["excludes"])
        click.echo(f"  {e['pattern'] + excludes:<24} {where}")
    click.echo("settings:  (" + ", ".join(data["config_files"]) + ")")
    for key, item in data["settings"].items():
        value = item["value"]
        shown = "none" if value is None else json.dumps(value, ensure_ascii=False)
        click.echo(f"  {key:<18} {shown:<28} {item['source']}")
    for name, item in data["variables"].items():
        click.echo(f"  {name:<18} {json.dumps(item['value']):<28} {item['source']}")
    for item in data["per_cli"]:
        name = f"[cli.{item['cli']}] {item['key']}"
        click.echo(f"  {name:<18} {json.dumps(item['value']):<28} {item['source']}")
    sp = data["spool"]
    click.echo(f"spool:     {sp['pending_files']} pending file(s), {sp['pending_bytes']} bytes")
    click.echo(f"store:     {data['store']['path']} ({data['store']['bytes']} bytes)")
    _echo_delivery(data)
    for problem in data["problems"]:
        click.echo(f"problem:   {problem}")


def _echo_sending(s: dict[str, Any]) -> None:
    """Where each signal goes and how, every value with its source (header values hidden)."""
    if s["endpoint"]:
        click.echo(f"  {'endpoint':<13} {s['endpoint']:<40} {s['endpoint_source']}")
        click.echo(f"  {'signals':<13} {','.join(s['signals']):<40} {s['signals_source']}")
    for ch in s["channels"]:
        click.echo(f"  {ch['signal']:<13} {ch['url']:<40} {ch['url_source']}")
        rows = [
            ("encoding", ch["encoding"], ch["encoding_source"]),
            ("headers", ", ".join(ch["headers"]) or "none", ch["headers_source"] or "-"),
            ("compression", ch["compression"], ch["compression_source"]),
            ("timeout", f"{ch['timeout']:g} s", ch["timeout_source"]),
        ]
        if ch["certificate"]:
            rows.append(("certificate", ch["certificate"], ch["certificate_source"]))
        if ch["client_certificate"]:
            rows.append(("client cert", ch["client_certificate"], ch["client_source"]))
        for name, value, source in rows:
            click.echo(f"    {name:<11} {value:<40} {source}")
    for signal, why in s["blocked"].items():
        click.echo(f"  {signal:<13} not sent: {why}")
    if s["resource"]:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(s["resource"].items()))
        click.echo(f"  {'resource':<13} {pairs:<40} {s['resource_source']}")
    for note in s["notes"]:
        click.echo(f"  note: {note}")


def _echo_delivery(data: dict[str, Any]) -> None:
    d = data.get("delivery") or {}
    if d.get("backlog") is not None and data["endpoint"]:
        oldest = f" (oldest from {d['oldest_unsent']})" if d.get("oldest_unsent") else ""
        click.echo(f"delivery:  {d['backlog']} stored event(s) not yet sent{oldest}")
    if d.get("evicted"):
        click.echo(
            f"evicted:   {d['evicted']} stored event(s) deleted by the store cap, oldest first"
        )
    if d.get("lost"):
        click.echo(f"lost:      {d['lost']} event(s) in corrupt stores (see problems)")
    last = d.get("last")
    if last:
        kept = f"kept {last['kept']}" + (f" ({last['kept_reason']})" if last["kept_reason"] else "")
        drops = ", ".join(f"{k}: {v}" for k, v in sorted(last["dropped"].items()))
        click.echo(
            f"last send: {when(last['time'])}: sent {last['sent']}, {kept}"
            + (f", dropped {drops}" if drops else "")
        )
    if d.get("next_retry"):
        click.echo(f"next retry: not before {when(d['next_retry'])}")
    if d.get("dropped"):
        drops = ", ".join(f"{k}: {v}" for k, v in sorted(d["dropped"].items()))
        click.echo(f"dropped:   {drops} (total, by rule; see docs/delivery.md)")
    traces = d.get("traces")
    if isinstance(traces, dict):
        click.echo(f"traces:    {traces['backlog']} run(s) not yet sent as spans")
        if traces["dropped"]:
            drops = ", ".join(f"{k}: {v}" for k, v in sorted(traces["dropped"].items()))
            click.echo(f"dropped spans: {drops} (total, by rule)")
    for signal, note in sorted((d.get("rejected") or {}).items()):
        what = "span(s)" if signal == "traces" else "log record(s)"
        message = f": {note['message']}" if note.get("message") else ""
        click.echo(
            f"rejected:  the collector rejected {note['count']} {what} in total "
            f"(partial success, last {when(note['time'])}){message}"
        )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=30),
    default=2.0,
    show_default=True,
    help="Seconds to wait for the endpoint.",
)
@click.option(
    "--send-test",
    is_flag=True,
    help="Also send the endpoint one empty, authenticated request (no event) and check the answer.",
)
def doctor(as_json: bool, timeout: float, send_test: bool) -> None:
    """Check the set-up and explain each problem with its fix.

    Checks: the start-up hook is installed and processed by this interpreter
    (starts one `python -c` to see), interpreter flags (-S), kill switches
    and `enabled`, allowlist and config files (bad lines with line numbers,
    permissions, size), the home directory (writable, private; writes and
    deletes one probe file), the clock, the endpoint (one TCP connection,
    timed; with --send-test one empty request with the configured headers),
    delivery (what was dropped and why, the backlog and its age, the last
    send, an endpoint that refuses requests), sitecustomize, and corrupt
    spool or store files (the store opened read-only). Writes nothing else.
    Exits 1 when a check fails.
    """
    from autotelemetry import doctor as doc

    checks = doc.run_checks(timeout=timeout, send_test=send_test)
    failed = any(c.level == "fail" for c in checks)
    if as_json:
        click.echo(
            json.dumps({"ok": not failed, "checks": [c.as_dict() for c in checks]}, indent=2)
        )
    else:
        for c in checks:
            label = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[c.level]
            click.echo(f"{label}  {c.name:<13} {c.detail}")
            if c.fix and c.level != "ok":
                click.echo(f"      {'':<13} fix: {c.fix}")
        click.echo("problems found" if failed else "no problems found")
    if failed:
        sys.exit(1)
