"""An argparse CLI with subparsers, aliases, @files, failures and a crash, to instrument."""
