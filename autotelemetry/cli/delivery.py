"""Sending now: `flush` runs the sender in the foreground."""

from __future__ import annotations

import sys

import click

from autotelemetry.cli.common import open_store, when
from autotelemetry.endpoint import header_problem
from autotelemetry.hook import allowlist
from autotelemetry.hook.boot import disabled_reason


@click.command()
@click.option(
    "--wait",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a sender that is already running.",
)
def flush(wait: float) -> None:
    """Send pending events to the endpoint now, in the foreground.

    Ingests the spool into the local store, then sends what the endpoint has
    not acknowledged (AUTOTELEMETRY_ENDPOINT, AUTOTELEMETRY_PROTOCOL,
    AUTOTELEMETRY_HEADERS). Prints what was sent, kept for retry and dropped
    (with reasons). Exits 1 when events are kept for a later retry.
    """
    from autotelemetry import sender as delivery

    settings = delivery.Settings.from_env()
    home = allowlist.home_dir()
    if disabled_reason() is not None:
        click.echo(f"autotelemetry is off ({disabled_reason()}): nothing sent")
        return
    if not settings.endpoint:
        with open_store() as store:
            n = store.count()
        click.echo(f"no endpoint configured (AUTOTELEMETRY_ENDPOINT): {n} event(s) kept locally")
        return
    try:
        delivery.get_exporter(settings.protocol)
    except ValueError as exc:
        raise click.UsageError(f"AUTOTELEMETRY_PROTOCOL: {exc}") from None
    problem = header_problem(settings.headers)
    if problem is not None:
        raise click.ClickException(f"{problem}; nothing sent, the events are kept")
    fd = delivery.acquire(home, wait=0)
    if fd is None:
        click.echo("waiting for the running sender to finish...", err=True)
        fd = delivery.acquire(home, wait=wait)
        if fd is None:
            raise click.ClickException("a sender is still running; try again later")
    tty = sys.stderr.isatty()

    def progress(r: delivery.Result) -> None:
        if tty:
            click.echo(
                f"\rsending: {r.sent} sent, {sum(r.dropped.values())} dropped", nl=False, err=True
            )

    try:
        worker = delivery.Sender(home, settings, progress=progress)
        click.echo(f"sending to {worker.display} ({settings.protocol})...", err=True)
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
    if result.kept:
        sys.exit(1)
