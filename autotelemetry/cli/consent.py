"""Deciding what is recorded: `allow`, `deny`, `enable`, `disable`, `reset-id`."""

from __future__ import annotations

import click

from autotelemetry import consent
from autotelemetry.cli.common import with_scope
from autotelemetry.hook import configfile


@click.command()
@click.argument("name")
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="SUBCOMMAND",
    help="Record nothing for this subcommand (glob; levels joined by ':', e.g. 'db:drop'). "
    "Repeatable.",
)
@with_scope
def allow(name: str, excludes: tuple[str, ...], scope: str | None) -> None:
    """Record the CLI NAME (a program name or a glob such as 'acme-*').

    Writes one line to the allowlist: by default this environment's
    (<prefix>/etc/autotelemetry/allowlist) inside a virtualenv, else your
    per-user one (<home>/allowlist); AUTOTELEMETRY_ALLOWLIST overrides both.
    With --exclude, the line becomes `NAME !SUBCOMMAND ...`: those
    subcommands (and everything below them) record nothing.
    """
    try:
        click.echo(consent.allow(name, excludes, scope))
    except consent.ConsentError as exc:
        raise click.BadParameter(str(exc), param_hint=exc.param) from None


@click.command()
@click.argument("name")
@with_scope
def deny(name: str, scope: str | None) -> None:
    """Stop recording NAME: remove it from the allowlist file(s).

    Without --env/--user, removes it from every allowlist file (rewriting
    <prefix>/etc/autotelemetry/allowlist and <home>/allowlist). Says so if
    NAME is still allowlisted by another source (a glob, AUTOTELEMETRY_ALLOW).
    """
    result = consent.deny(name, scope)
    for path in result.removed:
        click.echo(f"removed {name} from {path}")
    if not result.removed:
        click.echo(f"{name} was not listed in {', '.join(result.paths)}")
    entry = result.still
    if entry is not None:
        where = entry.source + (f":{entry.line}" if entry.line else "")
        click.echo(f"note: {name} is still allowlisted by {entry.pattern!r} ({where})")


@click.command()
def enable() -> None:
    """Turn recording back on for allowlisted CLIs (persisted).

    Writes `enabled = true` to your per-user config (<home>/config.toml).
    Says so when something else still keeps telemetry off: DO_NOT_TRACK,
    AUTOTELEMETRY_DISABLED, or `enabled = false` in this environment's
    config (<prefix>/etc/autotelemetry/config.toml); off wins.
    """
    path = consent.set_user_setting("enabled", "true")
    click.echo(f"enabled in {path}")
    settings = configfile.load_settings()
    if settings.values["enabled"] is False:
        click.echo(f"note: still off because of {settings.sources['enabled']}")


@click.command()
def disable() -> None:
    """Stop recording everything, whatever the allowlists say (persisted).

    Writes `enabled = false` to your per-user config (<home>/config.toml).
    Nothing is recorded or sent until `autotelemetry enable`. For one run
    only, set DO_NOT_TRACK=1 or AUTOTELEMETRY_DISABLED=1 instead.
    """
    path = consent.set_user_setting("enabled", "false")
    click.echo(f"disabled in {path}")


@click.command("reset-id")
def reset_id() -> None:
    """Replace your random install id with a new one.

    Rewrites <home>/install_id; events recorded from now on carry the new id
    (events already recorded keep the old one; `purge` deletes them).
    """
    click.echo(f"new install id: {consent.reset_install_id()}")
