# PYTHON_ARGCOMPLETE_OK
"""The same CLI with argcomplete enabled, as argcomplete's documentation shows it."""

import sys

import argcomplete

from exampleargparse.cli import build_parser, run


def main() -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
