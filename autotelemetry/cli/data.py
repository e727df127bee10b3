"""Reading and deleting what was recorded: `events`, `report`, `purge`, `schema`."""

from __future__ import annotations

import json
import os

import click

from autotelemetry.cli.common import filters, open_store, recovering, with_filters
from autotelemetry.hook import allowlist
from autotelemetry.store import Store, store_path
from autotelemetry.store.ingest import pending, remove_stale_tmp


def _nothing_recorded() -> bool:
    """No store and nothing in the spool: a reader has nothing to open (and creates nothing).

    Temporaries left by writers that died are still cleaned up, as ingest would.
    """
    home = allowlist.home_dir()
    if os.path.lexists(store_path(home)) or pending(home):
        return False
    remove_stale_tmp(home)
    return True


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one event per line.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N events.")
@with_filters
def events(as_json: bool, limit: int | None, cli_name: str | None, since: str | None) -> None:
    """List stored events, newest first.

    Reads the spool and the local store (<home>/store.sqlite). Ingests
    pending spool files into the store first (and removes them from the
    spool once stored); writes nothing else.
    """
    if _nothing_recorded():
        return
    with open_store() as store:
        found = recovering(store, lambda: list(store.events(filters(cli_name, since), limit)))
        for ev in found:
            if as_json:
                click.echo(json.dumps(ev, separators=(",", ":")))
            else:
                click.echo(_event_line(ev))


def _event_line(ev: dict) -> str:
    if ev.get("type") == "command":
        flags = " ".join(ev.get("flags") or [])
        return (
            f"{ev['timestamp']}  {ev.get('status', ''):<11} {ev.get('exit_code')!s:>3}  "
            f"{ev.get('duration_ms', 0):>8.1f} ms  {ev.get('command')}  {flags}".rstrip()
        )
    exc = ev.get("exception") or {}
    return f"{ev['timestamp']}  {ev.get('type'):<11}      {ev.get('command')}  {exc.get('type')}"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--top", type=click.IntRange(min=1), default=10, help="Rows per table.")
@with_filters
def report(as_json: bool, top: int, cli_name: str | None, since: str | None) -> None:
    """Summarise usage per CLI: commands, flags, failure rates, p50/p95 durations.

    Reads the spool and the local store (<home>/store.sqlite); ingests pending
    spool files into the store first, writes nothing else.
    """
    from autotelemetry import report as reporting

    if _nothing_recorded():
        data: dict = {"clis": [], "crash_events": 0, "crash_groups": []}
    else:
        with open_store() as store:
            data = recovering(
                store, lambda: reporting.build(store, filters(cli_name, since), top=top)
            )
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(reporting.render(data), nl=False)


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(yes: bool) -> None:
    """Delete every stored and pending event (spool and store).

    Removes the pending spool files under <home>/spool and the events in
    <home>/store.sqlite. Keeps the allowlist, configuration and install id.
    """
    home = allowlist.home_dir()
    if not yes:
        click.confirm(f"Delete all events under {home}?", abort=True)
    stored = 0
    if os.path.lexists(store_path(home)):  # first: a store that cannot be used keeps the spool
        with Store(home) as store:
            stored = store.purge()
    removed = 0
    for path in pending(home):
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
    click.echo(f"purged {stored} stored event(s) and {removed} pending spool file(s)")


@click.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of events, schema version 1.

    Reads autotelemetry/schema.json from the package; writes it to stdout
    only. The fields are described in docs/events.md.
    """
    from importlib.resources import files

    click.echo(files("autotelemetry").joinpath("schema.json").read_text(encoding="utf-8"), nl=False)
