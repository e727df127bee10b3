"""What several commands share: option sets, time formatting, opening the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from autotelemetry.hook import allowlist
from autotelemetry.store import Filters, Store
from autotelemetry.store import ingest as spool_reader

F = TypeVar("F", bound=Callable[..., Any])


def with_options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Apply several ``click.option`` decorators in the order listed."""

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


with_filters = with_options(
    click.option("--cli", "cli_name", metavar="NAME", help="Only events of this CLI."),
    click.option(
        "--since", metavar="TIME", help="Only events at or after TIME (RFC 3339, e.g. 2026-11-01)."
    ),
)

with_scope = with_options(
    click.option("--env", "scope", flag_value="env", help="This environment's allowlist."),
    click.option("--user", "scope", flag_value="user", help="Your per-user allowlist."),
)


def filters(cli_name: str | None, since: str | None) -> Filters:
    return Filters(cli=cli_name, since=since)


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def open_store() -> Store:
    """Open the store and ingest pending spool files first (telling stderr what was repaired)."""
    store = Store(allowlist.home_dir())
    if store.recovered_from:
        click.echo(
            f"autotelemetry: the store was corrupt; set aside as {store.recovered_from}", err=True
        )
    result = recovering(store, lambda: spool_reader.ingest(store))
    if result.quarantined:
        click.echo(
            f"autotelemetry: {len(result.quarantined)} corrupt spool file(s) quarantined", err=True
        )
    return store


T = TypeVar("T")


def recovering(store: Store, fn: Callable[[], T]) -> T:
    """:func:`ingest.recovering`, saying on stderr when the store had to be set aside."""
    before = store.recovered_from
    result = spool_reader.recovering(store, fn)
    if store.recovered_from != before:
        click.echo(
            f"autotelemetry: the store was corrupt; set aside as {store.recovered_from}", err=True
        )
    return result
