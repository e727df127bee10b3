"""A small Typer app (`python tyapp.py`): for Typer on Click and Typer with vendored Click."""

import typer

app = typer.Typer(add_completion=False)
items = typer.Typer(help="Manage items.")
app.add_typer(items, name="items")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Say more.")) -> None:
    """tyapp: an inventory tool."""


@items.command("add")
def add(
    name: str,
    qty: int = typer.Option(1, "--qty", "-q", help="Quantity."),
    tag: str = typer.Option("", "--tag", help="A tag."),
) -> None:
    """Add item NAME."""
    typer.echo(f"added {qty} x {name}")


@items.command("remove")
def remove(name: str, force: bool = typer.Option(False, "--force")) -> None:
    """Remove item NAME."""
    if not force:
        typer.echo("refusing without --force", err=True)
        raise typer.Exit(code=3)
    typer.echo(f"removed {name}")


@app.command()
def crash(secret: str = typer.Argument("x")) -> None:
    """Crash with an uncaught exception."""
    raise ValueError(f"bad value {secret}")


if __name__ == "__main__":
    app()
