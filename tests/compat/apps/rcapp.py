"""A rich-click app written the way rich-click's docs suggest: `import rich_click as click`."""

import rich_click as click


@click.group()
@click.option("--debug/--no-debug", default=False, help="Debug output.")
@click.version_option("1.0.0", prog_name="rcapp")
def cli(debug: bool) -> None:
    """rcapp: deploy things."""


@cli.command()
@click.option("--env", "-e", type=click.Choice(["dev", "prod"]), default="dev", help="Target.")
@click.option("--dry-run", is_flag=True, help="Do nothing.")
@click.argument("service")
def deploy(env: str, dry_run: bool, service: str) -> None:
    """Deploy SERVICE."""
    click.echo(f"deploying {service} to {env}{' (dry run)' if dry_run else ''}")


@cli.command()
@click.argument("service")
def rollback(service: str) -> None:
    """Roll SERVICE back (always fails)."""
    raise click.ClickException(f"nothing to roll back for {service}")


if __name__ == "__main__":
    cli()
