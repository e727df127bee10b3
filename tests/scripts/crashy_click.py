"""A Click program calling main(standalone_mode=False): exceptions escape main itself."""

import os
import sys

import click


@click.group()
def cli():
    pass


@cli.command()
@click.argument("text", default="")
def boom(text):
    where = os.path.join(os.path.expanduser("~"), "work", "data.csv")
    raise LookupError(f"no row in {where}: {text}")


@cli.command()
def ok():
    return 0


if __name__ == "__main__":
    rv = cli.main(sys.argv[1:], standalone_mode=False)
    print("returned", rv)
