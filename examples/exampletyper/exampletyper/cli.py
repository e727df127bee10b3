"""exampletyper: a Typer app with a sub-app, options, a failure and a crash."""

import typer

app = typer.Typer(no_args_is_help=True, add_completion=True)
users = typer.Typer(help="Manage users.")
app.add_typer(users, name="users")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Say more.")):
    """exampletyper: a pretend admin tool."""


@users.command("create")
def create(
    name: str,
    admin: bool = typer.Option(False, "--admin", help="Make an admin."),
    password: str = typer.Option("", "--password", help="Initial password."),
    notify: bool = typer.Option(True, help="Mail the new user."),
    color: bool = typer.Option(True, "--color/--no-color", "-c/-C", help="Colour the output."),
):
    """Create user NAME."""
    typer.echo(f"created {name}" + ("" if notify else " quietly"))


@users.command("delete")
def delete(name: str, force: bool = typer.Option(False, "--force", "--yes", "-y")):
    """Delete user NAME."""
    if not force:
        typer.echo("refusing without --force", err=True)
        raise typer.Exit(code=4)
    typer.echo(f"deleted {name}")


@app.command()
def crash(secret: str = typer.Argument("x")):
    """Crash."""
    raise ValueError(f"bad value {secret}")


def _load(path: str, text: str) -> None:
    raise OSError(f"cannot read {path}: {text}")


@app.command()
def explode(
    text: str = typer.Argument("", envvar="EXPLODE_TEXT"),
    chained: bool = typer.Option(False, "--chained"),
):
    """Crash with TEXT (and a home path) in the message."""
    import os

    where = os.path.join(os.path.expanduser("~"), ".config", "exampletyper.toml")
    if chained:
        try:
            _load(where, text)
        except OSError as exc:
            raise RuntimeError(f"giving up on {where}: {text}") from exc
    _load(where, text)


if __name__ == "__main__":
    app()
