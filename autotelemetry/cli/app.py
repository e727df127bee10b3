"""The command group: every subcommand, assembled from its family's module."""

from __future__ import annotations

import click

from autotelemetry import __version__
from autotelemetry.cli import consent, data, delivery, diagnose, setup


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="autotelemetry")
def cli() -> None:
    """Usage and crash telemetry for Click, Typer and argparse CLIs.

    Programs are recorded only when allowlisted (`autotelemetry allow NAME`) or
    started with `autotelemetry run`. Events stay on this machine unless
    AUTOTELEMETRY_ENDPOINT is set. DO_NOT_TRACK=1 or AUTOTELEMETRY_DISABLED=1
    turn everything off.

    State lives in AUTOTELEMETRY_HOME (default: the per-user state directory).
    """


for command in (
    setup.run,
    diagnose.status,
    consent.enable,
    consent.disable,
    consent.allow,
    consent.deny,
    data.events,
    data.report,
    delivery.flush,
    diagnose.doctor,
    data.schema,
    data.purge,
    consent.reset_id,
    setup.sitecustomize,
):
    cli.add_command(command)
