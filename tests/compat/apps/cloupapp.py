"""A cloup app: option groups, constraints, sections and command aliases."""

import click
import cloup
from cloup.constraints import mutually_exclusive


@cloup.group(show_subcommand_aliases=True)
@cloup.option("--quiet", is_flag=True, help="Say less.")
def cli(quiet: bool) -> None:
    """cloupapp: copy files around."""


@cli.command(aliases=["cp", "c"])
@cloup.option_group(
    "Mode",
    cloup.option("--fast", is_flag=True, help="Go fast."),
    cloup.option("--safe", is_flag=True, help="Go safely."),
    constraint=mutually_exclusive,
)
@cloup.option("--retries", type=int, default=0, help="Retries.")
@cloup.argument("src")
@cloup.argument("dst")
def copy(fast: bool, safe: bool, retries: int, src: str, dst: str) -> None:
    """Copy SRC to DST."""
    click.echo(f"copy {src} -> {dst}")


if __name__ == "__main__":
    cli()
