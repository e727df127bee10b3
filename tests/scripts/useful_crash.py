"""An argparse script that crashes, in a module beside it, with an error whose text is its own."""

import argparse

import useful_helpers

parser = argparse.ArgumentParser()
parser.add_argument(
    "kind", choices=["none_attr", "divide", "open_missing", "parse_section", "config_key"]
)
parser.add_argument("text")
args = parser.parse_args()
useful_helpers.fail(args.kind, args.text)
