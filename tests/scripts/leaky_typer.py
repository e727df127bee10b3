"""A Typer CLI that crashes with its values (unknown options and extra arguments allowed)."""

# ruff: noqa: B008 (typer.Option in defaults is how Typer declares options)

import threading  # noqa: F401  (loaded before the command runs: thread crashes are captured)
from typing import Optional

import leaky_common
import typer

app = typer.Typer(add_completion=False)


@app.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "-v", "--verbose"),
    name: Optional[str] = typer.Option(None, "--name"),
    xval: Optional[str] = typer.Option(None, "-x"),
    opt: list[str] = typer.Option([], "--opt"),
    define: list[str] = typer.Option([], "--define"),
    items: Optional[str] = typer.Option(None, "--list"),
    path: Optional[str] = typer.Option(None, "--path"),
) -> None:
    leaky_common.crash("typer", [name, xval, *opt, *define, items, path, *ctx.args])


if __name__ == "__main__":
    app()
