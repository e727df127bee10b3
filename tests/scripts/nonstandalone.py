"""A Click program that calls main(standalone_mode=False) and handles the outcome."""

import sys

import click


@click.group()
def cli():
    pass


@cli.command()
@click.option("--n", type=int, default=0)
def exit_with(n):
    click.get_current_context().exit(n)


@cli.command()
def ok():
    return "value"


if __name__ == "__main__":
    try:
        rv = cli.main(sys.argv[1:], standalone_mode=False)
    except click.UsageError as exc:
        print("usage error:", exc.format_message())
        sys.exit(2)
    print("returned", rv)
    sys.exit(rv if isinstance(rv, int) else 0)
