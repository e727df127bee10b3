"""Sending now: `flush` runs the sender in the foreground."""

from __future__ import annotations

import math
import sys
import time

import click

from autotelemetry.cli.common import Progress, interactive, open_store, wait, when
from autotelemetry.endpoint import header_problem
from autotelemetry.hook import allowlist
from autotelemetry.hook.config import disabled_reason


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
