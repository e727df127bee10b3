"""A Click CLI that crashes with its values (unknown options and extra arguments allowed)."""

import threading  # noqa: F401  (loaded before the command runs: thread crashes are captured)

import click
import leaky_common


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("-v", "--verbose", is_flag=True)
@click.option("--name")
@click.option("-x", "xval")
@click.option("--opt", multiple=True)
@click.option("--define", multiple=True)
@click.option("--list", "items")
@click.option("--path")
@click.argument("rest", nargs=-1, type=click.UNPROCESSED)
def main(verbose, name, xval, opt, define, items, path, rest):
    leaky_common.crash("click", [name, xval, *opt, *define, items, path, *rest])


if __name__ == "__main__":
    main()
