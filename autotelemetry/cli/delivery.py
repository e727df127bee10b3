"""Sending now: `flush` runs the sender in the foreground."""

from __future__ import annotations

import json
import math
import sys
import time

import click

from autotelemetry.cli.common import Progress, interactive, open_store, wait, when
from autotelemetry.endpoint import header_problem
from autotelemetry.hook import identity
from autotelemetry.hook.values import disabled_reason


@click.command()
@click.option(
    "--wait",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a sender that is already running.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the payloads that would be sent (JSON, one request per line; protobuf "
    "decoded into OTLP/JSON) and send, ingest or change nothing.",
)
def flush(wait: float, dry_run: bool) -> None:
    """Send pending events to the endpoint now, in the foreground.

    Ingests the spool into the local store, then sends what the endpoint has
    not acknowledged, on each signal (OTLP logs and traces, or the JSON
    webhook; AUTOTELEMETRY_ENDPOINT, AUTOTELEMETRY_PROTOCOL, AUTOTELEMETRY_HEADERS,
    or OpenTelemetry's OTEL_EXPORTER_OTLP_* variables). Prints what was sent,
    kept for retry and dropped (with reasons). Exits 1 when events are kept
    for a later retry.

    With --dry-run, stdout gets exactly the payloads the next flush would send
    (stderr says where each would go); the store and the spool are only read.
    """
    from autotelemetry import sender as delivery

    settings = delivery.Settings.from_env()
    home = identity.home_dir()
    if disabled_reason() is not None:
        click.echo(f"autotelemetry is off ({disabled_reason()}): nothing sent", err=dry_run)
        return
    if not settings.endpoint:
        if dry_run:
            click.echo("no endpoint configured: nothing would be sent", err=True)
            return
        with open_store() as store:
            n = store.count()
        click.echo(f"no endpoint configured (AUTOTELEMETRY_ENDPOINT): {n} event(s) kept locally")
        return
    if not settings.channels:
        d = settings.delivery
        reasons = [*d.problems, *(n for n in d.notes if n.startswith("no "))] if d else []
        raise click.ClickException("nothing can be sent: " + ("; ".join(reasons) or "no channel"))
    for ch in settings.channels:
        problem = header_problem(ch.headers, ch.headers_source or "AUTOTELEMETRY_HEADERS")
        if problem is not None:
            raise click.ClickException(f"{problem}; nothing sent, the events are kept")
    if dry_run:
        _dry_run(home, settings)
        return
    fd = delivery.acquire(home, wait=0)
    if fd is None:
        click.echo("waiting for the running sender to finish...", err=True)
        fd = _wait_for_sender(home, wait)
        if fd is None:
            raise click.ClickException("a sender is still running; try again later")
    tty = interactive()

    def progress(r: delivery.Result) -> None:
        if tty:
            click.echo(
                f"\rsending: {r.sent} sent, {sum(r.dropped.values())} dropped", nl=False, err=True
            )

    try:
        worker = delivery.Sender(
            home,
            settings,
            progress=progress,
            wait=lambda seconds, reason: _retry_wait(seconds, reason, worker.result, tty),
        )
        targets = ", ".join(f"{ch.display} ({ch.signal}, {ch.encoding})" for ch in worker.channels)
        click.echo(f"sending to {targets}...", err=True)
        try:
            result = worker.run()
        finally:
            worker.close()
    finally:
        delivery.release(fd)
    if tty:
        click.echo("", err=True)
    click.echo(result.summary())
    if result.next_retry:
        click.echo(f"next retry not before {when(result.next_retry)}")
    if result.kept_any:
        sys.exit(1)


def _dry_run(home: str, settings: object) -> None:
    from autotelemetry import sender as delivery

    assert isinstance(settings, delivery.Settings)
    requests = delivery.preview(home, settings)
    for item in requests:
        ch = item.channel
        click.echo(
            f"would POST {item.payload.items} {ch.signal} item(s) of {item.events} event(s) "
            f"to {ch.display} as {ch.encoding} ({len(item.payload.body)} bytes"
            + (", gzip)" if ch.compression == "gzip" else ")"),
            err=True,
        )
        click.echo(json.dumps(item.payload.as_json(), separators=(",", ":")))
    click.echo(f"dry run: {len(requests)} request(s); nothing sent, nothing changed", err=True)


def _wait_for_sender(home: str, seconds: float) -> int | None:
    """The sender lock, polled for up to ``seconds``; a countdown bar on a terminal."""
    from autotelemetry import sender as delivery

    end = time.monotonic() + seconds
    total = max(1, math.ceil(seconds))
    with Progress("waiting for the running sender (seconds)", show_pos=True) as bar:
        while True:
            fd = delivery.acquire(home, wait=min(0.25, max(0.0, end - time.monotonic())))
            left = end - time.monotonic()
            bar(total - max(0, math.ceil(left)), total)
            if fd is not None or left <= 0:
                return fd


def _retry_wait(seconds: float, reason: str, result: object, tty: bool) -> None:
    if tty:
        click.echo("", err=True)  # end the "sending: ..." line
    sent = getattr(result, "sent", 0)
    wait(seconds, f"{reason}: {sent} sent so far; retrying in {seconds:.0f} s")
