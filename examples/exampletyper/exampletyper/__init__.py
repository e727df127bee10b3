"""A small Typer CLI to instrument."""
