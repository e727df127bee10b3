"""Prints, at exit, the modules loaded in this process (for structural guards)."""

import atexit
import sys

FRAMEWORK = sys.argv[1]


def dump():
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(sorted(sys.modules)))


atexit.register(dump)

if FRAMEWORK == "click":
    import click

    @click.command()
    @click.option("--flag", is_flag=True)
    def main(flag):
        click.echo("ok")

    main(sys.argv[3:])
elif FRAMEWORK == "typer":
    import typer

    app = typer.Typer()

    @app.command()
    def main(flag: bool = typer.Option(False, "--flag")):
        print("ok")

    app(sys.argv[3:])
elif FRAMEWORK == "argparse":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--flag", action="store_true")
    parser.parse_args(sys.argv[3:])
    print("ok")
else:
    print("ok")
