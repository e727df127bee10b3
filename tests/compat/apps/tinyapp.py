"""A minimal Flask app for `flask --app tinyapp ...` (built-in and app-defined lazy commands)."""

import click
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index() -> str:
    return "hi"


@app.route("/users/<int:uid>", methods=["GET", "POST"])
def user(uid: int) -> str:
    return str(uid)


@app.cli.command("seed")
@click.option("--count", type=int, default=1, help="How many rows.")
def seed(count: int) -> None:
    """Pretend to seed the database."""
    click.echo(f"seeded {count}")


@app.cli.command("boom")
def boom() -> None:
    """Crash (an uncaught exception inside an app command)."""
    raise RuntimeError("boom from tinyapp")
