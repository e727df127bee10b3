"""Programs whose process exits with another status than the framework's first exit.

``PATTERN`` picks one. Each is how real CLIs do it: usage errors turned into
exit 1 by catching the ``SystemExit`` and exiting again, an error handler that
overrides argparse's exit status, a wrapper that swallows the exit.
"""

import os
import sys

import click

PATTERN = os.environ["PATTERN"]


@click.group()
@click.option("--verbose", is_flag=True)
def cli(verbose):
    pass


@cli.command()
@click.option("--count", type=int, default=1)
def run(count):
    click.echo(f"ran {count}")


@cli.command()
def fail():
    raise click.ClickException("it failed")


def build_parser(parser_class=None):
    import argparse  # only the argparse patterns import it (the Click ones stay pure Click)

    parser = (parser_class or argparse.ArgumentParser)(prog="exit_patterns.py")
    parser.add_argument("--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--count", type=int, default=1)
    return parser


def exit_one_parser():
    """A parser whose ``error()`` exits 1 instead of 2 (as pip's and many tools' do)."""
    import argparse

    class ExitOneParser(argparse.ArgumentParser):
        def error(self, message):
            self.print_usage(sys.stderr)
            self.exit(1, f"{self.prog}: error: {message}\n")

    return ExitOneParser


def main():
    if PATTERN == "click-reexit":
        # Usage errors exit 1: catch Click's SystemExit and exit again.
        try:
            cli.main(prog_name="exit_patterns.py")
        except SystemExit as exc:
            sys.exit(1 if exc.code == 2 else exc.code)
    elif PATTERN == "click-swallow":
        # A wrapper that swallows the exit and then ends normally (status 0).
        try:
            cli.main(prog_name="exit_patterns.py")
        except SystemExit:
            pass
        print("wrapper done")
    elif PATTERN == "click-returns":
        # main() catches the exit and returns a status to a console-script line,
        # which looked sys.exit up before main ran.
        def inner():
            try:
                cli.main(prog_name="exit_patterns.py")
            except SystemExit as exc:
                return 1 if exc.code else 0
            return 0

        sys.exit(inner())
    elif PATTERN == "click-raise":
        # The exit is caught, then the program ends by a SystemExit of its own that
        # bypasses sys.exit: its status cannot be seen; the one first recorded stays.
        try:
            cli.main(prog_name="exit_patterns.py")
        except SystemExit as exc:
            code = exc.code
        raise SystemExit(code)
    elif PATTERN == "argparse-reexit":
        try:
            args = build_parser().parse_args()
        except SystemExit as exc:
            sys.exit(1 if exc.code == 2 else exc.code)
        print(f"ran {args.count}")
    elif PATTERN == "argparse-error1":
        args = build_parser(exit_one_parser()).parse_args()
        print(f"ran {args.count}")
    elif PATTERN == "crash-after-exit":
        # The command's exit is caught, then the program crashes on the way out.
        try:
            cli.main(prog_name="exit_patterns.py")
        except SystemExit:
            pass
        raise RuntimeError("cleanup failed")


main()
