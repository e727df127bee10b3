"""argparse patterns found in real CLIs (tests/compat), reproduced without the network.

``PATTERN`` picks one; each mirrors the named CLI's own code closely enough to
break the same way it once did.
"""

import argparse
import os
import sys

PATTERN = os.environ["PATTERN"]


def dispatch(argv):
    """twine: the command is a positional with ``choices``; a parser per command
    (``prog="twine check"``) parses the remainder; ``main`` returns a bool."""
    parser = argparse.ArgumentParser(prog="argparse_compat_patterns.py")
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("command", choices=["check", "upload"])
    parser.add_argument("args", nargs=argparse.REMAINDER)
    top = parser.parse_args(argv)
    sub = argparse.ArgumentParser(prog=f"argparse_compat_patterns.py {top.command}")
    sub.add_argument("--strict", action="store_true")
    sub.add_argument("dists", nargs="+")
    args = sub.parse_args(top.args)
    return args.strict and any("bad" in d for d in args.dists)


def click_after_argparse():
    """A library parses sys.argv with argparse (parse_known_args) at import time,
    then the program's Click command runs: Click's command is what was run."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--log-level")
    pre.parse_known_args()

    import click

    @click.group()
    @click.option("--log-level")
    def cli(log_level):
        pass

    @cli.command()
    @click.option("--fast", is_flag=True)
    def build(fast):
        if not fast:
            raise click.ClickException("slow")

    cli(prog_name="argparse_compat_patterns.py")


def main():
    if PATTERN == "dispatch":
        return dispatch(sys.argv[1:])
    if PATTERN == "click-after-argparse":
        return click_after_argparse()
    raise SystemExit("unknown pattern")


if __name__ == "__main__":
    sys.exit(main())
