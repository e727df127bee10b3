"""Reading and deleting what was recorded: `events`, `report`, `purge`, `schema`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import click

from autotelemetry.cli.common import (
    Progress,
    filters,
    open_store,
    recovered,
    recovering,
    with_filters,
)
from autotelemetry.hook import identity
from autotelemetry.store import Filters, Store, queries, store_path
from autotelemetry.store import ingest as spool_reader
from autotelemetry.store.ingest import pending
from autotelemetry.store.limits import remove_stale_tmp


def _nothing_recorded() -> bool:
    """No store and nothing in the spool: a reader has nothing to open (and creates nothing).

    Temporaries left by writers that died are still cleaned up, as ingest would.
    """
    home = identity.home_dir()
    if os.path.lexists(store_path(home)) or pending(home):
        return False
    remove_stale_tmp(home)
    return True


#: Events listed on a terminal without ``--limit`` (piped output gets them all).
TERMINAL_LIMIT = 25
#: SQLite page cache of the `events` listing, KiB.
LISTING_CACHE_KIB = 8192
#: Rows read before the column widths of the text listing are fixed (bounded memory).
WIDTH_SAMPLE = 200
#: Stored events from which `report` shows a progress bar (on a terminal).
REPORT_PROGRESS_EVENTS = 100_000


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one event per line.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help=f"At most N events; 0 for all. Default: {TERMINAL_LIMIT} on a terminal, all when piped.",
)
@with_filters
def events(
    as_json: bool, limit: int | None, cli_name: str | None, since: str | None, until: str | None
) -> None:
    """List stored events, newest first.

    Reads the spool and the local store (<home>/store.sqlite). Ingests
    pending spool files into the store first (and removes them from the
    spool once stored); writes nothing else. Text output has a header line;
    a crash row shows its run's exit code and duration where known. The
    listing is streamed: memory stays bounded whatever the store holds.
    """
    if _nothing_recorded():
        click.echo("no events yet", err=True)
        return
    if limit is None:
        limit = TERMINAL_LIMIT if sys.stdout.isatty() else 0
    chosen = filters(cli_name, since, until)
    with open_store() as store:
        # A listing reads each page once: a small page cache keeps the memory bounded
        # whatever the store holds (ingest, above, had the large one).
        store.stream(LISTING_CACHE_KIB)
        before = store.recovered_from
        rows = spool_reader.recovering_rows(
            store, lambda: queries.listing(store, chosen, limit + 1 if limit else None)
        )
        try:
            shown = _print_events(rows, as_json, limit)
        except spool_reader.StoreWasCorrupt as exc:
            click.echo(recovered(store), err=True)  # what the salvage saved and lost
            raise click.ClickException(
                f"the store was corrupt; set aside as {exc}; the listing above is incomplete"
            ) from None
        finally:
            rows.close()  # before the store closes: its cursor goes with it
        if store.recovered_from != before:
            click.echo(recovered(store), err=True)
        if shown == 0:
            total = store.count()
            click.echo(
                f"no events match these filters ({total:,} stored)" if total else "no events yet",
                err=True,
            )
        elif limit and shown > limit:
            more = store.count(chosen) - limit
            click.echo(f"... {more:,} more (--limit N to see more, --limit 0 for all)", err=True)


def _print_events(rows: Iterator[tuple], as_json: bool, limit: int) -> int:
    """Print up to ``limit`` rows (all for 0); returns the rows read (limit + 1: more exist)."""
    shown = 0
    if as_json:
        for body, _, _ in rows:
            shown += 1
            if limit and shown > limit:
                break
            click.echo(json_line(body))
        return shown
    sample: list[list[str]] = []
    widths: list[int] | None = None
    for body, exit_code, duration in rows:
        shown += 1
        if limit and shown > limit:
            break
        cells = _event_cells(body, exit_code, duration)
        if widths is None:
            sample.append(cells)
            if len(sample) >= WIDTH_SAMPLE:
                widths = _print_sample(sample)
        else:
            click.echo(_event_line(cells, widths))
    if widths is None and sample:
        _print_sample(sample)
    return shown


def json_line(body: object) -> str:
    """A stored body as one line of strict JSON: as stored when it is (ingest checks every
    event); a row stored by an older version that is not (``NaN``, ``Infinity``, not JSON
    at all) is re-encoded (non-finite numbers become ``null``), never printed as it is."""
    text = body if isinstance(body, str) else str(body)
    if "NaN" not in text and "Infinity" not in text:
        return text
    try:
        value = json.loads(text, parse_constant=lambda name: None)
    except (ValueError, RecursionError):
        return json.dumps({"unreadable": text})
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


EVENT_COLUMNS = ["time (UTC)", "type", "cli", "version", "command", "status", "exit", "duration"]
EVENT_RIGHT = {"exit", "duration"}


def _print_sample(sample: list[list[str]]) -> list[int]:
    headers = [*EVENT_COLUMNS, "flags / exception"]
    widths = [max(len(row[i]) for row in [headers, *sample]) for i in range(len(headers) - 1)]
    click.echo(_event_line(headers, widths))
    for cells in sample:
        click.echo(_event_line(cells, widths))
    return widths


def _event_line(cells: list[str], widths: list[int]) -> str:
    parts = [
        cell.rjust(w) if name in EVENT_RIGHT else cell.ljust(w)
        for cell, w, name in zip(cells, widths, EVENT_COLUMNS)
    ]
    return "  ".join([*parts, cells[-1]]).rstrip()


def _event_cells(body: str, exit_code: int | None, duration: float | None) -> list[str]:
    try:
        ev = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        ev = {}
    if not isinstance(ev, dict):  # a row stored by an older version: never crash on it
        ev = {}
    value = ev.get("cli")
    cli: dict = value if isinstance(value, dict) else {}
    kind = str(ev.get("type"))
    if kind == "crash":
        value = ev.get("exception")
        exc: dict = value if isinstance(value, dict) else {}
        message = " ".join(str(exc.get("message") or "").split())
        if len(message) > 60:
            message = message[:59] + "…"
        detail = f"{exc.get('type')}: {message}" if message else str(exc.get("type"))
        status = "crash"
    else:
        detail = " ".join(str(f) for f in ev.get("flags") or [])
        status = str(ev.get("status") or "")
        exit_code = ev.get("exit_code", exit_code)
        duration = ev.get("duration_ms", duration)
    return [
        str(ev.get("timestamp")),
        kind,
        str(cli.get("name") or "-"),
        str(cli.get("version") or "-"),
        str(ev.get("command") or "-"),
        status,
        "-" if exit_code is None else str(exit_code),
        "-" if not isinstance(duration, (int, float)) else f"{duration:.1f} ms",
        detail,
    ]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True),
    metavar="PATH",
    help="Write the report as one self-contained HTML page (charts, sortable tables) to PATH.",
)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Report over the events in FILE instead of the local store: OTLP/JSON lines as the "
    "OpenTelemetry Collector's file exporter writes them, or `events --json` output. Repeatable.",
)
@click.option("--top", type=click.IntRange(min=1), default=10, help="Rows per table.")
@click.option(
    "--trend",
    type=click.Choice(["auto", "day", "week"]),
    default="auto",
    show_default=True,
    help="Trend periods (auto: daily up to 62 days, else weekly).",
)
@with_filters
def report(
    as_json: bool,
    html_path: str | None,
    inputs: tuple[str, ...],
    top: int,
    trend: str,
    cli_name: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Summarise usage per CLI and per command: runs, installs, outcomes, flags,
    durations, versions and regressions, trend, crash groups.

    Reads the spool and the local store (<home>/store.sqlite); ingests pending
    spool files into the store first, writes nothing else (--html writes PATH).
    With --input, reads only the given files (the local store is not touched).
    Runs of sampled CLIs are weighted by 1/sample_rate, and the report says so.
    """
    from autotelemetry import report as reporting

    chosen = filters(cli_name, since, until)
    if inputs:
        from autotelemetry.report import inputs as reader

        with reader.scratch_store() as store:
            with Progress("reading input files", 10 << 20, show_pos=False) as progress:
                source = reader.load(store, list(inputs), progress)
            if source["skipped"]:
                click.echo(
                    f"autotelemetry: {source['skipped']:,} input line(s) or event(s) skipped "
                    "(not events)",
                    err=True,
                )
            data = _build(store, chosen, top, trend, source)
    elif _nothing_recorded():
        data = reporting.build_empty(chosen)
    else:
        with open_store() as store:
            data = recovering(store, lambda: _build(store, chosen, top, trend, None))
    if html_path:
        from autotelemetry.report import html

        html.write(data, html_path)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    elif html_path:
        click.echo(f"wrote {html_path}")
    else:
        click.echo(reporting.render(data), nl=False)


def _build(store: Store, chosen: Filters, top: int, trend: str, source: dict | None) -> dict:
    from autotelemetry import report as reporting

    minimum = 0 if queries.size_hint(store) >= REPORT_PROGRESS_EVENTS else 1 << 62
    with Progress("building the report", minimum) as progress:
        return reporting.build(
            store, chosen, top=top, trend=trend, source=source, progress=progress
        )


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(yes: bool) -> None:
    """Delete every stored and pending event (spool and store).

    Removes the pending spool files under <home>/spool and the events in
    <home>/store.sqlite. Keeps the allowlist, configuration and install id.
    """
    home = identity.home_dir()
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
