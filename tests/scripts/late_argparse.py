"""A console script whose framework is imported inside ``main``, as HTTPie's argparse is.

The last line evaluates ``sys.exit`` before ``main`` runs, so the builtin ``sys.exit``
gets what ``main`` returns: usage errors become exit 1 (argparse's ``SystemExit(2)``
caught, as HTTPie does), and ``run --status N`` exits N. With ``LATE_FORM=bool`` the
line is ``sys.exit(0 if main() else 1)`` and ``main`` returns whether it succeeded:
what it returns is not the status.
"""

import os
import sys

FORM = os.environ.get("LATE_FORM", "status")


def main():
    import argparse

    parser = argparse.ArgumentParser(prog="late_argparse.py")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--status", type=int, default=0)
    try:
        args = parser.parse_args()
    except SystemExit as exc:
        return 1 if exc.code == 2 else exc.code
    print(f"exiting {args.status}")
    return args.status == 0 if FORM == "bool" else args.status


if FORM == "bool":
    sys.exit(0 if main() else 1)
else:
    sys.exit(main())
